"""`libchat-tui patron` against a real desk: a keyboard (a pipe) in, a screen (text) out.

A relay between the patron and the desk stands in for the network, so a test can cut
the connection the way a dropped Wi-Fi would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
from collections.abc import AsyncIterator
from typing import Any, TextIO, cast

import pytest
from relay import Relay
from wire import Peer, librarian

from libchat_tui import patron_cli
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend

TIMEOUT = 10.0
FAST_BACKOFF = (0.05, 0.1, 0.2, 0.4)


class Screen(io.TextIOBase):
    """A stdout that a test can wait on."""

    def __init__(self) -> None:
        self.text = ""
        self._changed = asyncio.Event()

    def write(self, s: str) -> int:
        self.text += s
        self._changed.set()
        return len(s)

    async def shows(self, needle: str) -> None:
        async with asyncio.timeout(TIMEOUT):
            while needle not in self.text:
                self._changed.clear()
                await self._changed.wait()


class Keyboard:
    """A stdin fed line by line through a pipe; `eof()` is Ctrl-D."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self._pipe = os.fdopen(read_fd, "r", encoding="utf-8")
        self._keys = os.fdopen(write_fd, "w", encoding="utf-8")
        self.stdin: Any = self  # the reading side, as the patron client sees it

    def readline(self) -> str:
        line = self._pipe.readline()
        if not line:  # end of input: the reader thread is done with the pipe
            self._pipe.close()
        return line

    def type(self, line: str) -> None:
        self._keys.write(line + "\n")
        self._keys.flush()

    def eof(self) -> None:
        if not self._keys.closed:
            self._keys.close()


@contextlib.asynccontextmanager
async def patron(url: str, name: str | None = "Maya", email: str | None = None
                 ) -> AsyncIterator[tuple[Keyboard, Screen, asyncio.Task[int]]]:
    keyboard, screen = Keyboard(), Screen()
    args = argparse.Namespace(server=url, name=name, email=email)
    task = asyncio.create_task(patron_cli.run(args, stdin=keyboard.stdin, stdout=cast(TextIO, screen),
                                              backoff=FAST_BACKOFF))
    try:
        yield keyboard, screen, task
    finally:
        keyboard.eof()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, TIMEOUT)


async def exit_status(task: asyncio.Task[int]) -> int:
    return await asyncio.wait_for(task, TIMEOUT)


@pytest.fixture
async def desk(backend: Backend) -> AsyncIterator[Peer]:
    peer, _ = await librarian(backend.url, backend.token, name="Ana")
    yield peer
    await peer.close()


async def test_a_patron_asks_hears_the_librarian_and_leaves(backend: Backend, desk: Peer) -> None:
    async with patron(backend.url) as (keyboard, screen, task):
        await screen.shows("Your e-mail")
        keyboard.type("maya at home")
        await screen.shows("does not look like an e-mail")
        keyboard.type("maya@example.edu")
        await screen.shows("Your question")
        keyboard.type("Is the library open on Sunday?")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        assert chat["patron"] == {"name": "Maya", "email": "maya@example.edu"}
        assert chat["question"] == "Is the library open on Sunday?"
        await screen.shows("You are in the queue")

        await desk.ok("accept", chat_id=chat["id"])
        await screen.shows("Ana joined the chat.")
        await desk.ok("send", chat_id=chat["id"], text="Yes, 12 to 6.\x1b[2J")
        await screen.shows("Ana: Yes, 12 to 6.")
        assert re.search(r"\[\d\d:\d\d\] Ana: Yes, 12 to 6\.", screen.text)
        assert "\x1b" not in screen.text

        keyboard.type("Thanks!")
        await desk.next_event("message", sender="patron", text="Thanks!")
        keyboard.type("/quit")
        assert await exit_status(task) == 0
        ended = (await desk.next_event("chat", state="ended"))["chat"]
        assert ended["last_change"]["action"] == "end_by_patron"
        assert "You left the chat." in screen.text


