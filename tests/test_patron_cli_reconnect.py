"""`libchat-tui patron` while the network is down, at a real keyboard, and on Ctrl-C.

The patron can always leave (`/quit`, Ctrl-D, Ctrl-C), even while the client is trying
to get back to the desk; a reconnect is announced once; and while the patron types in a
real terminal (a pty) the desk is told, as often as the protocol says.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fcntl
import os
import sys
import termios
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from relay import Relay
from test_patron_cli import TIMEOUT, Keyboard, Screen
from wire import Peer, librarian

from libchat_tui import patron_cli
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits

#: Long enough that a test ends before the first attempt to resume: leaving must not wait.
SLOW_BACKOFF = (60.0,)
FAST_BACKOFF = (0.05, 0.1)


@pytest.fixture
async def desk(backend: Backend) -> AsyncIterator[Peer]:
    peer, _ = await librarian(backend.url, backend.token, name="Ana")
    yield peer
    await peer.close()


@pytest.fixture
async def relay(backend: Backend) -> AsyncIterator[Relay]:
    relay = Relay(backend.port)
    await relay.start()
    yield relay
    await relay.stop()


@contextlib.asynccontextmanager
async def patron(url: str, stdin: Any, screen: Any, **options: Any) -> AsyncIterator[asyncio.Task[int]]:
    args = argparse.Namespace(server=url, name="Maya", email="", resume=options.pop("resume", False))
    task = asyncio.create_task(patron_cli.run(args, stdin=stdin, stdout=screen, **options))
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, TIMEOUT)
        if isinstance(stdin, Keyboard):
            stdin.eof()  # lets the reader thread go


async def in_a_chat(keyboard: Keyboard, screen: Screen, desk: Peer) -> dict[str, Any]:
    await screen.shows("Your question")
    keyboard.type("Can I borrow a laptop?")
    chat: dict[str, Any] = (await desk.next_event("chat", state="waiting"))["chat"]
    await desk.ok("accept", chat_id=chat["id"])
    await screen.shows("Ana joined the chat.")
    return chat


@pytest.mark.parametrize("leave", ["/quit", "ctrl-d"])
async def test_the_patron_can_leave_while_the_client_reconnects(
    backend: Backend, desk: Peer, relay: Relay, tmp_path: Path, leave: str
) -> None:
    keyboard, screen = Keyboard(), Screen()
    async with patron(relay.url, keyboard.stdin, screen, backoff=SLOW_BACKOFF,
                      resume_file=tmp_path / "patron-resume.json") as task:
        await in_a_chat(keyboard, screen, desk)
        relay.cut()
        await screen.shows("Connection lost. Reconnecting")
        if leave == "/quit":
            keyboard.type("/quit")
        else:
            keyboard.eof()
        assert await asyncio.wait_for(task, TIMEOUT) == 0
    assert "the chat may still be open at the desk" in screen.text
    assert "--resume" in screen.text
    assert (tmp_path / "patron-resume.json").exists()  # so --resume can go back to it


async def test_without_a_resume_file_leaving_does_not_offer_resume(
    backend: Backend, desk: Peer, relay: Relay
) -> None:
    keyboard, screen = Keyboard(), Screen()
    async with patron(relay.url, keyboard.stdin, screen, backoff=SLOW_BACKOFF) as task:
        await in_a_chat(keyboard, screen, desk)
        relay.cut()
        await screen.shows("Connection lost. Reconnecting")
        keyboard.type("/quit")
        assert await asyncio.wait_for(task, TIMEOUT) == 0
    assert "the chat may still be open at the desk" in screen.text
    assert "--resume" not in screen.text


async def test_a_line_typed_while_reconnecting_is_sent_once_back(
    backend: Backend, desk: Peer, relay: Relay
) -> None:
    keyboard, screen = Keyboard(), Screen()
    async with patron(relay.url, keyboard.stdin, screen, backoff=FAST_BACKOFF) as task:
        await in_a_chat(keyboard, screen, desk)
        relay.cut()
        await screen.shows("Connection lost. Reconnecting")
        keyboard.type("Are you still there?")
        await screen.shows("will be sent when the connection is back")
        relay.restore()
        await desk.next_event("message", sender="patron", text="Are you still there?")
        keyboard.type("/quit")
        assert await asyncio.wait_for(task, TIMEOUT) == 0
        await desk.next_event("chat", state="ended")
    sent = [f for f in desk.seen if f["type"] == "message" and f["message"]["sender"] == "patron"]
    assert [f["message"]["text"] for f in sent] == ["Can I borrow a laptop?", "Are you still there?"]
    assert screen.text.count("Connection lost. Reconnecting") == 1


async def test_a_reconnect_is_announced_once(backend: Backend, desk: Peer, relay: Relay) -> None:
    keyboard, screen = Keyboard(), Screen()
    async with patron(relay.url, keyboard.stdin, screen, backoff=FAST_BACKOFF) as task:
        chat = await in_a_chat(keyboard, screen, desk)
        relay.cut()
        await desk.next_event("chat", state="reconnecting")
        await screen.shows("Connection lost. Reconnecting")
        relay.restore()
        await desk.next_event("chat", state="active")
        await desk.ok("send", chat_id=chat["id"], text="Welcome back.")
        await screen.shows("Ana: Welcome back.")
        keyboard.type("/quit")
        assert await asyncio.wait_for(task, TIMEOUT) == 0
    assert screen.text.count("Reconnected.") == 1
    assert "You are reconnected." not in screen.text


async def test_going_back_with_resume_is_announced_once(
    backend: Backend, desk: Peer, tmp_path: Path
) -> None:
    resume_file = tmp_path / "patron-resume.json"
    keyboard, screen = Keyboard(), Screen()
    async with patron(backend.url, keyboard.stdin, screen, resume_file=resume_file) as task:
        chat = await in_a_chat(keyboard, screen, desk)
        task.cancel()  # the client dies without leaving
    await desk.next_event("chat", state="reconnecting")

    keyboard, screen = Keyboard(), Screen()
    async with patron(backend.url, keyboard.stdin, screen, resume_file=resume_file,
                      resume=True) as task:
        await screen.shows("Back in your chat")
        await desk.ok("send", chat_id=chat["id"], text="Still here.")
        await screen.shows("Ana: Still here.")
        keyboard.type("/quit")
        assert await asyncio.wait_for(task, TIMEOUT) == 0
    assert "You are reconnected." not in screen.text


# --- a real terminal: typing --------------------------------------------------------------------


class Terminal:
    """A pseudo terminal: the client reads and writes its tty side; the test presses keys on
    the other side and reads what the client wrote into `screen`."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.stdin = os.fdopen(slave, "r", encoding="utf-8")
        self.stdout = os.fdopen(os.dup(slave), "w", encoding="utf-8")
        self.screen = Screen()
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.master)
        self.screen.write(chunk.decode("utf-8", "replace"))

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)  # the client reads end of input (a hang-up)
        self.stdin.close()
        self.stdout.close()


