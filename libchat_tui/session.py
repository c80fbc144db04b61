"""The sans-I/O core every client shares: command ids, pending replies, retries, `seq`.

A client (the console's `DeskClient`, the patron's `PatronSession`, and through it the
simulator and `libchat-tui patron`, and the tests' wire helper) owns a socket and hands
this core what it needs: `register()` a command and get its frame text, feed every
received frame to `receive()`, call `connection_lost()` when the socket goes away and
`resend()` on the next one. The core resolves each command's future from its `ack` or
`error`, marks a command sent again on a new connection with `retry` (so the desk
applies it once), and drops desk events already seen (by `seq`). It never touches the
network, so its rules are tested without one.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from . import protocol as p


class CommandError(Exception):
    """The desk refused a command (`code` is the wire error code), or could not be reached."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Pending:
    """A command waiting for its reply."""

    frame: p.Command
    future: asyncio.Future[dict[str, Any]] = field(repr=False)
    sent: bool = False  # sent on the current connection
    tried: bool = False  # sent on some connection: a resend is a retry

    @property
    def id(self) -> str:
        return self.frame.id


class CommandSession:
    """Commands in flight and the last event seen, for one client."""

    def __init__(self, prefix: str, decode: Callable[[str | bytes], p.Frame]) -> None:
        self.prefix = prefix
        self.decode = decode
        self.pending: dict[str, Pending] = {}
        self.last_seq: int | None = None
        self._nonce = secrets.token_hex(6)
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        """An id no other command of this client (or of its earlier runs) has had."""
        return f"{self.prefix}-{self._nonce}-{next(self._counter)}"

    def register(self, frame: p.Command) -> Pending:
        """Track `frame` until its reply; the caller sends `outgoing(pending)`."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume)
        pending = Pending(frame, future)
        self.pending[frame.id] = pending
        return pending

    def outgoing(self, pending: Pending) -> str:
        """The text to send for `pending` now (marked `retry` if it went out before)."""
        frame = msgspec.structs.replace(pending.frame, retry=True) if pending.tried else pending.frame
        pending.sent = pending.tried = True
        return p.encode(frame)

    def resend(self) -> list[str]:
        """On a new connection: every command not yet answered, in the order issued."""
        return [self.outgoing(q) for q in self.pending.values() if not q.sent]

    def connection_lost(self) -> None:
        """The socket is gone: nothing is sent on it any more; replies may never come."""
        for pending in self.pending.values():
            pending.sent = False

    def forget(self, command_id: str, exc: BaseException | None = None) -> None:
        """Stop tracking a command (a read that cannot wait), failing it with `exc`."""
        pending = self.pending.pop(command_id, None)
        if pending is not None and exc is not None and not pending.future.done():
            pending.future.set_exception(exc)

    def receive(self, raw: str | bytes) -> p.Frame | None:
        """One frame from the desk: a reply resolves its command (returns None); an event
        is returned, unless its `seq` was already seen. Raises ProtocolError if unreadable."""
        frame = self.decode(raw)
        if isinstance(frame, p.Ack | p.Error):
            pending = self.pending.pop(str(frame.id), None)
            if pending is not None and not pending.future.done():
                if isinstance(frame, p.Ack):
                    pending.future.set_result(frame.result)
                else:
                    pending.future.set_exception(CommandError(frame.code, frame.message))
            return None if pending is not None else frame
        seq = getattr(frame, "seq", None)
        if isinstance(seq, int):
            if isinstance(frame, p.Synced | p.Snapshot):
                self.last_seq = seq
            elif self.last_seq is not None and seq <= self.last_seq:
                return None  # already applied (a replay overlapping the live stream)
            else:
                self.last_seq = seq
        return frame


def _consume(future: asyncio.Future[dict[str, Any]]) -> None:
    """Nobody may be awaiting a queued command's future: never warn about its exception."""
    if not future.cancelled():
        future.exception()