async def test_end_of_input_leaves_the_chat(backend: Backend, desk: Peer) -> None:
    async with patron(backend.url, email="") as (keyboard, screen, task):
        await screen.shows("Your question")
        keyboard.type("Can I renew my books online?")
        await screen.shows("You are in the queue")
        keyboard.eof()
        assert await exit_status(task) == 0
        chat = (await desk.next_event("chat", state="ended"))["chat"]
        assert chat["last_change"]["from"] == "waiting"
        assert chat["patron"]["email"] is None


async def test_the_patron_is_told_when_the_librarian_ends_the_chat(
    backend: Backend, desk: Peer
) -> None:
    async with patron(backend.url, email="liam@example.edu") as (keyboard, screen, task):
        await screen.shows("Your question")
        keyboard.type("How do I print from my laptop?")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        await desk.ok("accept", chat_id=chat["id"])
        await desk.ok("end", chat_id=chat["id"])
        await screen.shows("Ana ended the chat.")
        assert await exit_status(task) == 0


@pytest.fixture
async def relay(backend: Backend) -> AsyncIterator[Relay]:
    relay = Relay(backend.port)
    await relay.start()
    yield relay
    await relay.stop()


async def test_a_dropped_connection_is_resumed_with_the_missed_messages(
    backend: Backend, desk: Peer, relay: Relay
) -> None:
    async with patron(relay.url, email="") as (keyboard, screen, task):
        await screen.shows("Your question")
        keyboard.type("How do I get into JSTOR from home?")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        await desk.ok("accept", chat_id=chat["id"])
        await screen.shows("Ana joined the chat.")

        relay.cut()
        await desk.next_event("chat", state="reconnecting")
        await screen.shows("Connection lost. Reconnecting")
        await desk.ok("send", chat_id=chat["id"], text="Use the proxy link on our website.")
        relay.open = True
        await desk.next_event("chat", state="active")
        await screen.shows("Reconnected.")
        await screen.shows("Ana: Use the proxy link on our website.")

        keyboard.type("It works now, thanks!")
        await desk.next_event("message", sender="patron", text="It works now, thanks!")
        keyboard.type("/quit")
        assert await exit_status(task) == 0


async def test_back_too_late_the_patron_leaves_an_email_for_a_ticket(
    backend: Backend, clock: FakeClock, desk: Peer, relay: Relay
) -> None:
    async with patron(relay.url, email="") as (keyboard, screen, task):
        await screen.shows("Your question")
        keyboard.type("Can I get a book from another library?")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        await desk.ok("accept", chat_id=chat["id"])
        await screen.shows("Ana joined the chat.")

        relay.cut()
        await desk.next_event("chat", state="reconnecting")
        await clock.advance(61)
        await desk.next_event("chat", state="disconnected")
        relay.open = True
        await screen.shows("Your e-mail (Enter to skip): ")
        keyboard.type("maya@")
        await screen.shows("does not look like an e-mail")
        keyboard.type("maya@example.edu")
        await screen.shows("Anything to add")
        keyboard.type("I need it for my thesis by May.")
        ticket: dict[str, Any] = (await desk.next_event("ticket"))["ticket"]
        assert ticket["chat_id"] == chat["id"]
        assert (ticket["source"], ticket["email"]) == ("patron", "maya@example.edu")
        assert "I need it for my thesis by May." in ticket["body"]
        await screen.shows(f"Ticket #{ticket['id']} sent")
        assert await exit_status(task) == 0


async def test_an_unreachable_desk_is_reported(tmp_path: Any) -> None:
    async with Backend(data_dir=tmp_path / "d", clock=FakeClock()) as server:
        url = server.url
    async with patron(url, email="") as (keyboard, screen, task):
        await screen.shows("Your question")
        keyboard.type("Is anyone there?")
        assert await exit_status(task) == 1
        assert "Could not start the chat" in screen.text
