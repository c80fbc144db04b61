"""Helpers for the plain-mode tests: a real `libchat-tui serve`, and plain mode in a pty.

`Serve` runs the desk as a subprocess on port 0 (and can be killed and restarted on the
same port and data dir). `Terminal` runs `libchat-tui --plain` with a pseudo
terminal as its stdin and stdout, against any desk with a `url` and a `token` (a `Serve`,
or an in-process `Backend` on port 0 with a fake clock), records every byte it writes,
types lines as a person would (ending with carriage return), and waits on what appears,
with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
from pathlib import Path
from typing import Any, Protocol

from desk_ids import desk_id_in

from libchat_tui.patron_client import PatronSession

TIMEOUT = 15.0

#: Escape sequences that address the cursor or the screen, or set colours: never from plain mode.
#: (readline's own in-line editing may write erase-in-line and horizontal moves on a real terminal.)
FORBIDDEN = re.compile(
    r"\x1b\[[0-9;?]*[HfABEFdJrsuSTm]"  # cursor position, vertical moves, erase display, scroll, SGR
    r"|\x1b\[\?(?:1049|47|1047|25)[hl]"  # alternate screen, hidden cursor
    r"|\x1b[78]|\x1bc|\x1b\]|\x9b|\x9d"  # save/restore cursor, reset, OSC, 8-bit CSI/OSC
)
SGR = re.compile(r"\x1b\[[0-9;]*m")


class Desk(Protocol):
    """What plain mode needs of a desk: where it is and the librarians' token."""

    url: str
    token: str


def config(tmp: Path, bell: bool = False) -> Path:
    path = tmp / "config.toml"
    path.write_text(f'[librarian]\nname = "Ana Reyes"\n[appearance]\nbell = {str(bell).lower()}\n',
                    encoding="utf-8")
    return path


class Serve:
    """`libchat-tui serve` in a subprocess; `kill()` and `start()` again keep port and data."""

    def __init__(self, tmp: Path, *, grace: float = 60) -> None:
        self.tmp = tmp
        self.grace = grace
        self.port = 0
        self.url = ""
        self.token = ""
        self.proc: asyncio.subprocess.Process | None = None
        config(tmp)

    async def start(self) -> Serve:
        env = {**os.environ, "LIBCHAT_CONFIG": str(self.tmp / "config.toml")}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "libchat_tui.cli", "serve", "--port", str(self.port),
            "--data-dir", str(self.tmp / "desk"), "--grace", str(self.grace),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        )
        assert self.proc.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                assert line, "serve exited before printing its URL"
                found = re.search(r"desk at (ws://\S+?:(\d+))\s", line)
                if found:
                    self.url, self.port = found.group(1), int(found.group(2))
                    break
        self.token = (self.tmp / "token").read_text().strip()
        return self

    def desk_id(self, patron: Any) -> int:
        """The desk's id of a patron's chat (patrons see only an opaque reference)."""
        return desk_id_in(self.tmp / "desk", patron)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(TIMEOUT):
                    await self.proc.wait()
            except TimeoutError:
                await self.kill()


def _controlling_terminal() -> None:
    """In the child: a session of its own with the pty as its terminal, so Ctrl-C is SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """Plain mode on a pseudo terminal: every byte it writes is kept in `data`."""

    def __init__(self, tmp: Path, serve: Desk, *, term: str = "xterm", color: bool = False,
                 token: str | None = None, pipe_input: bool = False) -> None:
        self.tmp, self.serve, self.term, self.color = tmp, serve, term, color
        self.token = serve.token if token is None else token
        self.pipe_input = pipe_input
        self.data = b""
        self.mark = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._fd = -1
        self._changed = asyncio.Event()

    async def start(self) -> Terminal:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        env = {**os.environ, "TERM": self.term, "LIBCHAT_CONFIG": str(self.tmp / "config.toml"),
               "HOME": str(self.tmp), "INPUTRC": "/dev/null", "LIBCHAT_TOKEN": self.token}
        env.pop("NO_COLOR", None)
        args = ["--plain", "--server", self.serve.url, "--data-dir", str(self.tmp / "me")]
        if self.color:
            args.append("--color")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "libchat_tui.cli", *args,
            stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=_controlling_terminal,
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
        self.data += chunk
        self._changed.set()

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def since_mark(self) -> str:
        return self.text[self.mark:]

    async def expect(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until `pattern` (a literal string or a regex) appears after the last match."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        try:
            async with asyncio.timeout(timeout):
                while True:
                    found = regex.search(self.text, self.mark)
                    if found:
                        self.mark = found.end()
                        return found
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            tail = self.text[self.mark:][-3000:]
            raise AssertionError(f"{regex.pattern!r} did not appear; after the mark:\n{tail!r}") from None

    async def prompt(self, chat: int | None = None) -> None:
        await self.expect(f"{chat}> " if chat is not None else "> ")

    def keys(self, data: str | bytes) -> None:
        os.write(self._fd, data.encode() if isinstance(data, str) else data)

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        self.keys(line + "\r")

    async def finish(self) -> int:
        """Quit with /quit (or end it if it does not go) and return its exit status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            with contextlib.suppress(OSError):
                self.type("/quit")
            try:
                async with asyncio.timeout(TIMEOUT):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        # Drain what is left in the pty.
        with contextlib.suppress(OSError, ValueError):
            asyncio.get_running_loop().remove_reader(self._fd)
            while True:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    break
                self.data += chunk
        with contextlib.suppress(OSError):
            os.close(self._fd)
        return int(self.proc.returncode or 0)


def assert_clean(term: Terminal) -> None:
    """No cursor addressing and no colour in anything plain mode wrote."""
    found = FORBIDDEN.search(term.text)
    assert found is None, f"{found.group()!r} in {term.text[max(0, found.start() - 200):found.end()]!r}"


async def patron_hears(patron: PatronSession, text: str) -> None:
    """Wait until the patron receives a message with exactly `text`."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            event: Any = await patron.next_event()
            if isinstance(event, dict):  # the patron client's events: dicts, or typed frames
                kind, message = event.get("type"), event.get("message")
            else:
                kind, message = getattr(event, "type", None), getattr(event, "message", None)
            if kind == "message" and isinstance(message, dict) and message.get("text") == text:
                return
