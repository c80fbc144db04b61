"""Backend figures, in-process: ack-after-commit latency, fan-out, history search.

- Persisted before ack: a librarian sends `send` commands one after another over a real
  socket; time from writing the frame to reading its `ack` (sent only after the SQLite
  commit, WAL + synchronous=FULL). Baseline: `Store.write` of a one-row insert, no desk
  and no socket.
- Fan-out: patron messages (`patrons.message(desk, ...)`, i.e. validated, stored,
  committed in groups, published) delivered to 10 librarian connections, until all 10
  have read them all. Baseline: a bare `websockets` server `broadcast()`ing the same frame
  to 10 clients. Once with the messages spread over 10 chats, once over 100 (a busy desk).
- History search: N messages (50 per closed chat) written straight into the real schema,
  then the search index built as a desk does for an older database
  (`search_index.rebuild`); what the desk does for a `history` command (ranked closed
  chats, then a snippet for each) for ten queries x3 per repeat, including awkward input
  (`"`, `NEAR(`); the same queries against a chat-as-document FTS5 table rewritten whole
  (the alternative issue 18 asked about; not in the product). Baseline: the bare FTS5
  lookup of the same terms in the product's piece table (`SELECT rowid ... MATCH ? LIMIT
  100`), with no chats, ranking or snippets.

Every figure: ours and its baseline alternately, `REPEATS[mode]` times (5 in a full run).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast, serve

from libchat_tui.backend import patrons, search_index
from libchat_tui.backend.queries import fts_query, history, search_history
from libchat_tui.backend.runtime import Backend
from libchat_tui.backend.schema import SCHEMA
from libchat_tui.backend.store import Outcome, Store, Tx

from .common import REPEATS, Mode, Samples, alternate, median, mode_from_argv, pct


async def _librarian(url: str, token: str, name: str) -> Any:
    ws = await connect(
        f"{url}/librarian", additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
    )
    await ws.send(
        json.dumps(
            {"type": "hello", "id": "h", "protocol": 1, "librarian_id": name, "name": name, "since": None}
        )
    )
    while json.loads(await ws.recv())["type"] != "synced":
        pass
    return ws


async def ack_latency(n: int) -> dict[str, float]:
    """`send` over a real socket: frame out → ack back (the ack follows the commit)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Backend(data_dir=Path(tmp), token="t") as backend:
            lib = await _librarian(backend.url, "t", "ana")
            patron = await connect(f"{backend.url}/patron")
            await patron.send(json.dumps({"type": "join", "id": "j", "name": "P", "question": "q"}))
            while (reply := json.loads(await patron.recv())).get("id") != "j":
                pass  # a `queue` position comes first
            chat_id = reply["result"]["chat_id"]
            await lib.send(json.dumps({"type": "accept", "id": "a", "chat_id": chat_id}))
            while json.loads(await lib.recv()).get("id") != "a":
                pass
            times = []
            for i in range(n):
                start = time.perf_counter()
                await lib.send(json.dumps({"type": "send", "id": f"m{i}", "chat_id": chat_id, "text": "hi"}))
                while json.loads(await lib.recv()).get("id") != f"m{i}":
                    pass
                times.append((time.perf_counter() - start) * 1000)
            await lib.close()
            await patron.close()
    return {"ack_p50_ms": median(times), "ack_p99_ms": pct(times, 0.99)}


