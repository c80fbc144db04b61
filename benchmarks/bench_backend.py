"""Backend figures, in-process: ack-after-commit latency, fan-out, history search.

- Persisted before ack: a librarian sends `send` commands one after another over a real
  socket; time from writing the frame to reading its `ack` (sent only after the SQLite
  commit, WAL + synchronous=FULL). Baseline: `Store.write` of a one-row insert, no desk
  and no socket.
- Fan-out: patron messages (`Desk.patron_message`, i.e. validated, stored, committed in
  groups, published) delivered to 10 librarian connections, until all 10 have read them
  all. Baseline, same run: a bare `websockets` server `broadcast()`ing the same frame to
  10 clients. Three rounds each (two with --quick), alternating; medians. Once with the
  messages spread over 10 chats, once over 100 (a busy desk).
- History search: N messages written straight into the real schema with their FTS5 rows;
  `queries.history` for ten queries x5, including awkward input (`"`, `NEAR(`).
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

from libchat_tui.backend.queries import history
from libchat_tui.backend.runtime import Backend
from libchat_tui.backend.schema import SCHEMA
from libchat_tui.backend.store import Outcome, Store, Tx

from .common import median, pct


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
            chat_id = json.loads(await patron.recv())["result"]["chat_id"]
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
        store = Store(Path(tmp) / "bare.sqlite3")
        await store.open()
        bare = []
        for _ in range(n):
            start = time.perf_counter()
            await store.write(lambda tx: _bare_insert(tx))
            bare.append((time.perf_counter() - start) * 1000)
        await store.close()
    return {
        "ack_p50_ms": median(times),
        "ack_p99_ms": pct(times, 0.99),
        "store_write_p50_ms": median(bare),
        "store_write_p99_ms": pct(bare, 0.99),
    }


def _bare_insert(tx: Tx) -> Outcome:
    tx.execute("INSERT INTO events(seq, frame) VALUES ((SELECT COALESCE(MAX(seq),0)+1 FROM events), 'x')")
    return Outcome()


async def fanout(messages: int, chats: int, librarians: int = 10) -> dict[str, float]:
    """Patron messages over `chats` chats fanned out to N librarians, vs raw broadcast()."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Backend(data_dir=Path(tmp), token="t") as backend:
            libs = [await _librarian(backend.url, "t", f"lib{i}") for i in range(librarians)]
            # Patrons are rate limited (5 msg/s each), so the desk is driven directly, as
            # the server does for each patron frame (`PatronSession` → `Desk.patron_message`).
            ids = [(await backend.desk.join(f"P{i}", None, "q"))[0].id for i in range(chats)]

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
                *(backend.desk.patron_message(ids[i % chats], f"msg {i}") for i in range(messages))
            )
            await asyncio.gather(*readers)
            ours = messages / (time.perf_counter() - start)
            for ws in libs:
                await ws.close()
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
    return {"fanout_msgs_per_s": ours, "raw_broadcast_msgs_per_s": raw, "fanout_ratio": ours / raw}


def history_search(rows: int) -> dict[str, float]:
    """Full-text search over `rows` stored messages in the real schema: p50/p95."""
    words = [
        "interlibrary",
        "loan",
        "thesis",
        "citation",
        "printer",
        "database",
        "scopus",
        "jstor",
        "renewal",
        "fines",
        "room",
        "booking",
        "reserves",
        "apa",
        "mla",
        "hours",
        "sunday",
        "access",
        "proxy",
        "ebook",
        "journal",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "s.sqlite3")
        conn.executescript(SCHEMA)
        now = datetime.now(UTC).isoformat()
        chats = max(1, rows // 50)
        conn.executemany(
            "INSERT INTO chats(id, state, data, created_at, closed_at) VALUES (?,?,?,?,?)",
            [(i, "closed", json.dumps(_chat(i, now)), now, now) for i in range(1, chats + 1)],
        )
        batch = []
        for i in range(rows):
            text = " ".join(words[(i * k) % len(words)] for k in (1, 3, 7, 11)) + f" item{i}"
            batch.append((i + 1, 1 + i % chats, text))
            if len(batch) == 20000:
                _insert(conn, batch, now)
                batch = []
        _insert(conn, batch, now)
        conn.commit()
        times = []
        for query in [
            "interlibrary",
            "thesis citation",
            "scop",
            "item123",
            "sunday hours",
            "NEAR(",
            '"',
            "apa",
            "journal ebook",
            "zzz",
        ] * 5:
            start = time.perf_counter()
            history(conn, query, 100)
            times.append((time.perf_counter() - start) * 1000)
        conn.close()
    return {"search_p50_ms": median(times), "search_p95_ms": pct(times, 0.95)}


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
    conn.executemany("INSERT INTO search(rowid, text, chat_id, kind) VALUES (?,?,?,'message')", batch)


async def run(quick: bool) -> dict[str, float]:
    results: dict[str, float] = {}
    results.update(await ack_latency(300 if quick else 2000))
    for chats in (10, 100):
        rounds = [await fanout(1000 if quick else 3000, chats) for _ in range(2 if quick else 3)]
        for key in rounds[0]:
            results[f"{key}_{chats}_chats"] = median([r[key] for r in rounds])
    results.update(history_search(500_000))
    return results


if __name__ == "__main__":
    import sys

    print(json.dumps(asyncio.run(run("--quick" in sys.argv)), indent=2))