@pytest.fixture
async def terminal() -> AsyncIterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


async def test_the_desk_sees_the_patron_typing_in_a_terminal(
    backend: Backend, desk: Peer, terminal: Terminal
) -> None:
    screen = terminal.screen
    async with patron(backend.url, terminal.stdin, terminal.stdout) as task:
        await screen.shows("Your question: ")
        terminal.press("Can I print in colour?\r")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        assert chat["question"] == "Can I print in colour?"
        await desk.ok("accept", chat_id=chat["id"])
        await screen.shows("Ana joined the chat.")

        terminal.press("Is it")  # no Enter yet
        typing = await desk.next_event("typing")
        assert typing == {"type": "typing", "chat_id": chat["id"], "who": "patron"}
        await screen.shows("Is it")  # the client echoes what is typed
        terminal.press(" free?\x7f\x7f\x7f\x7f\x7fcheap?\r")
        await desk.next_event("message", sender="patron", text="Is it cheap?")
        terminal.press("\x04")  # Ctrl-D on an empty line: end of input
        assert await asyncio.wait_for(task, TIMEOUT) == 0
        await screen.shows("You left the chat.")
    assert termios.tcgetattr(terminal.stdin.fileno())[3] & termios.ICANON  # the tty is given back


async def test_typing_is_signalled_at_most_once_every_two_seconds(
    tmp_path: Path, terminal: Terminal
) -> None:
    # This desk passes on every typing signal, so what it forwards is what the client sent.
    limits = dataclasses.replace(Limits().for_simulated_patrons(), typing_interval=1e-9)
    async with Backend(data_dir=tmp_path / "d", clock=FakeClock(), token="t", limits=limits) as backend:
        desk, _ = await librarian(backend.url, "t", name="Ana")
        now = [1000.0]

        def clock() -> float:
            return now[0]

        screen = terminal.screen
        async with patron(backend.url, terminal.stdin, terminal.stdout, clock=clock) as task:
            await screen.shows("Your question: ")
            terminal.press("Study rooms?\r")
            chat = (await desk.next_event("chat", state="waiting"))["chat"]
            await screen.shows("You are in the queue")
            typed = ""
            for at, key in [(0.0, "C"), (0.5, "a"), (1.0, "n"), (1.9, " "), (2.0, "I"), (3.9, " "),
                            (4.0, "b"), (4.1, "o")]:
                now[0] = 1000.0 + at
                typed += key
                terminal.press(key)
                await screen.shows(typed)  # the key was read
            terminal.press("\r")
            await desk.next_event("message", sender="patron", text="Can I bo")
            signals = [f for f in desk.seen if f["type"] == "typing" and f["chat_id"] == chat["id"]]
            assert len(signals) == 3  # at 0, 2 and 4 s
            terminal.press("/quit\r")
            assert await asyncio.wait_for(task, TIMEOUT) == 0
        await desk.close()


