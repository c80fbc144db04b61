"""The WebSocket server: `/librarian` and `/patron` over the desk service.

Thin I/O around `Desk`: decode a frame (protocol/), call the desk, send exactly one
`ack` or `error`. Librarian events are fanned out with `broadcast()`, encoded once.
Every limit comes from `Limits` (limits.py): the handshake refuses what is over a
per-address or total cap before a connection costs anything, and each patron
connection pays for its own frames (patron_connection.py), so a patron flood never
queues in front of a librarian's command.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import MultipleValuesError
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import protocol as p
from ..analytics import DEFAULT_DATASETS, Dataset
from ..domain import Actor, DomainError, librarian
from ..libanswers.push import PushWorker
from ..web.http import HttpGate, origin_allowed, static_response
from ..web.settings import WidgetSettings
from . import after_chat, blocks, canned, patron_info, team
from .desk import Desk, Idem
from .limits import Limits, LogThrottle, SlidingWindow, client_address, proxy_networks
from .patron_connection import PatronConnection, PatronLoad

#: The widget's pages per client address: this many at once, then this many a second (429).
HTTP_BURST = 200
HTTP_PER_SECOND = 20.0
log = logging.getLogger(__name__)

_DEFAULTS: Final = Limits()
# The defaults under their old names (tests and docs refer to them).
HELLO_TIMEOUT: Final = _DEFAULTS.hello_timeout
MAX_PATRONS_PER_ADDRESS: Final = _DEFAULTS.patron_connections_per_address
LOGIN_FAILURES_ALLOWED: Final = _DEFAULTS.login_failures_per_minute
WRITE_BUFFER_LIMIT: Final = _DEFAULTS.librarian_write_buffer
#: The most bytes read from one socket at a time. asyncio reads 256 KiB by default, and
#: websockets parses every frame in a read before it can pause the socket: 256 KiB of
#: tiny frames from one patron would hold the event loop for a tenth of a second.
READ_CHUNK: Final = 16 * 1024
#: Frames websockets may read ahead of the handler: none. It stops reading a socket as soon
#: as one frame waits for the handler (high water mark 0) and reads on once it is taken
#: (low 0), so a connection never holds more than the frame in hand, what one read of
#: READ_CHUNK completed, and a frame still arriving (64 KiB at most); the rest waits in
#: the kernel. (The default, 16 frames of up to 64 KiB, let each patron socket hold 4 MiB.)
MAX_QUEUE: Final = (0, 0)
#: Unsent bytes above which a handler's `send()` waits (asyncio's write buffer high mark).
WRITE_LIMIT: Final = 32 * 1024
_CLIENT_ID_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class _Connection(ServerConnection):
    """A server connection that reads its socket in small chunks (see READ_CHUNK) and, once
    its handler asks (`on_read`), says after every read what it holds."""

    on_read: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if hasattr(transport, "max_size"):  # asyncio's selector transports
            transport.max_size = READ_CHUNK
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.on_read is not None:
            self.on_read()


class LibrarianConnection:
    """One console on `/librarian`: who it is and whether it is still catching up."""

    def __init__(self, ws: ServerConnection, who: Actor) -> None:
        self.ws = ws
        self.who = who
        self.backlog: list[tuple[int, str]] | None = []  # None once synced
        self.upto = 0  # the last event seq this console has been sent
        self.presence = "online"  # or "away": said in `hello` and `presence`


class DeskServer:
    """Routes connections and frames to the desk."""

    def __init__(self, desk: Desk, *, token: str, datasets: dict[str, Dataset] | None = None,
                 allowed_origins: frozenset[str] = frozenset(),
                 widget: WidgetSettings | None = None, limits: Limits | None = None) -> None:
        self.desk = desk
        self.widget = widget or WidgetSettings()
        #: The LibAnswers push worker, when the desk has one (set by the runtime).
        self.pusher: PushWorker | None = None
        self.token = token
        self.dataset_models = dict(DEFAULT_DATASETS if datasets is None else datasets)
        self.datasets = {name: d.to_wire() for name, d in self.dataset_models.items()}
        self.allowed_origins = allowed_origins
        self.librarians: set[LibrarianConnection] = set()
        self.team_roster: list[dict[str, Any]] = []  # as the last `team` event said
        self.transfer_timers = team.TransferTimers(desk)
        self.shutting_down = False
        self.patron_count = 0
        self._patrons_by_address: dict[str, int] = defaultdict(int)
        self._server: Server | None = None
        self.limits = limits or Limits()
        desk.listeners.append(self._on_events)

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        """Set the limits (before `start`); every counter starts afresh."""
        self._limits = limits
        self._proxies = proxy_networks(limits.trusted_proxies)
        self._login_failures = SlidingWindow(limits.login_failures_per_minute, 60.0)
        self._connects = SlidingWindow(limits.patron_connects_per_minute, 60.0)
        self.new_chats_by_address = SlidingWindow(limits.new_chats_per_address, limits.new_chats_window)
        self.new_chats_by_client = SlidingWindow(limits.new_chats_per_client, limits.new_chats_window)
        self._quiet = LogThrottle(limits.log_interval)
        #: Plain HTTP (the widget's pages): header bounds and a request rate per address, as
        #: loose as a campus behind one NAT address needs (many patrons opening the page).
        self.http_gate = HttpGate(per_second=HTTP_PER_SECOND, burst=HTTP_BURST)

    async def start(self, host: str, port: int) -> Server:
        self.patron_load = PatronLoad(self, self.limits)
        self._server = await serve(
            self._handle, host, port,
            process_request=self._check_request, create_connection=_Connection,
            max_size=p.MAX_FRAME_BYTES, compression=None, ping_interval=20, ping_timeout=20,
            close_timeout=5, max_queue=MAX_QUEUE, write_limit=WRITE_LIMIT,
            open_timeout=self.limits.handshake_timeout,
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
            await self.patron_load.lost_worked_off()

    # --- handshake -------------------------------------------------------------------

    def client_address(self, connection: ServerConnection) -> str:
        """The address per-address limits count (see `limits.client_address`)."""
        remote = connection.remote_address
        peer = str(remote[0]) if remote else "?"
        request = connection.request
        header = self.limits.proxy_header
        forwarded = request.headers.get_all(header) if request is not None and self._proxies else []
        return client_address(peer, forwarded, self._proxies, header)

    @staticmethod
    def client_id(connection: ServerConnection) -> str | None:
        """The browser's id from `/patron?client=...`, if it gave a usable one."""
        request = connection.request
        if request is None or "?" not in request.path:
            return None
        values = parse_qs(request.path.split("?", 1)[1]).get("client", [])
        value = values[0] if len(values) == 1 else ""
        return value if 8 <= len(value) <= 64 and set(value) <= _CLIENT_ID_CHARS else None

    def warn(self, kind: str, address: str, message: str, *args: object) -> None:
        """Log a warning about `address`, at most once per `log_interval` for each kind."""
        held = self._quiet.allow(f"{kind} {address}")
        if held is None:
            return
        suffix = f" ({held} more since the last line)" if held else ""
        log.warning(message + "%s", *args, suffix)

    async def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        address = self.client_address(connection)
        try:
            return await self._route_request(connection, request, address)
        except MultipleValuesError as exc:  # a header that may appear once appeared twice
            self.warn("bad-request", address, "bad request from %s: header %s appears more than once",
                      address, exc)
            return connection.respond(http.HTTPStatus.BAD_REQUEST, "Bad request.\n")

    async def _route_request(self, connection: ServerConnection, request: Request,
                             address: str) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/patron":
            return self._check_patron(connection, request, address)
        if path != "/librarian":
            static = static_response(connection, request, self.widget, gate=self.http_gate, address=address)
            return static or connection.respond(http.HTTPStatus.NOT_FOUND, "Not found.\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.allowed_origins:
            return connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden.\n")
        authorization = request.headers.get("Authorization", "")
        if self._login_failures.full(address):
            self.warn("login-refused", address, "librarian logins from %s refused for a minute: "
                      "%d failures", address, self.limits.login_failures_per_minute)
            return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "Too many attempts.\n")
        if not self._token_ok(authorization):
            self._login_failures.add(address)
            at = datetime.now(UTC).isoformat(timespec="seconds")
            self.warn("login", address, "failed librarian login from %s at %s", address, at)
            await asyncio.sleep(0.05 * self._login_failures.hits(address))
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized.\n")
        return None

    def _check_patron(self, connection: ServerConnection, request: Request, address: str) -> Response | None:
        limits = self.limits
        if not origin_allowed(request.headers.get("Origin"), request.headers.get("Host"), self.widget):
            return connection.respond(http.HTTPStatus.FORBIDDEN, "This page may not use the chat.\n")
        if self.patron_count >= limits.patron_connections_total:
            self.warn("busy", "*", "patron connections at the limit (%d); refusing with 503",
                      limits.patron_connections_total)
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE,
                                      "The chat is busy; please try again in a minute.\n")
        if self._patrons_by_address[address] >= limits.patron_connections_per_address:
            self.warn("connections", address, "patron connections from %s at the limit (%d); refusing "
                      "with 429", address, limits.patron_connections_per_address)
            return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "Too many connections.\n")
        if self._connects.full(address):
            self.warn("connects", address, "new patron connections from %s over %d a minute; refusing "
                      "with 429", address, limits.patron_connects_per_minute)
            return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "Too many connections.\n")
        self._connects.add(address)
        return None

    def _token_ok(self, given: str) -> bool:
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
        """Fan a published batch out: encoded once, one `broadcast()` per frame."""
        if not frames:
            return
        first, last = frames[0][0], frames[-1][0]
        live = []
        for conn in list(self.librarians):
            if conn.backlog is not None:
                conn.backlog.extend(frames)
            elif conn.ws.transport.get_write_buffer_size() > self.limits.librarian_write_buffer:
                log.warning("librarian %s is too far behind; disconnecting", conn.who.name)
                conn.ws.transport.abort()
            elif conn.upto < first:
                live.append(conn.ws)
                conn.upto = last
            else:  # just synced from a replay that already had some of these
                for seq, frame in frames:
                    if seq > conn.upto:
                        broadcast([conn.ws], frame)
                        conn.upto = seq
        if live:
            for _seq, frame in frames:
                broadcast(live, frame)

    def broadcast_signal(self, frame: p.Frame) -> None:
        """An ephemeral frame (no seq) to every synced librarian."""
        broadcast([c.ws for c in self.librarians if c.backlog is None], p.encode(frame))

    async def _librarian(self, ws: ServerConnection) -> None:
        try:
            raw = await asyncio.wait_for(ws.recv(), self.limits.hello_timeout)
        except TimeoutError:
            await ws.close(4002, "hello required")
            return
        try:
            hello = p.decode_librarian(raw)
        except p.ProtocolError as exc:
            await ws.send(p.error(exc.command_id, exc.code, exc.message))
            await ws.close(4002, "hello required")
            return
        if not isinstance(hello, p.Hello):
            await ws.send(p.error(p.command_id(hello), "hello_required", "The first frame must be 'hello'."))
            await ws.close(4002, "hello required")
            return
        if hello.protocol != p.PROTOCOL_VERSION:
            version = f"This desk speaks protocol {p.PROTOCOL_VERSION}, not {hello.protocol}."
            await ws.send(p.error(hello.id, "protocol_version", version))
            await ws.close(4001, "unsupported protocol version")
            return
        conn = LibrarianConnection(ws, librarian(hello.librarian_id, hello.name))
        conn.presence = hello.presence
        self.librarians.add(conn)
        try:
            roster, canned_list = team.roster_with(self, conn), self.desk.canned  # as `hello` says
            with self.patron_load.librarian_at_work():
                await self._sync(conn, hello)
            # `team` and `canned` are unsequenced: one sent while this console caught up
            # passed it by. Send what changed since its `hello` ack, to it alone.
            if team.roster(self) != roster:
                await conn.ws.send(p.encode(p.TeamEvent(team.roster(self))))
            if self.desk.canned is not canned_list:
                await conn.ws.send(p.encode(p.CannedEvent(self.desk.canned)))
            team.announce(self)
            async for raw in ws:
                with self.patron_load.librarian_at_work():  # no patron work starts meanwhile
                    await self._librarian_frame(conn, raw)
        finally:
            self.librarians.discard(conn)
            team.announce(self)

    async def _sync(self, conn: LibrarianConnection, hello: p.Hello) -> None:
        """Replay from `since` (or send a snapshot), then the backlog, then `synced`.

        Every frame goes out once: `conn.upto` is the last seq this console has, and the
        live fan-out skips anything at or below it (the replay read from the store can
        include events committed but not yet published when it ran).
        """
        since = hello.since
        last = self.desk.store.last_seq
        mode: Literal["replay", "snapshot"] = (
            "replay" if since is not None and 0 <= since <= last else "snapshot")
        pusher = self.pusher
        result = {"protocol": p.PROTOCOL_VERSION, "seq": last, "mode": mode,
                  "grace_seconds": self.desk.grace_seconds, "datasets": self.datasets,
                  "librarian_id": conn.who.id,
                  "libanswers": None if pusher is None else {"problem": pusher.problem}}
        for feature in (team, canned, blocks, patron_info):
            result.update(feature.hello_fields(self, conn))
        if mode == "snapshot":
            seq, chats = self.desk.snapshot()
            await conn.ws.send(p.ack(hello.id, result))
            pages = p.pages(chats)  # a busy desk's snapshot never outgrows one frame
            for number, page in enumerate(pages, 1):
                await conn.ws.send(p.encode(p.Snapshot(seq, page, more=number < len(pages))))
            conn.upto = seq
        else:
            assert since is not None
            await conn.ws.send(p.ack(hello.id, result))
            conn.upto = since
            for seq, frame in await self.desk.events_since(since):
                await conn.ws.send(frame)
                conn.upto = seq
        while conn.backlog:
            pending, conn.backlog = conn.backlog, []
            for seq, frame in pending:
                if seq > conn.upto:
                    await conn.ws.send(frame)
                    conn.upto = seq
        conn.backlog = None
        await conn.ws.send(p.encode(p.Synced(conn.upto, mode)))

    async def _librarian_frame(self, conn: LibrarianConnection, raw: str | bytes) -> None:
        try:
            cmd = p.decode_librarian(raw)
        except p.ProtocolError as exc:
            await conn.ws.send(p.error(exc.command_id, exc.code, exc.message))
            return
        if isinstance(cmd, p.LibrarianTyping):
            self.desk.typing(cmd.chat_id, conn.who)
            return
        if isinstance(cmd, p.Hello):
            await conn.ws.send(p.error(cmd.id, "invalid_field", "Already said hello."))
            return
        idem = (conn.who.id, cmd.id) if isinstance(cmd, p.MUTATING) else None
        try:
            if idem is not None and cmd.retry:
                stored = await self.desk.stored_result(*idem)
                if stored is not None:
                    await conn.ws.send(p.ack(cmd.id, stored))
                    return
            result = await LIBRARIAN_HANDLERS[type(cmd)](self, conn.who, cmd, idem)
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
        address = self.client_address(ws)
        self._patrons_by_address[address] += 1
        self.patron_count += 1
        connection = PatronConnection(self, ws, self.patron_load, address, self.client_id(ws))
        if isinstance(ws, _Connection):
            ws.on_read = connection.account
        try:
            await connection.run()
        finally:
            if isinstance(ws, _Connection):
                ws.on_read = None
            self.patron_count -= 1
            self._patrons_by_address[address] -= 1
            if self._patrons_by_address[address] <= 0:
                del self._patrons_by_address[address]
            self.patron_load.lost(connection)  # its chat starts its reconnect timer, in a batch

    def librarians_online(self, department: str) -> int:
        """Librarians online (a synced console, not away) who monitor `department`: the patron
        side asks before joining, and offers the offline form when nobody would answer."""
        return team.online_for(self, department)



