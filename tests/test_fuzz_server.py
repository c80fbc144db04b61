"""Property tests: arbitrary frames and command sequences never break the desk.

Each example starts a real backend, throws frames at both endpoints over real
sockets, then checks: every command got exactly one reply (or a clean close), the
server still serves, and the store's invariants hold.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from desk_ids import desk_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from wire import join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.domain import TRANSITIONS, Action, ChatState
from libchat_tui.protocol.codec import nested_deeper_than

TYPES = ["accept", "send", "end", "close", "note", "create_ticket", "close_ticket", "save_analytics",
         "transcript", "history", "tickets", "stats", "typing", "hello", "join", "message", "leave",
         "resume", "ticket", "bogus"]
values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 6), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=30), st.sampled_from(["a@b.co", "bad@", "", "Chat", "2026-11-28", "open"]),
    st.lists(st.integers(0, 3), max_size=3), st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)
#: Frames nested deeper than anything a decoder should recurse into (or just past the limit).
deep_frames = st.builds(
    lambda opener, closer, levels, where: where.format(opener * levels + closer * levels),
    st.sampled_from(["[", '{"k":']), st.sampled_from(["]", "}", ""]),
    st.sampled_from([31, 32, 33, 1_000, 5_000]),
    st.sampled_from(['{{"type": "join", "id": "d", "name": {}}}', '{{"type": "message", "x": {}, "id": "d"}}',
                     '{{"type": "typing", "id": {}}}', "{}"]),
)
frames = st.one_of(
    deep_frames,
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES)},
        optional={"id": st.one_of(st.text(min_size=1, max_size=8), st.integers(), st.none()),
                  "chat_id": st.one_of(st.integers(0, 4), values), "text": values, "ticket_id": values,
                  "email": values, "name": values, "question": values, "dataset": values,
                  "fields": values, "query": values, "status": values, "day": values,
                  "token": values, "retry": st.booleans()},
    ).map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=20),
)
ops = st.lists(st.tuples(st.sampled_from(["librarian", "librarian2", "patron", "patron2"]), frames),
               max_size=25)


def _check_store(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        chains: dict[int, list[tuple[str, str, str]]] = {}
        for chat_id, action, frm, to in conn.execute(
            "SELECT chat_id, action, from_state, to_state FROM state_events ORDER BY id"
        ):
            chains.setdefault(chat_id, []).append((action, frm, to))
            target = TRANSITIONS.get((ChatState(frm), Action(action)))
            assert target is not None, (frm, action)
            assert to == target.value or (action == "resume" and to == "waiting")
        for chat_id, chain in chains.items():
            for (_, _, to), (_, frm, _) in itertools.pairwise(chain):
                assert to == frm, chain
            assert sum(1 for a, _, _ in chain if a == "accept") <= 1
            state = conn.execute("SELECT state FROM chats WHERE id=?", (chat_id,)).fetchone()[0]
            assert state == chain[-1][2]
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        conn.close()


async def _scenario(operations: list[tuple[str, str | bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend(data_dir=Path(tmp), clock=FakeClock(), token="t")
        await backend.start()
        try:
            lib, _ = await librarian(backend.url, "t", "Ana")
            lib2, _ = await librarian(backend.url, "t", "Ben")
            pat, _ = await join(backend.url)
            pat2, _ = await join(backend.url, name="Sam")
            peers: dict[str, Any] = {"librarian": lib, "librarian2": lib2, "patron": pat, "patron2": pat2}
            for who, frame in operations:
                peer = peers[who]
                expects_reply = _has_id(frame)
                try:
                    if expects_reply:
                        data = json.loads(frame)
                        reply = await peer.request(data.pop("type"), **data) if isinstance(
                            data.get("id"), str) and data["id"] else None
                        if reply is not None:
                            assert reply["type"] in ("ack", "error")
                            if reply["type"] == "error":
                                assert reply["code"] and reply["message"]
                    else:
                        await peer.raw(frame)
                except ConnectionClosed:
                    pass
            # The server still serves everyone.
            _fresh, joined = await join(backend.url, name="After")
            await lib.next_event("chat", id=desk_id(backend, joined))
        finally:
            await backend.stop()
        _check_store(Path(tmp) / "desk.sqlite3")


def _has_id(frame: str | bytes) -> bool:
    if isinstance(frame, bytes):
        return False
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("id"), str) and 0 < len(data["id"]) <= 64 \
        and isinstance(data.get("type"), str)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_arbitrary_frames_never_break_the_desk(operations: list[tuple[str, str | bytes]]) -> None:
    asyncio.run(_scenario(operations))


async def test_unauthenticated_garbage_handshakes_are_refused(tmp_path: Path) -> None:
    async with Backend(data_dir=tmp_path, clock=FakeClock(), token="t") as backend:
        for path in ("/", "/librarian", "/patron/../librarian", "/LIBRARIAN"):
            try:
                async with connect(f"{backend.url}{path}") as ws:
                    assert path.startswith("/patron")
                    await ws.close()
            except Exception as exc:  # refused at the HTTP level
                assert "HTTP" in str(exc) or "status" in str(exc).lower()


# --- the depth scan, against Python's own idea of the nesting -------------------------------

_tricky = st.text(alphabet='[]{}"\\ab\u00e9\u2028\U0001f600', max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky, inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(json_values, st.integers(0, 12), st.booleans(), st.sampled_from([None, 1]))
def test_the_depth_scan_is_exact_for_any_json(value: Any, limit: int, ascii_only: bool,
                                              indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert nested_deeper_than(text, limit) == (_depth(value) > limit), text