# --- a real terminal: Ctrl-C, in the real command -----------------------------------------------


def _controlling_terminal() -> None:
    """In the child: a session of its own with the pty as its terminal, so Ctrl-C is SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Command:
    """`libchat-tui patron` in a pty of its own; `screen` holds what it wrote."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.screen = Screen()
        self.proc: asyncio.subprocess.Process | None = None
        self._fd = -1

    async def start(self, url: str) -> Command:
        master, slave = os.openpty()
        env = {**os.environ, "LIBCHAT_CONFIG": str(self.tmp / "config.toml"), "HOME": str(self.tmp),
               "XDG_DATA_HOME": str(self.tmp / "data")}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "libchat_tui.cli", "patron", "--server", url, "--name", "Maya",
            "--email", "", stdin=slave, stdout=slave, stderr=slave, env=env,
            preexec_fn=_controlling_terminal,
        )
        os.close(slave)
        self._fd = master
        asyncio.get_running_loop().add_reader(master, self._read)
        return self

    def _read(self) -> None:
        try:
            chunk = os.read(self._fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self._fd)
        self.screen.write(chunk.decode("utf-8", "replace"))

    def press(self, keys: str) -> None:
        os.write(self._fd, keys.encode())

    async def exit_status(self) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), TIMEOUT)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        with contextlib.suppress(OSError, ValueError):
            asyncio.get_running_loop().remove_reader(self._fd)
            while chunk := os.read(self._fd, 65536):  # what is left in the pty
                self.screen.write(chunk.decode("utf-8", "replace"))
        with contextlib.suppress(OSError):
            os.close(self._fd)


@contextlib.asynccontextmanager
async def command(tmp: Path, url: str) -> AsyncIterator[Command]:
    cmd = await Command(tmp).start(url)
    try:
        yield cmd
    finally:
        await cmd.stop()


async def test_ctrl_c_in_a_chat_leaves_it_with_one_goodbye(
    backend: Backend, desk: Peer, tmp_path: Path
) -> None:
    async with command(tmp_path, backend.url) as patron_cmd:
        await patron_cmd.screen.shows("Your question: ")
        patron_cmd.press("Where is the quiet floor?\r")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        await desk.ok("accept", chat_id=chat["id"])
        await patron_cmd.screen.shows("Ana joined the chat.")
        patron_cmd.press("half a li")
        await patron_cmd.screen.shows("half a li")
        patron_cmd.press("\x03")  # Ctrl-C
        assert await patron_cmd.exit_status() == 0
        await patron_cmd.screen.shows("You left the chat.")
        ended = (await desk.next_event("chat", state="ended"))["chat"]
        assert ended["last_change"]["action"] == "end_by_patron"
    text = patron_cmd.screen.text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert text.count("You left the chat.") == 1


async def test_ctrl_c_while_reconnecting_leaves_at_once(
    backend: Backend, desk: Peer, relay: Relay, tmp_path: Path
) -> None:
    async with command(tmp_path, relay.url) as patron_cmd:
        await patron_cmd.screen.shows("Your question: ")
        patron_cmd.press("Where is the quiet floor?\r")
        chat = (await desk.next_event("chat", state="waiting"))["chat"]
        await desk.ok("accept", chat_id=chat["id"])
        await patron_cmd.screen.shows("Ana joined the chat.")
        relay.cut()
        await patron_cmd.screen.shows("Connection lost. Reconnecting")
        patron_cmd.press("\x03")  # Ctrl-C
        assert await patron_cmd.exit_status() == 0
        await patron_cmd.screen.shows("the chat may still be open at the desk")
    text = patron_cmd.screen.text
    assert "Traceback" not in text and "CancelledError" not in text
    assert "the chat may still be open at the desk" in text
    assert f"libchat-tui patron --server {relay.url} --resume" in text
    assert (tmp_path / "data" / "libchat-tui" / "patron-resume.json").exists()


async def test_ctrl_c_before_the_chat_starts_says_goodbye(backend: Backend, tmp_path: Path) -> None:
    async with command(tmp_path, backend.url) as patron_cmd:
        await patron_cmd.screen.shows("Your question: ")
        patron_cmd.press("Wher")
        await patron_cmd.screen.shows("Wher")
        patron_cmd.press("\x03")  # Ctrl-C
        assert await patron_cmd.exit_status() == 0
        await patron_cmd.screen.shows("Goodbye.")
    assert "Traceback" not in patron_cmd.screen.text