async def store_write_latency(n: int) -> dict[str, float]:
    """Baseline: `Store.write` of a one-row insert (thread hop + commit), no desk, no socket."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bare.sqlite3")
        await store.open()
        bare = []
        for _ in range(n):
            start = time.perf_counter()
            await store.write(lambda tx: _bare_insert(tx))
            bare.append((time.perf_counter() - start) * 1000)
        await store.close()
    return {"store_write_p50_ms": median(bare), "store_write_p99_ms": pct(bare, 0.99)}


def _bare_insert(tx: Tx) -> Outcome:
    tx.execute("INSERT INTO events(seq, frame) VALUES ((SELECT COALESCE(MAX(seq),0)+1 FROM events), 'x')")
    return Outcome()


async def fanout(messages: int, chats: int, librarians: int = 10) -> dict[str, float]:
    """Patron messages over `chats` chats fanned out to N librarians."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Backend(data_dir=Path(tmp), token="t") as backend:
            libs = [await _librarian(backend.url, "t", f"lib{i}") for i in range(librarians)]
            # Patrons are rate limited (5 msg/s each), so the desk is driven directly, as
            # the server does for each patron frame (`PatronConnection` → `patrons.message`).
            ids = [(await patrons.join(backend.desk, f"P{i}", None, "q"))[0].id for i in range(chats)]

            async def drain(ws: Any, count: int) -> None:
                seen = 0
                while seen < count:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "message":
                        seen += 1

            await asyncio.gather(*(drain(ws, chats) for ws in libs))  # the joins' first lines
            start = time.perf_counter()
            readers = [asyncio.create_task(drain(ws, messages)) for ws in libs]
            await asyncio.gather(
                *(patrons.message(backend.desk, ids[i % chats], f"msg {i}") for i in range(messages))
            )
            await asyncio.gather(*readers)
            ours = messages / (time.perf_counter() - start)
            for ws in libs:
                await ws.close()
    return {f"fanout_{chats}_msgs_per_s": ours}


async def stored_only(messages: int, chats: int) -> dict[str, float]:
    """The floor under fan-out: the same patron messages validated, stored and committed,
    with no librarian connected (nothing to send). Fan-out cannot beat this."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Backend(data_dir=Path(tmp), token="t") as backend:
            ids = [(await patrons.join(backend.desk, f"P{i}", None, "q"))[0].id for i in range(chats)]
            start = time.perf_counter()
            await asyncio.gather(
                *(patrons.message(backend.desk, ids[i % chats], f"msg {i}") for i in range(messages))
            )
            stored = messages / (time.perf_counter() - start)
    return {f"stored_{chats}_msgs_per_s": stored}


async def raw_fanout(messages: int, chats: int, librarians: int = 10) -> dict[str, float]:
    """Baseline: a bare `websockets` server `broadcast()`ing one frame to N clients."""
    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        clients.add(ws)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        raws = [await connect(f"ws://127.0.0.1:{port}", compression=None) for _ in range(librarians)]
        while len(clients) < librarians:
            await asyncio.sleep(0.01)
        frame = json.dumps(
            {
                "type": "message",
                "seq": 1,
                "message": {
                    "id": 1,
                    "chat_id": 1,
                    "sender": "patron",
                    "author": "P",
                    "text": "msg",
                    "at": "x",
                },
            }
        )

        async def raw_drain(ws: Any) -> None:
            for _ in range(messages):
                await ws.recv()

        start = time.perf_counter()
        readers = [asyncio.create_task(raw_drain(ws)) for ws in raws]
        for i in range(messages):
            broadcast(clients, frame)
            if i % 50 == 0:
                await asyncio.sleep(0)
        await asyncio.gather(*readers)
        raw = messages / (time.perf_counter() - start)
        for ws in raws:
            await ws.close()
    return {f"fanout_{chats}_raw_msgs_per_s": raw}


WORDS = ["interlibrary", "loan", "thesis", "citation", "printer", "database", "scopus", "jstor", "renewal",
         "fines", "room", "booking", "reserves", "apa", "mla", "hours", "sunday", "access", "proxy", "ebook",
         "journal"]
QUERIES = ["interlibrary", "thesis citation", "scop", "item123", "sunday hours", "NEAR(", '"', "apa",
           "journal ebook", "zzz"]


def search_db(path: Path, rows: int) -> sqlite3.Connection:
    """`rows` messages (50 per closed chat) written straight into the real schema, indexed as
    the desk indexes an older database; plus `chatdoc`, a chat-as-document FTS5 table (one
    row per chat, its whole transcript as the text), the rewrite-whole alternative."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    now = datetime.now(UTC).isoformat()
    chats = max(1, rows // 50)
    conn.executemany(
        "INSERT INTO chats(id, state, data, created_at, closed_at) VALUES (?,?,?,?,?)",
        [(i, "closed", json.dumps(_chat(i, now)), now, now) for i in range(1, chats + 1)],
    )
    batch = []
    for i in range(rows):
        text = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7, 11)) + f" item{i}"
        batch.append((i + 1, 1 + i % chats, text))
        if len(batch) == 20000:
            _insert(conn, batch, now)
            batch = []
    _insert(conn, batch, now)
    search_index.rebuild(conn)
    conn.execute("CREATE VIRTUAL TABLE chatdoc USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO chatdoc(rowid, text) SELECT chat_id, group_concat(text, char(10)) FROM messages"
                 " GROUP BY chat_id")
    conn.commit()
    return conn


