"""Patron commands are applied once, however often the connection drops (issue 13)."""

from __future__ import annotations

import asyncio
import contextlib

from desk_ids import desk_id
from wire import librarian

from libchat_tui.backend.runtime import Backend
from libchat_tui.patron_client import ConnectionLost, PatronSession


async def test_a_message_whose_ack_was_lost_is_stored_once_after_resume(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, lib_id="ana")
    session = PatronSession(backend.url, timeout=5.0)
    await session.join("Maya", None, "Open on Sunday?")
    chat_id = desk_id(backend, session)
    await lib.ok("accept", chat_id=chat_id)
    stored = asyncio.Event()

    async def watch() -> None:
        await lib.next_event("message", chat_id=chat_id, text="Are you still there?")
        stored.set()

    watcher = asyncio.create_task(watch())
    sending = asyncio.create_task(session.send("Are you still there?"))
    await asyncio.wait_for(stored.wait(), 5)  # the desk has committed it...
    await session.drop()  # ...and the ack never reaches the patron
    with contextlib.suppress(ConnectionLost):
        await sending
    assert session.unanswered <= 1
    await session.resume()  # sends it again, same id, marked retry
    assert session.unanswered == 0
    transcript = await lib.ok("transcript", chat_id=chat_id)
    texts = [m["text"] for m in transcript["messages"]]
    assert texts.count("Are you still there?") == 1
    await watcher
    await session.leave()


async def test_a_message_typed_while_the_socket_is_down_is_sent_once_on_resume(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, lib_id="ana")
    session = PatronSession(backend.url, timeout=5.0)
    await session.join("Maya", None, "Open on Sunday?")
    await lib.ok("accept", chat_id=desk_id(backend, session))
    await session.drop()
    with contextlib.suppress(ConnectionLost):
        await session.send("typed offline")
    assert session.unanswered == 1  # kept, not lost
    await session.resume()
    await session.resume()  # and a second resume does not send it again
    transcript = await lib.ok("transcript", chat_id=desk_id(backend, session))
    assert [m["text"] for m in transcript["messages"]].count("typed offline") == 1
    await session.leave()


async def test_a_retried_patron_command_gets_the_same_ack_as_the_first_time(backend: Backend) -> None:
    from wire import join

    lib, _ = await librarian(backend.url, backend.token, lib_id="ana")
    pat, joined = await join(backend.url)
    await lib.ok("accept", chat_id=desk_id(backend, joined))
    first = await pat.ok("message", id="m1", text="Hello?")
    again = await pat.ok("message", id="m1", text="Hello?", retry=True)
    assert again == first and set(first) == {"message_id", "at"}
    left = await pat.ok("leave", id="l1")
    assert await pat.ok("leave", id="l1", retry=True) == left and set(left) == {"state", "at"}
    transcript = await lib.ok("transcript", chat_id=desk_id(backend, joined))
    assert [m["text"] for m in transcript["messages"]].count("Hello?") == 1
