"""Patrons see no sequential desk ids (issue 12): an opaque chat reference, and message
ids that are the line's number within their own chat."""

from __future__ import annotations

import re
from pathlib import Path

from desk_ids import desk_id
from wire import join, librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.rows import token_key
from libchat_tui.backend.runtime import Backend


async def _busy_desk(backend: Backend) -> None:
    """Other chats with many lines, so the desk's own ids are far from 1."""
    lib, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    for n in range(3):
        _peer, other = await join(backend.url, name=f"Other {n}", question="Printing?")
        chat_id = desk_id(backend, other)
        await lib.ok("accept", chat_id=chat_id)
        for i in range(5):
            await lib.ok("send", chat_id=chat_id, text=f"line {i}")
    await lib.close()


async def test_the_chat_reference_is_opaque_and_unrelated_to_the_desk_id(backend: Backend) -> None:
    await _busy_desk(backend)
    refs = []
    for n in range(3):
        _peer, joined = await join(backend.url, name=f"Maya {n}")
        ref = joined["chat_id"]
        assert isinstance(ref, str) and re.fullmatch(r"c-[0-9a-f]{20}", ref)
        assert joined["resume_token"] not in ref
        numbers = {k for k, v in joined.items() if isinstance(v, int)}
        assert numbers == {"position"}  # the place in line, nothing that counts the desk's chats
        refs.append(ref)
    assert len(set(refs)) == 3  # one per chat, no order to read


async def test_patron_message_ids_are_numbers_within_the_chat_live_acked_and_resumed(
    backend: Backend,
) -> None:
    await _busy_desk(backend)  # the desk's message ids are now past 20
    lib, _ = await librarian(backend.url, backend.token, lib_id="ana")
    pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)  # the question is line 1, "Ana joined" line 2
    await lib.ok("send", chat_id=chat_id, text="Yes, 12 to 6.")  # line 3
    live = await pat.next_event("message")
    assert live["message"]["id"] == 3
    acked = await pat.ok("message", text="Thanks! And Monday?")  # line 4
    assert acked["message_id"] == 4
    desk_ids = [m["id"] for m in (await lib.ok("transcript", chat_id=chat_id))["messages"]]
    assert min(desk_ids) > 20  # what the patron would have seen before

    await pat.ws.close()
    await lib.next_event("chat", id=chat_id, state="reconnecting")
    await lib.ok("send", chat_id=chat_id, text="Monday 9 to 9.")  # line 6 (line 5: the drop)
    again, resumed = await join_resume(backend, joined["resume_token"], last_message_id=3)
    assert resumed["chat_id"] == joined["chat_id"]  # the same reference on resume
    assert [(m["id"], m["text"]) for m in resumed["messages"]] == [(6, "Monday 9 to 9.")]
    transcript = await again.ok("transcript")
    assert [m["id"] for m in transcript["messages"]] == [1, 3, 4, 6]  # no system lines; gaps


async def join_resume(backend: Backend, token: str, last_message_id: int):  # type: ignore[no-untyped-def]
    from wire import patron

    peer = await patron(backend.url)
    return peer, await peer.ok("resume", token=token, last_message_id=last_message_id)


async def test_resume_tokens_are_stored_only_as_hashes(tmp_path: Path, clock: FakeClock) -> None:
    """A copy of the database (a backup, a lost disk) resumes nobody's chat (issue 22); a
    token an older desk stored as it was is hashed at the next start and still works."""
    import sqlite3

    from libchat_tui.backend.runtime import DB_NAME

    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    _pat, joined = await join(backend.url)
    _old, legacy = await join(backend.url, name="Old desk")
    token, legacy_token = joined["resume_token"], legacy["resume_token"]
    await backend.stop()
    with sqlite3.connect(tmp_path / "data" / DB_NAME) as conn:
        stored = [row[0] for row in conn.execute("SELECT resume_token FROM chats")]
        assert token not in stored and all(s.startswith("h1:") for s in stored)
        # As a desk before hashing would have left it:
        conn.execute("UPDATE chats SET resume_token=? WHERE resume_token=?",
                     (legacy_token, token_key(legacy_token)))
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    try:
        with sqlite3.connect(tmp_path / "data" / DB_NAME) as conn:
            assert legacy_token not in [row[0] for row in conn.execute("SELECT resume_token FROM chats")]
        for resume_token in (token, legacy_token):
            peer = await patron(backend.url)
            assert (await peer.request("resume", token=resume_token, last_message_id=0))["type"] == "ack"
    finally:
        await backend.stop()