Handler = Callable[[DeskServer, Actor, Any, Idem], Awaitable[dict[str, Any]]]


async def _accept(s: DeskServer, who: Actor, c: p.Accept, idem: Idem) -> dict[str, Any]:
    team.check_monitored(s.desk, s.desk.get(c.chat_id), who.id)
    return await s.desk.accept(c.chat_id, who, idem)


async def _send(s: DeskServer, who: Actor, c: p.Send, idem: Idem) -> dict[str, Any]:
    return await s.desk.librarian_message(c.chat_id, who, c.text, idem)


async def _end(s: DeskServer, who: Actor, c: p.End, idem: Idem) -> dict[str, Any]:
    return await s.desk.end(c.chat_id, who, idem)


async def _close(s: DeskServer, who: Actor, c: p.Close, idem: Idem) -> dict[str, Any]:
    return await s.desk.close(c.chat_id, who, idem)


async def _transcript(s: DeskServer, who: Actor, c: p.Transcript, idem: Idem) -> dict[str, Any]:
    return await s.desk.transcript(c.chat_id)


#: Command class -> handler.
LIBRARIAN_HANDLERS: dict[type[Any], Handler] = {
    p.Accept: _accept,
    p.Send: _send,
    p.End: _end,
    p.Close: _close,
    p.Transcript: _transcript,
    **after_chat.HANDLERS,
    **team.HANDLERS,
    **canned.HANDLERS,
    **blocks.HANDLERS,
    **patron_info.HANDLERS,
}