def _timed(fn: Any, rounds: int) -> list[float]:
    times = []
    for query in QUERIES * rounds:
        start = time.perf_counter()
        fn(query)
        times.append((time.perf_counter() - start) * 1000)
    return times


def search_ours(conn: sqlite3.Connection, rounds: int) -> dict[str, float]:
    """A `history` command as the desk runs it (ranked chats, then their snippets), and the same
    query on the chat-as-document table."""
    def desk(query: str) -> None:
        found = search_history(conn, query, 100)
        found.snippets(conn, {int(chat["id"]) for chat in found.chats})

    times = _timed(desk, rounds)

    def by_document(query: str) -> list[Any]:
        match = fts_query(query)
        if not match:
            return history(conn, query, 100)
        return conn.execute(
            "SELECT data FROM chats WHERE state='closed' AND id IN (SELECT rowid FROM chatdoc WHERE chatdoc"
            " MATCH ?) ORDER BY closed_at DESC, id DESC LIMIT ?", (match, 100)).fetchall()

    doc = _timed(by_document, rounds)
    return {"search_p50_ms": median(times), "search_p95_ms": pct(times, 0.95),
            "search_doc_p50_ms": median(doc), "search_doc_p95_ms": pct(doc, 0.95)}


def search_raw(conn: sqlite3.Connection, rounds: int) -> dict[str, float]:
    """Baseline: the bare FTS5 lookup of the same (quoted) terms, first 100 rowids, no chats."""
    def raw(query: str) -> list[Any]:
        match = fts_query(query)
        if not match:
            return []
        return conn.execute("SELECT rowid FROM history_pieces WHERE history_pieces MATCH ? LIMIT 100",
                            (match,)).fetchall()

    times = _timed(raw, rounds)
    return {"search_raw_p50_ms": median(times), "search_raw_p95_ms": pct(times, 0.95)}


def _chat(i: int, now: str) -> dict[str, Any]:
    return {
        "id": i,
        "patron": {"name": f"P{i}", "email": None},
        "question": "q",
        "state": "closed",
        "created_at": now,
        "last_activity": now,
        "closed_at": now,
    }


def _insert(conn: sqlite3.Connection, batch: list[tuple[int, int, str]], now: str) -> None:
    conn.executemany(
        "INSERT INTO messages(id, chat_id, sender, author, text, at) VALUES (?,?,'patron','P',?,?)",
        [(i, c, t, now) for i, c, t in batch],
    )


#: mode -> (sends, fan-out messages, search rows, search rounds)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "smoke": (20, 50, 5_000, 1),
    "quick": (300, 1000, 100_000, 3),
    "full": (500, 2000, 500_000, 2),
}


async def run(mode: Mode) -> Samples:
    sends, messages, rows, rounds = SIZES[mode]
    repeats = REPEATS[mode]
    samples = Samples()
    await alternate(repeats, lambda: ack_latency(sends), lambda: store_write_latency(sends), samples)
    for chats in (10, 100):
        await alternate(repeats, lambda c=chats: fanout(messages, c),  # type: ignore[misc]
                        lambda c=chats: raw_fanout(messages, c), samples)  # type: ignore[misc]
        await alternate(repeats, lambda c=chats: stored_only(messages, c),  # type: ignore[misc]
                        lambda c=chats: raw_fanout(messages, c), samples,  # type: ignore[misc]
                        bare_prefix="floor_")
    with tempfile.TemporaryDirectory() as tmp:
        conn = search_db(Path(tmp) / "s.sqlite3", rows)

        async def ours() -> dict[str, float]:
            return search_ours(conn, rounds)

        async def raw() -> dict[str, float]:
            return search_raw(conn, rounds)

        await alternate(repeats, ours, raw, samples)
        conn.close()
    return samples


if __name__ == "__main__":
    asyncio.run(run(mode_from_argv())).emit()
