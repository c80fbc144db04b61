"""The librarian's connection to a desk: hello, resync, commands, and surviving outages.

`DeskClient.run()` keeps a connection up: it reconnects with backoff, resumes from the
last sequence number it applied (the server replays what was missed, or sends a
snapshot), and then delivers every command that was waiting. Commands are sent with
client-made ids; a command sent again after a lost connection is marked `retry` so the
desk, which remembers committed ids, applies it exactly once. Queued commands are kept in
an outbox file, so a crash of the console loses nothing that was typed and submitted.

No textual here: the console subscribes with callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from . import protocol as p

log = logging.getLogger(__name__)

#: Commands that are queued while offline; the others (reads) fail at once.
QUEUEABLE = p.MUTATING


class CommandError(Exception):
    """The desk refused a command (or could not be reached for a read)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Status:
    """The connection as the console shows it."""

    state: str = "connecting"  # connecting | online | offline | failed
    attempt: int = 0
    detail: str = ""
    resync: str = ""  # "replay" | "snapshot" after a (re)connect


@dataclass
class _Pending:
    id: str
    frame: dict[str, Any]
    future: asyncio.Future[dict[str, Any]] = field(repr=False)
    sent: bool = False


class DeskClient:
    """One librarian's session with the desk."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        librarian_id: str,
        name: str,
        on_frame: Callable[[dict[str, Any]], None],
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
        self.last_seq: int | None = None
        self.hello: dict[str, Any] = {}
        self.status = Status()
        self._ws: ClientConnection | None = None
        self._pending: dict[str, _Pending] = {}
        self._synced = asyncio.Event()
        self._stopping = False

    # --- public ----------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.status.state == "online"

    async def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its result; queue it if offline and it can wait."""
        if not self.online and type_ not in QUEUEABLE:
            raise CommandError("offline", "Not connected to the desk; try again when it is back.")
        cid = f"{self.librarian_id[:8]}-{uuid.uuid4().hex[:16]}"
        frame = {"type": type_, "id": cid, **fields}
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        pending = _Pending(cid, frame, future)
        self._pending[cid] = pending
        if type_ in QUEUEABLE:
            self._save_outbox()
        if self.online and self._ws is not None:
            await self._send(pending)
        return await future

    def signal(self, type_: str, **fields: Any) -> None:
        """A fire-and-forget signal (typing); dropped when offline."""
        ws = self._ws
        if ws is not None and self.online:
            task = asyncio.get_running_loop().create_task(ws.send(p.encode({"type": type_, **fields})))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    @property
    def queued(self) -> int:
        """Commands not yet acknowledged."""
        return len(self._pending)

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()

    # --- the connection loop ---------------------------------------------------------

    def _set_status(self, state: str, detail: str = "", attempt: int = 0, resync: str = "") -> None:
        self.status = Status(state, attempt, detail, resync)
        self.on_status(self.status)

    async def run(self) -> None:
        """Stay connected until stopped or refused for good (bad token, bad protocol)."""
        self._load_outbox()
        attempt = 0
        while not self._stopping:
            try:
                async with connect(
                    f"{self.url}/librarian",
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    max_size=p.MAX_FRAME_BYTES * 16,
                    compression=None,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                ) as ws:
                    self._ws = ws
                    attempt = 0
                    await self._session(ws)
            except InvalidStatus as exc:
                code = exc.response.status_code
                if code in (401, 403):
                    self._set_status("failed", "The desk refused this token. Check --token, "
                                     "$LIBCHAT_TOKEN or [server] token.")
                    return
                attempt += 1
                self._set_status("offline", f"the desk answered HTTP {code}", attempt)
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code == 4001:
                    reason = exc.rcvd.reason
                    self._set_status("failed", f"The desk speaks another protocol version ({reason}).")
                    return
                attempt += 1
                self._set_status("offline", "connection lost", attempt)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                attempt += 1
                self._set_status("offline", str(exc) or type(exc).__name__, attempt)
            finally:
                self._ws = None
                self._synced.clear()
                for pending in self._pending.values():
                    pending.sent = False
            if self._stopping:
                break
            if self.status.state == "online":
                attempt += 1
                self._set_status("offline", "connection lost", attempt)
            delay = min(self.backoff_max, 0.25 * 2 ** min(attempt, 8)) * random.uniform(0.7, 1.0)
            await asyncio.sleep(delay)
        self._set_status("offline", "stopped")

    async def _session(self, ws: ClientConnection) -> None:
        hello_id = f"hello-{uuid.uuid4().hex[:8]}"
        await ws.send(p.encode({"type": "hello", "id": hello_id, "protocol": p.PROTOCOL_VERSION,
                                "librarian_id": self.librarian_id, "name": self.name,
                                "since": self.last_seq}))
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind in ("ack", "error"):
                if frame.get("id") == hello_id:
                    if kind == "error":
                        self._set_status("failed", frame.get("message", "The desk refused hello."))
                        self._stopping = True
                        return
                    self.hello = frame["result"]
                    continue
                self._reply(frame)
                continue
            seq = frame.get("seq")
            if kind == "synced":
                self.last_seq = seq
                self._set_status("online", resync=frame.get("mode", ""))
                self._synced.set()
                await self._flush()
                continue
            if seq is not None:
                if kind != "snapshot" and self.last_seq is not None and seq <= self.last_seq:
                    continue  # already applied
                self.last_seq = seq
            self.on_frame(frame)

    async def _flush(self) -> None:
        for pending in list(self._pending.values()):
            if not pending.sent:
                await self._send(pending, retry=True)

    async def _send(self, pending: _Pending, retry: bool = False) -> None:
        ws = self._ws
        if ws is None:
            return
        frame = {**pending.frame, "retry": True} if retry else pending.frame
        pending.sent = True
        with contextlib.suppress(ConnectionClosed):
            await ws.send(p.encode(frame))

    def _reply(self, frame: dict[str, Any]) -> None:
        pending = self._pending.pop(str(frame.get("id")), None)
        if pending is None:
            return
        if pending.frame["type"] in QUEUEABLE:
            self._save_outbox()
        if pending.future.done():
            return
        if frame["type"] == "ack":
            pending.future.set_result(frame.get("result") or {})
        else:
            pending.future.set_exception(CommandError(frame.get("code", "error"), frame.get("message", "")))

    # --- the outbox ------------------------------------------------------------------

    def _save_outbox(self) -> None:
        if self.outbox_path is None:
            return
        frames = [q.frame for q in self._pending.values() if q.frame["type"] in QUEUEABLE]
        tmp = self.outbox_path.with_suffix(".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(frames, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.outbox_path)

    def _load_outbox(self) -> None:
        """Commands a previous run queued but never saw acknowledged: send them again."""
        if self.outbox_path is None or not self.outbox_path.exists():
            return
        try:
            frames = json.loads(self.outbox_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("outbox %s unreadable; ignoring it", self.outbox_path)
            return
        loop = asyncio.get_running_loop()
        for frame in frames:
            if not (isinstance(frame, dict) and isinstance(frame.get("id"), str)):
                continue
            if frame["id"] not in self._pending:
                future: asyncio.Future[dict[str, Any]] = loop.create_future()
                future.add_done_callback(lambda f: f.cancelled() or f.exception())
                self._pending[frame["id"]] = _Pending(frame["id"], frame, future)
