"""The librarian's connection to a desk: hello, resync, commands, and surviving outages.

`DeskClient.run()` keeps a connection up with websockets' own reconnect loop
(`async for ws in connect(...)`; a refused token or protocol version stops it), resumes
from the last sequence number it applied (the desk replays what was missed, or sends a
snapshot), and then delivers every command that was waiting. The bookkeeping (ids,
replies, `retry`, `seq`) is the shared sans-I/O `CommandSession`. Commands that change
the desk are kept in an outbox file until acknowledged, so a crash of the console loses
nothing that was submitted; a failure to write that file is reported, never fatal.

No textual here: the console subscribes with callbacks and turns them into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import typing
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from . import protocol as p
from .analytics import DEFAULT_DATASETS, Dataset
from .files import write_atomic
from .session import CommandError, CommandSession

log = logging.getLogger(__name__)

__all__ = ["CommandError", "DeskClient", "Status", "check_url"]

#: Wire type -> command class, for `command("send", chat_id=..., text=...)`.
#: Every librarian command of the protocol but `hello` (which the client sends itself).
COMMANDS: dict[str, type[p.Command]] = {
    str(cls.__struct_config__.tag): cls
    for cls in typing.get_args(p.LibrarianFrame)
    if issubclass(cls, p.Command) and cls is not p.Hello
}


@dataclass(frozen=True)
class Status:
    """The connection as the console shows it."""

    state: str = "connecting"  # connecting | online | offline | failed
    attempt: int = 0
    detail: str = ""
    resync: str = ""  # "replay" | "snapshot" after a (re)connect
    outbox_error: str = ""  # set while queued commands cannot be saved to disk


class _Refused(Exception):
    """The desk refused this console for good (token, protocol): stop reconnecting."""


def check_url(url: str) -> str | None:
    """Why `url` cannot be a desk address, or None if it can (ws:// or wss://, a host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        return f"'{url}' is not a desk address: it must start with ws:// or wss:// (e.g. ws://{url})."
    if not parts.hostname:
        return f"'{url}' has no host name."
    try:
        _ = parts.port
    except ValueError:
        return f"'{url}' has a port that is not a number from 1 to 65535."
    return None


class DeskClient:
    """One librarian's session with the desk."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        librarian_id: str,
        name: str,
        on_frame: Callable[[p.Frame], None],
        on_status: Callable[[Status], None] = lambda s: None,
        outbox: Path | None = None,
        backoff_max: float = 15.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.librarian_id = librarian_id
        self.name = name
        self.on_frame = on_frame
        self.on_status = on_status
        self.outbox_path = outbox
        self.backoff_max = backoff_max
        self.hello: dict[str, Any] = {}
        #: Online or away: said in every `hello`, so a reconnect keeps it.
        self.presence: Literal["online", "away"] = "online"
        self.status = Status()
        self.session = CommandSession(librarian_id[:8] or "lib", p.decode_librarian_event)
        self._ws: ClientConnection | None = None
        self._stopping = False
        self._attempt = 0
        self._outbox_lock = asyncio.Lock()
        self._save_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    # --- public ----------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.status.state == "online"

    @property
    def last_seq(self) -> int | None:
        return self.session.last_seq

    @property
    def queued(self) -> int:
        """Commands not yet acknowledged."""
        return len(self.session.pending)

    def datasets(self) -> dict[str, Dataset] | None:
        """The desk's Reference Analytics datasets (from `hello`); None before the first hello."""
        if not self.hello:
            return None
        wire = self.hello.get("datasets")
        if wire is None:  # a desk older than datasets in `hello` has the default one
            return dict(DEFAULT_DATASETS)
        return {str(n): Dataset.from_wire({**d, "name": n}) for n, d in wire.items()}

    def queued_frames(self) -> list[p.Command]:
        """Commands not yet acknowledged, oldest first (the console shows queued messages)."""
        return [q.frame for q in self.session.pending.values()]

    async def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its result; queue it if offline and it can wait."""
        cls = COMMANDS[type_]
        queueable = cls in p.MUTATING
        if not self.online and not queueable:
            raise CommandError("offline", "Not connected to the desk; try again when it is back.")
        pending = self.session.register(cls(id=self.session.new_id(), **fields))
        if queueable:
            pending.future.add_done_callback(self._answered)
            await self._save_outbox()
        ws = self._ws
        if self.online and ws is not None:
            await self._send(ws, self.session.outgoing(pending))
        return await pending.future

    def withdraw(self, command_id: str) -> bool:
        """Take back a queued command that has not reached the desk (True if it was held)."""
        pending = self.session.pending.get(command_id)
        if pending is None or pending.tried:
            return False
        self.session.forget(command_id, CommandError("withdrawn", "Withdrawn before it was sent."))
        self._schedule_outbox_save()
        return True

    def signal(self, type_: str, **fields: Any) -> None:
        """A fire-and-forget signal (typing); dropped when offline."""
        ws = self._ws
        if ws is not None and self.online and type_ == "typing":
            frame = p.encode(p.LibrarianTyping(**fields))
            task = asyncio.get_running_loop().create_task(ws.send(frame))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()

    # --- the connection loop ---------------------------------------------------------

    def _set_status(self, state: str, detail: str = "", resync: str = "") -> None:
        self.status = Status(state, self._attempt, detail, resync, self.status.outbox_error)
        self.on_status(self.status)

    def _delays(self) -> Generator[float]:
        delay = 0.25
        while True:
            yield min(self.backoff_max, delay) * random.uniform(0.7, 1.0)
            delay *= 2

    def _failed_attempt(self, exc: Exception) -> Exception | None:
        """websockets' `process_exception`: None to retry, the exception to stop."""
        if self._stopping:
            return exc
        if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
            return _Refused("The desk refused this token. Check --token, $LIBCHAT_TOKEN or [server] token.")
        self._attempt += 1
        if isinstance(exc, InvalidStatus):
            detail = f"{self.url} answered HTTP {exc.response.status_code}"
        elif isinstance(exc, InvalidHandshake):
            detail = f"{self.url} is not a libchat desk ({exc})"
        else:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            detail = f"cannot reach {self.url}: {reason or type(exc).__name__}"
        self._set_status("offline", detail)
        return None

    async def run(self) -> None:
        """Stay connected until stopped or refused for good (bad token, bad protocol)."""
        problem = check_url(self.url)
        if problem is not None:
            self._set_status("failed", problem)
            return
        await self._load_outbox()
        try:
            async for ws in connect(
                f"{self.url}/librarian",
                additional_headers={"Authorization": f"Bearer {self.token}"},
                max_size=p.MAX_SERVER_FRAME_BYTES,
                compression=None,
                open_timeout=10,
                ping_interval=20,
                ping_timeout=20,
                process_exception=self._failed_attempt,
                reconnect_delays=self._delays,
            ):
                self._ws = ws
                try:
                    await self._session(ws)
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and exc.rcvd.code == 4001:
                        raise _Refused(f"The desk speaks another protocol version ({exc.rcvd.reason}).") \
                            from None
                finally:
                    self._ws = None
                    self.session.connection_lost()
                if self._stopping:
                    break
                self._attempt += 1
                self._set_status("offline", "connection lost")
        except _Refused as exc:
            self._set_status("failed", str(exc))
            return
        except InvalidURI as exc:
            self._set_status("failed", f"'{self.url}' is not a desk address: {exc}")
            return
        except Exception as exc:  # stopped while connecting
            if not self._stopping:
                raise
            log.debug("stopped while connecting: %s", exc)
        self._set_status("offline", "stopped")

    async def _session(self, ws: ClientConnection) -> None:
        hello_id = f"hello-{self.session.new_id()}"
        await ws.send(p.encode(p.Hello(p.PROTOCOL_VERSION, self.librarian_id, self.name,
                                       self.session.last_seq, self.presence, id=hello_id)))
        async for raw in ws:
            try:
                frame = self.session.receive(raw)
            except p.ProtocolError as exc:
                log.warning("ignoring a frame: %s", exc.message)
                continue
            if frame is None:
                continue
            if isinstance(frame, p.Ack | p.Error) and frame.id == hello_id:
                if isinstance(frame, p.Error):
                    raise _Refused(frame.message or "The desk refused hello.")
                self.hello = frame.result
                self.on_frame(frame)  # the model takes the team desk from it
                continue
            if isinstance(frame, p.Synced):
                self._attempt = 0
                self._set_status("online", resync=frame.mode)
                for text in self.session.resend():
                    await self._send(ws, text)
                continue
            self.on_frame(frame)

    @staticmethod
    async def _send(ws: ClientConnection, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)

    # --- the outbox ------------------------------------------------------------------

    def _outbox_frames(self) -> bytes:
        frames = [q.frame for q in self.session.pending.values() if isinstance(q.frame, p.MUTATING)]
        return msgspec.json.encode(frames)

    async def _save_outbox(self) -> None:
        """Write the queued commands (owner-only, fsynced, atomic), off the event loop."""
        if self.outbox_path is None:
            return
        async with self._outbox_lock:
            data = self._outbox_frames()
            try:
                await asyncio.to_thread(write_atomic, self.outbox_path, data)
            except OSError as exc:
                problem = f"cannot save queued commands to {self.outbox_path}: {exc.strerror or exc}"
                if self.status.outbox_error != problem:
                    log.error("%s", problem)
                    self.status = Status(self.status.state, self.status.attempt, self.status.detail,
                                         self.status.resync, problem)
                    self.on_status(self.status)
                return
        if self.status.outbox_error:
            self.status = Status(self.status.state, self.status.attempt, self.status.detail,
                                 self.status.resync, "")
            self.on_status(self.status)

    def _schedule_outbox_save(self) -> None:
        """Save soon; answers arriving together cost one write."""
        if self.outbox_path is None or self._save_scheduled:
            return
        self._save_scheduled = True

        async def save() -> None:
            self._save_scheduled = False
            await self._save_outbox()

        task = asyncio.get_running_loop().create_task(save())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load_outbox(self) -> None:
        """Commands a previous run queued but never saw acknowledged: send them again."""
        path = self.outbox_path
        if path is None or not path.exists():
            return
        try:
            raw = await asyncio.to_thread(path.read_bytes)
            frames = msgspec.json.decode(raw, type=list[msgspec.Raw])
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            log.warning("outbox %s unreadable; ignoring it", path)
            return
        for item in frames:
            try:
                frame = p.decode_librarian(bytes(item).decode())
            except (p.ProtocolError, UnicodeDecodeError):
                continue
            if isinstance(frame, p.MUTATING) and frame.id not in self.session.pending:
                pending = self.session.register(frame)
                pending.tried = True  # it may have reached the desk before the crash
                pending.future.add_done_callback(self._answered)

    def _answered(self, _future: asyncio.Future[dict[str, Any]]) -> None:
        """A queued command was answered: rewrite the outbox without it (coalesced)."""
        self._schedule_outbox_save()
