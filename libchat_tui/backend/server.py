"""The WebSocket server: `/librarian` and `/patron` over the desk service.

Thin I/O around `Desk`: decode a frame (protocol.py), call the desk, send exactly one
`ack` or `error`. Librarian events are fanned out with `broadcast()`, encoded once.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import protocol as p
from ..analytics import DEFAULT_DATASETS, Dataset
from ..domain import Actor, DomainError, iso, librarian
from . import afterchat
from .desk import TICKET_OFFER, Desk

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
MAX_PATRONS_PER_ADDRESS = 20
LOGIN_FAILURES_ALLOWED = 5  # per address per minute, then 429
PATRON_RATE = 5.0  # messages per second, sustained
PATRON_BURST = 10
TYPING_INTERVAL = 0.5  # seconds between typing signals forwarded per patron
WRITE_BUFFER_LIMIT = 32 * 1024 * 1024  # a librarian this far behind is disconnected


class LibrarianConnection:
    """One console on `/librarian`: who it is and whether it is still catching up."""

    def __init__(self, ws: ServerConnection, who: Actor) -> None:
        self.ws = ws
        self.who = who
        self.backlog: list[tuple[int, str]] | None = []  # None once synced


class DeskServer:
    """Routes connections and frames to the desk."""

    def __init__(self, desk: Desk, *, token: str, datasets: dict[str, Dataset] | None = None,
                 allowed_origins: frozenset[str] = frozenset()) -> None:
        self.desk = desk
        self.token = token
        self.dataset_models = dict(DEFAULT_DATASETS if datasets is None else datasets)
        self.datasets = {name: d.to_wire() for name, d in self.dataset_models.items()}
        self.allowed_origins = allowed_origins
        self.librarians: set[LibrarianConnection] = set()
        self.shutting_down = False
        self._patrons_by_address: dict[str, int] = defaultdict(int)
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._server: Server | None = None
        desk.listeners.append(self._on_events)

    async def start(self, host: str, port: int) -> Server:
        self._server = await serve(
            self._handle, host, port,
            process_request=self._check_request,
            max_size=p.MAX_FRAME_BYTES, compression=None, ping_interval=20, ping_timeout=20,
            close_timeout=5, max_queue=64,
        )
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.shutting_down = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # --- handshake -------------------------------------------------------------------

    @staticmethod
    def _address(connection: ServerConnection) -> str:
        remote = connection.remote_address
        return str(remote[0]) if remote else "?"

    async def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        address = self._address(connection)
        if path == "/patron":
            if self._patrons_by_address[address] >= MAX_PATRONS_PER_ADDRESS:
                return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "Too many connections.\n")
            return None
        if path != "/librarian":
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not found.\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.allowed_origins:
            return connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden.\n")
        failures = self._failures[address]
        now = time.monotonic()
        while failures and now - failures[0] > 60:
            failures.popleft()
        if len(failures) >= LOGIN_FAILURES_ALLOWED:
            return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "Too many attempts.\n")
        if not self._token_ok(request.headers):
            failures.append(now)
            await asyncio.sleep(0.05 * len(failures))
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized.\n")
        return None

    def _token_ok(self, headers: Headers) -> bool:
        given = headers.get("Authorization", "")
        expected = f"Bearer {self.token}"
        return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0] if ws.request else ""
        try:
            if path == "/librarian":
                await self._librarian(ws)
            else:
                await self._patron(ws)
        except ConnectionClosed:
            pass

    # --- librarian -------------------------------------------------------------------

    def _on_events(self, frames: list[tuple[int, str]]) -> None:
        live = []
        for conn in list(self.librarians):
            if conn.backlog is not None:
                conn.backlog.extend(frames)
            elif conn.ws.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                log.warning("librarian %s is too far behind; disconnecting", conn.who.name)
                conn.ws.transport.abort()
            else:
                live.append(conn.ws)
        if live:
            for _seq, frame in frames:
                broadcast(live, frame)

    def broadcast_signal(self, frame: dict[str, Any]) -> None:
        """An ephemeral frame (no seq) to every synced librarian."""
        broadcast([c.ws for c in self.librarians if c.backlog is None], p.encode(frame))

    async def _librarian(self, ws: ServerConnection) -> None:
        try:
            raw = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT)
        except TimeoutError:
            await ws.close(4002, "hello required")
            return
        try:
            hello = p.decode_command(raw, p.LIBRARIAN_COMMANDS, {})
        except p.ProtocolError as exc:
            await ws.send(p.error(exc.command_id, exc.code, exc.message))
            await ws.close(4002, "hello required")
            return
        if hello.type != "hello":
            await ws.send(p.error(hello.id, "hello_required", "The first frame must be 'hello'."))
            await ws.close(4002, "hello required")
            return
        if hello["protocol"] != p.PROTOCOL_VERSION:
            version = f"This desk speaks protocol {p.PROTOCOL_VERSION}, not {hello['protocol']}."
            await ws.send(p.error(hello.id, "protocol_version", version))
            await ws.close(4001, "unsupported protocol version")
            return
        conn = LibrarianConnection(ws, librarian(hello["librarian_id"], hello["name"]))
        self.librarians.add(conn)
        try:
            await self._sync(conn, hello)
            async for raw in ws:
                await self._librarian_frame(conn, raw)
        finally:
            self.librarians.discard(conn)

    async def _sync(self, conn: LibrarianConnection, hello: p.Command) -> None:
        since = hello["since"]
        last = self.desk.store.last_seq
        mode = "replay" if since is not None and 0 <= since <= last else "snapshot"
        result = {"protocol": p.PROTOCOL_VERSION, "seq": last, "mode": mode,
                  "grace_seconds": self.desk.grace_seconds, "datasets": self.datasets,
                  "librarian_id": conn.who.id}
        if mode == "snapshot":
            seq, chats = self.desk.snapshot()
            await conn.ws.send(p.ack(hello.id, result))
            await conn.ws.send(p.encode({"type": "snapshot", "seq": seq, "chats": chats}))
            upto = seq
        else:
            await conn.ws.send(p.ack(hello.id, result))
            frames = await self.desk.events_since(since)
            upto = since
            for seq, frame in frames:
                await conn.ws.send(frame)
                upto = seq
        while conn.backlog:
            pending, conn.backlog = conn.backlog, []
            for seq, frame in pending:
                if seq > upto:
                    await conn.ws.send(frame)
                    upto = seq
        conn.backlog = None
        await conn.ws.send(p.encode({"type": "synced", "seq": upto, "mode": mode}))

    async def _librarian_frame(self, conn: LibrarianConnection, raw: str | bytes) -> None:
        try:
            cmd = p.decode_command(raw, p.LIBRARIAN_COMMANDS, p.LIBRARIAN_SIGNALS)
        except p.ProtocolError as exc:
            await conn.ws.send(p.error(exc.command_id, exc.code, exc.message))
            return
        if cmd.id is None:  # typing signal
            self.desk.typing(cmd["chat_id"], conn.who)
            return
        if cmd.type == "hello":
            await conn.ws.send(p.error(cmd.id, "invalid_field", "Already said hello."))
            return
        idem = (conn.who.id, cmd.id) if cmd.type in p.MUTATING else None
        try:
            if idem is not None and cmd.retry:
                stored = await self.desk.stored_result(*idem)
                if stored is not None:
                    await conn.ws.send(p.ack(cmd.id, stored))
                    return
            handler = LIBRARIAN_HANDLERS[cmd.type]
            result = await handler(self, conn.who, cmd, idem)
        except DomainError as exc:
            await conn.ws.send(p.error(cmd.id, exc.code, exc.message))
            return
        except Exception:
            log.exception("command %s failed", cmd.type)
            await conn.ws.send(p.error(cmd.id, "internal", "The desk hit an unexpected error."))
            return
        await conn.ws.send(p.ack(cmd.id, result))

    # --- patron ----------------------------------------------------------------------

    async def _patron(self, ws: ServerConnection) -> None:
        address = self._address(ws)
        self._patrons_by_address[address] += 1
        session = PatronSession(self, ws)
        try:
            async for raw in ws:
                await session.frame(raw)
        finally:
            self._patrons_by_address[address] -= 1
            if self._patrons_by_address[address] <= 0:
                del self._patrons_by_address[address]
            if session.chat_id is not None and not session.left and not self.shutting_down:
                await self.desk.connection_lost(session.chat_id, session.sink)


class PatronSession:
    """One patron connection: at most one chat, rate-limited."""

    def __init__(self, server: DeskServer, ws: ServerConnection) -> None:
        self.server = server
        self.desk = server.desk
        self.ws = ws
        self.chat_id: int | None = None
        self.left = False
        self._allowance = float(PATRON_BURST)
        self._last = time.monotonic()
        self._last_typing = 0.0

    def sink(self, frame: dict[str, Any]) -> None:
        broadcast([self.ws], p.encode(frame))

    def _rate_ok(self) -> bool:
        now = time.monotonic()
        self._allowance = min(PATRON_BURST, self._allowance + (now - self._last) * PATRON_RATE)
        self._last = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    async def frame(self, raw: str | bytes) -> None:
        try:
            cmd = p.decode_command(raw, p.PATRON_COMMANDS, p.PATRON_SIGNALS)
            if cmd.id is None:  # typing: at most a few per second reach the librarians
                now = time.monotonic()
                if self.chat_id is not None and now - self._last_typing > TYPING_INTERVAL:
                    self._last_typing = now
                    self.server.broadcast_signal({"type": "typing", "chat_id": self.chat_id, "who": "patron"})
                return
            if not self._rate_ok():
                raise p.ProtocolError("rate_limited", "You are sending too fast; please wait a moment.",
                                      cmd.id)
            result = await self._command(cmd)
        except p.ProtocolError as exc:
            await self.ws.send(p.error(exc.command_id, exc.code, exc.message))
            return
        except DomainError as exc:
            await self.ws.send(p.error(cmd.id, exc.code, exc.message))
            return
        except Exception:
            log.exception("patron command %s failed", cmd.type)
            await self.ws.send(p.error(cmd.id, "internal", "The desk hit an unexpected error."))
            return
        await self.ws.send(p.ack(cmd.id, result))
        if cmd.type == "resume" and result.get("ticket_offered"):
            self.sink({"type": "ticket_offer", "text": TICKET_OFFER})

    async def _command(self, cmd: p.Command) -> dict[str, Any]:
        if cmd.type in ("join", "resume"):
            if self.chat_id is not None:
                raise DomainError("This connection already has a chat.", "already_joined")
            if cmd.type == "join":
                chat, token = await self.desk.join(cmd["name"], cmd["email"], cmd["question"], self.sink)
                self.chat_id = chat.id
                return {"chat_id": chat.id, "resume_token": token, "state": chat.state.value}
            chat, missed = await self.desk.resume(cmd["token"], cmd["last_message_id"] or 0, self.sink)
            self.chat_id = chat.id
            self.left = chat.state.value not in ("waiting", "active")
            return {"chat_id": chat.id, "state": chat.state.value, "messages": missed,
                    "ticket_offered": chat.ticket_offered and chat.patron_ticket_id is None,
                    "at": iso(chat.last_activity)}
        if self.chat_id is None:
            raise DomainError("Join the chat (or resume it) first.", "not_joined")
        if cmd.type == "message":
            message = await self.desk.patron_message(self.chat_id, cmd["text"])
            return {"message_id": message.id}
        if cmd.type == "leave":
            chat = await self.desk.patron_leaves(self.chat_id)
            self.left = True
            return {"state": chat.state.value}
        ticket = await self.desk.patron_ticket(self.chat_id, cmd["email"], cmd["details"])
        return {"ticket_id": ticket["id"]}


Handler = Callable[[DeskServer, Actor, p.Command, "tuple[str, str] | None"], Awaitable[dict[str, Any]]]


async def _accept(s: DeskServer, who: Actor, c: p.Command, idem: tuple[str, str] | None) -> dict[str, Any]:
    return await s.desk.accept(c["chat_id"], who, idem)


async def _send(s: DeskServer, who: Actor, c: p.Command, idem: tuple[str, str] | None) -> dict[str, Any]:
    return await s.desk.librarian_message(c["chat_id"], who, c["text"], idem)


async def _end(s: DeskServer, who: Actor, c: p.Command, idem: tuple[str, str] | None) -> dict[str, Any]:
    return await s.desk.end(c["chat_id"], who, idem)


async def _close(s: DeskServer, who: Actor, c: p.Command, idem: tuple[str, str] | None) -> dict[str, Any]:
    return await s.desk.close(c["chat_id"], who, idem)


async def _transcript(
    s: DeskServer, who: Actor, c: p.Command, idem: tuple[str, str] | None
) -> dict[str, Any]:
    return await s.desk.transcript(c["chat_id"])


LIBRARIAN_HANDLERS: dict[str, Handler] = {
    "accept": _accept,
    "send": _send,
    "end": _end,
    "close": _close,
    "transcript": _transcript,
    **afterchat.HANDLERS,
}
