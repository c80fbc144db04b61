"""One patron's WebSocket on `/patron`: at most one chat, rate-limited, exactly-once.

Thin I/O around `patrons.py`: decode a frame (protocol/), call the desk, send exactly
one `ack` or `error`. Commands a patron client may resend after a lost connection are
keyed by chat and command id, so a retry is answered with the first ack, never applied
twice.

Every frame is paid for before it is decoded (frames and bytes per connection, from
`Limits`): a connection over its rate is simply not read until it has earned the next
frame, so TCP slows the sender and a flood costs the desk almost nothing. A connection
that keeps sending invalid frames, or never says `status`, `join` or `resume`, is
closed with 1008; new chats are counted per address and per browser.

What patrons hold in the desk is bounded too. websockets hands over one frame at a
time and stops reading a socket while a frame waits (`max_queue`, server.py); the
kernel keeps at most `PATRON_SOCKET_BUFFER` unread for a patron socket; `PatronLoad`
counts what every patron connection holds (the frame being answered, frames read and
not yet handed over, a frame still arriving, replies not yet sent) and, over
`patron_memory_total`, closes the connections holding the most with 1013. A connection
waiting for its allowance whose patron has gone is dropped at once. Patron commands
share `patron_commands_at_once` slots, so a librarian's command never queues behind
more patron work than that, however many patrons there are. Nor behind a mass
disconnect: the chats of dropped connections move to `reconnecting` in batches of
`LOST_BATCH` (one store transaction each), between librarians' commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import select
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import State

from .. import protocol as p
from ..domain import DomainError, iso, patron_can_talk
from ..protocol.frames import MAX_JSON_DEPTH
from . import blocks, patrons
from .desk import TICKET_OFFER, Idem
from .limits import Holdings, Limits, SlidingWindow, TokenBucket

if TYPE_CHECKING:
    from .server import DeskServer

log = logging.getLogger(__name__)

TOO_MANY_CHATS: Final = ("Too many new chats from your network; please wait a few minutes "
                         "or call the library.")
TOO_MANY_CHATS_HERE: Final = ("Too many new chats from this browser; please wait a few minutes "
                              "or call the library.")
QUEUE_FULL: Final = ("So many people are waiting for a librarian right now that we cannot take another "
                     "chat. Please leave your question and the library will answer by e-mail.")
#: The commands that show a connection is a patron's, not an idle socket.
_INTRODUCTIONS: Final = (p.Status, p.Join, p.Resume, p.OfflineTicket)
#: The kernel's receive buffer for a patron socket (Linux doubles it for its bookkeeping):
#: what a patron sends beyond it waits on the patron's side. Room for a largest frame.
PATRON_SOCKET_BUFFER: Final = 64 * 1024
#: How a connection is closed when all patrons together hold more than `patron_memory_total`.
SHED_CODE: Final = CloseCode.TRY_AGAIN_LATER  # 1013
SHED_REASON: Final = "desk overloaded; try again later"
#: Patrons' dropped connections whose chats are moved to `reconnecting` together: their
#: writes share one store transaction, and a librarian's command waits behind one such
#: batch at most (thousands of sockets cut at once used to be worked off in one burst).
LOST_BATCH: Final = 50


def _size(amount: int) -> str:
    return f"{amount / 1024 / 1024:.1f} MiB" if amount >= 1024 * 1024 else f"{amount / 1024:.0f} KiB"


class PatronLoad:
    """What all patron connections of one desk server hold, and how much they do at once."""

    def __init__(self, server: DeskServer, limits: Limits) -> None:
        self.server = server
        self.held: Holdings[PatronConnection] = Holdings(limits.patron_memory_total)
        #: Patron commands at work at once (status and typing need none).
        self.slots = asyncio.Semaphore(limits.patron_commands_at_once)
        self.shed = 0  # connections closed for the budget, since start
        self._numbers = itertools.count(1)
        self._librarians_at_work = 0
        #: Clear while a librarian's command is at work: no patron command starts meanwhile.
        self.patrons_may_start = asyncio.Event()
        self.patrons_may_start.set()
        #: Closed connections whose chats still have to start their reconnect timers.
        self._lost: deque[PatronConnection] = deque()
        self._lost_worker: asyncio.Task[None] | None = None

    def lost(self, connection: PatronConnection) -> None:
        """`connection` closed: its chat starts its reconnect timer soon, in a batch (`LOST_BATCH`)."""
        if connection.chat_id is None or connection.left:
            return
        self._lost.append(connection)
        if self._lost_worker is None or self._lost_worker.done():
            self._lost_worker = asyncio.create_task(self._work_off_lost())

    async def _work_off_lost(self) -> None:
        """A batch at a time, each when no librarian's command is at work, yielding between.

        What fails is said in one line per batch, not one per socket (a store that cannot
        write would otherwise log thousands of lines when thousands of sockets drop).
        """
        while self._lost:
            await asyncio.sleep(0)  # let whatever else is ready run first (a librarian's frame)
            await self.patrons_may_start.wait()
            batch = [self._lost.popleft() for _ in range(min(LOST_BATCH, len(self._lost)))]
            results = await asyncio.gather(*(c.closed() for c in batch), return_exceptions=True)
            failed = [(c, r) for c, r in zip(batch, results, strict=True) if isinstance(r, BaseException)]
            if not failed:
                continue
            chat, first = failed[0][0].chat_id, failed[0][1]
            if isinstance(first, DomainError):  # the store could not save them: no traceback
                if self.server.desk.store.lost is None:  # else the store has already said why
                    log.warning("the disconnects of %d patrons were not saved (chat %s: %s)", len(failed),
                                chat, first)
            else:
                log.error("the disconnects of %d patrons failed (chat %s)", len(failed), chat, exc_info=first)

    async def lost_worked_off(self) -> None:
        """Wait until every closed connection's chat has been seen to (the desk is stopping)."""
        if self._lost_worker is not None:
            await self._lost_worker

    @contextmanager
    def librarian_at_work(self) -> Iterator[None]:
        """Around a librarian's command: patron commands already started finish, no new
        one starts, so the command waits behind `patron_commands_at_once` of them at most."""
        self._librarians_at_work += 1
        self.patrons_may_start.clear()
        try:
            yield
        finally:
            self._librarians_at_work -= 1
            if not self._librarians_at_work:
                self.patrons_may_start.set()

    def number(self) -> int:
        """A new connection's rank: the newest has the highest."""
        return next(self._numbers)

    def hold(self, connection: PatronConnection, amount: int) -> None:
        """`connection` now holds `amount` bytes; over budget, shed the greediest."""
        self.held.set(connection, amount)
        if not self.held.over():
            return
        total = self.held.total
        victims = self.held.greediest(lambda c: c.number)
        for victim in victims:
            self.held.set(victim, 0)
            victim.shed()
        self.shed += len(victims)
        addresses = sorted({v.address for v in victims})
        self.server.warn("shed", "*", "shedding load: patron connections held %s, over patron_memory_total "
                         "(%s); closed %d of them with 1013, the greediest first (from %s)", _size(total),
                         _size(self.held.budget), len(victims),
                         ", ".join(addresses[:5]) + (" and others" if len(addresses) > 5 else ""))


def _limit_receive_buffer(ws: ServerConnection) -> None:
    sock = ws.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PATRON_SOCKET_BUFFER)


def _peer_gone(ws: ServerConnection) -> bool:
    """Has the patron's end of the TCP connection closed (FIN or reset)?

    Asked of a connection that is not being read, which cannot see its end-of-file: data
    it sent before leaving would otherwise be read, paid for and answered, slowly, for
    nobody. Linux only (POLLRDHUP); elsewhere the answer is always no.
    """
    if ws.transport.is_closing():
        return True
    rdhup = getattr(select, "POLLRDHUP", None)
    sock = ws.transport.get_extra_info("socket")
    if rdhup is None or sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), rdhup)
    return bool(poller.poll(0))


def newest_that_fit(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The newest lines whose JSON fits `LIST_BUDGET_BYTES`, and `omitted` (earlier ones left out)."""
    kept, left_out = p.fit(messages[::-1])
    kept.reverse()
    return kept, {"messages": left_out}


class PatronConnection:
    """One patron connection: at most one chat, every frame paid for."""

    def __init__(self, server: DeskServer, ws: ServerConnection, load: PatronLoad, address: str = "?",
                 client: str | None = None) -> None:
        self.server = server
        self.desk = server.desk
        self.ws = ws
        self.load = load
        self.number = load.number()
        self.address = address
        self.client = client
        self.chat_id: int | None = None
        self.left = False
        self.introduced = False
        self.invalid_frames = 0
        limits = server.limits
        self.limits = limits
        self._frames = TokenBucket(limits.patron_frames_per_second, limits.patron_frame_burst)
        self._bytes = TokenBucket(limits.patron_bytes_per_second, limits.patron_byte_burst)
        self._commands = TokenBucket(limits.patron_commands_per_second, limits.patron_command_burst)
        self._last_typing = 0.0
        self._in_hand = 0  # the length of the frame being paid for or answered
        self._shed = False
        self._stop = asyncio.Event()  # set when shed: ends a wait for the allowance
        _limit_receive_buffer(ws)

    def held(self) -> int:
        """Bytes this connection holds in the desk now.

        The frame in hand, the frames websockets has read but not handed over, the frame
        still arriving and the replies not yet sent. (websockets' assembler queue and
        reader buffer are read directly: its API has no figure for them.)
        """
        ws = self.ws
        queued = sum(len(frame.data) for frame in ws.recv_messages.frames.queue)
        return self._in_hand + queued + len(ws.protocol.reader.buffer) + ws.transport.get_write_buffer_size()

    def account(self) -> None:
        """Tell the desk's `PatronLoad` what this connection holds (after every read and reply)."""
        if not self._shed:
            self.load.hold(self, self.held())

    def shed(self) -> None:
        """Close with 1013 at once (the patrons hold too much): from any callback, no await.

        The close frame goes out, whatever the patron sends from now on is read and
        dropped, and the frame arriving is dropped with it; the handler stops at its
        next step.
        """
        self._shed = True
        self._stop.set()
        ws = self.ws
        if ws.protocol.state is State.OPEN:
            ws.protocol.fail(SHED_CODE, SHED_REASON)
            ws.send_data()
            ws.transport.resume_reading()  # to read (and drop) the rest, and the EOF

    def sink(self, frame: p.Frame) -> None:
        broadcast([self.ws], p.encode(frame))
        if isinstance(frame, p.Resumed):  # the chat continues on another connection, not here
            self.chat_id = None
            self.left = True
        self.account()

    async def run(self) -> None:
        """Read, pay for and answer frames until the socket closes (or is closed)."""
        deadline = asyncio.get_running_loop().time() + self.limits.join_timeout
        try:
            while not self._shed:
                try:  # (until introduced, the deadline holds however many typing signals come)
                    async with asyncio.timeout_at(None if self.introduced else deadline):
                        raw = await self.ws.recv()
                        self._in_hand = len(raw)
                        self.account()
                        wait = max(self._frames.reserve(1), self._bytes.reserve(len(raw)))
                        # Not read until earned: the sender's TCP window fills instead.
                        if wait > 0 and not await self._earn(wait):
                            break
                except TimeoutError:
                    self.server.warn("idle", self.address, "closed a patron connection from %s: no status, "
                                     "join or resume within %g s", self.address, self.limits.join_timeout)
                    await self.fail("join required")
                    return
                except ConnectionClosed:
                    return
                if self._shed or not await self.frame(raw):
                    break
                self._in_hand = 0
                self.account()
        finally:
            self._in_hand = 0
            self.load.held.set(self, 0)
        if self._shed:
            await self._closing()

    async def _earn(self, wait: float) -> bool:
        """Wait `wait` seconds for the next frame's allowance; False if the connection ends."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._stop.wait()
        if self._shed:
            return False
        if _peer_gone(self.ws):  # whatever else it sent is for nobody
            self.ws.transport.abort()
            return False
        return True

    async def _closing(self) -> None:
        """After `shed`: wait (close_timeout at most) for the patron to close, then drop it."""
        with contextlib.suppress(ConnectionClosed):
            async with self.ws.send_context():
                pass

    async def fail(self, reason: str) -> None:
        """Close with 1008 and discard whatever the patron sent meanwhile, unread.

        A graceful close would parse every queued frame looking for the patron's close
        frame; a flood can queue megabytes of them in the socket buffers.
        """
        try:
            async with self.ws.send_context():
                self.ws.protocol.fail(CloseCode.POLICY_VIOLATION, reason)
                self.ws.transport.resume_reading()  # to read the rest (discarded) and the EOF
        except ConnectionClosed:
            pass

    async def frame(self, raw: str | bytes) -> bool:
        """Answer one frame; False if the connection was closed for it."""
        cmd_id: str | None = None
        try:
            cmd = p.decode_patron(raw)
        except p.ProtocolError as exc:
            self.invalid_frames += 1
            if exc.code == "too_deep":
                self.server.warn("too-deep", self.address, "refused a patron frame from %s: nested deeper "
                                 "than %d levels", self.address, MAX_JSON_DEPTH)
            if self.invalid_frames >= self.limits.patron_invalid_frames:
                self.server.warn("invalid", self.address, "closed a patron connection from %s: %d invalid "
                                 "frames", self.address, self.invalid_frames)
                await self.fail("too many invalid frames")
                return False
            await self.ws.send(p.error(exc.command_id, exc.code, exc.message))
            return True
        try:
            if isinstance(cmd, p.PatronTyping):  # at most a few per second reach the librarians
                now = time.monotonic()
                chat = None if self.chat_id is None else self.desk.chats.get(self.chat_id)
                if chat is not None and patron_can_talk(chat.state) and \
                        now - self._last_typing > self.limits.typing_interval:
                    self._last_typing = now
                    self.server.broadcast_signal(p.TypingEvent(chat.id, "patron"))
                return True
            cmd_id = cmd.id
            if isinstance(cmd, _INTRODUCTIONS):
                self.introduced = True
            if not self._commands.take():
                raise p.ProtocolError("rate_limited", "You are sending too fast; please wait a moment.",
                                      cmd_id)
            if isinstance(cmd, p.Status):  # asks nothing of the store: no slot needed
                result = await self._command(cmd)
            else:
                async with self.load.slots:
                    await self.load.patrons_may_start.wait()
                    if self._shed:
                        return False
                    result = await self._command(cmd)
        except p.ProtocolError as exc:
            await self.ws.send(p.error(exc.command_id, exc.code, exc.message))
            return True
        except DomainError as exc:
            await self.ws.send(p.error(cmd_id, exc.code, exc.message))
            return True
        except Exception:
            log.exception("patron command failed")
            await self.ws.send(p.error(cmd_id, "internal", "The desk hit an unexpected error."))
            return True
        await self.ws.send(p.ack(cmd_id, result))
        if isinstance(cmd, p.Resume) and result.get("ticket_offered"):
            self.sink(p.TicketOffer(TICKET_OFFER))
        return True

    @contextmanager
    def _new_chat(self, client_id: str | None = None) -> Iterator[None]:
        """Count one new chat against this address and browser (the `client` the connection
        named and the `client_id` the command said, each once, in any case); refuse if over."""
        counted: list[tuple[SlidingWindow, str, str]] = [
            (self.server.new_chats_by_address, self.address, TOO_MANY_CHATS)]
        browsers = {key for key in (blocks.browser_key(self.client), blocks.browser_key(client_id)) if key}
        for browser in sorted(browsers):
            counted.append((self.server.new_chats_by_client, browser, TOO_MANY_CHATS_HERE))
        for window, key, message in counted:
            if window.full(key):
                self.server.warn("new-chats", self.address, "refused a new chat from %s: over %d new chats "
                                 "in %g s", self.address, window.count, window.window)
                raise DomainError(message, "rate_limited")
        stamps = [(window, key, window.add(key)) for window, key, _ in counted]
        try:
            yield
        except BaseException:  # no chat was made: it does not count
            for window, key, at in stamps:
                window.remove(key, at)
            raise

    async def _command(self, cmd: p.Command) -> dict[str, Any]:
        if isinstance(cmd, p.Status):  # per department: who would answer a chat there
            department = patrons.department(self.desk, cmd.department)
            return {"librarians_online": self.server.librarians_online(department), "department": department}
        if isinstance(cmd, p.OfflineTicket):
            blocks.at_the_door(self.server, self.address, (self.client,))
            with self._new_chat():
                ticket = await patrons.offline_ticket(self.desk, cmd.name, cmd.email, cmd.question, cmd.page)
            return {"ticket_id": ticket["id"]}
        if isinstance(cmd, p.Join | p.Resume):
            if self.chat_id is not None:
                raise DomainError("This connection already has a chat.", "already_joined")
            return await (self._join(cmd) if isinstance(cmd, p.Join) else self._resume(cmd))
        if self.chat_id is None:
            raise DomainError("Join the chat (or resume it) first.", "not_joined")
        handler, ack = _HANDLERS[type(cmd)]
        idem = patrons.idem_key(self.chat_id, cmd.id) if isinstance(cmd, p.PATRON_IDEMPOTENT) else None
        if idem is not None and cmd.retry:
            stored = await self.desk.stored_result(*idem)
            if stored is not None:  # applied before: the same ack as then, from what was stored
                return ack(stored)
        return ack(await handler(self, cmd, idem))

    async def _join(self, cmd: p.Join) -> dict[str, Any]:
        blocks.at_the_door(self.server, self.address, (cmd.client_id, self.client))
        if self.server.widget.require_email and not cmd.email:
            raise DomainError("Please give your e-mail address: this library answers by e-mail too.",
                              "email_required")
        if len(self.desk.waiting) >= self.server.limits.waiting_chats_total:
            self.server.warn("queue-full", self.address, "refused a new chat from %s: %d chats already "
                             "wait (waiting_chats_total)", self.address, len(self.desk.waiting))
            raise DomainError(QUEUE_FULL, "queue_full")
        with self._new_chat(cmd.client_id):
            chat, token = await patrons.join(self.desk, cmd.name, cmd.email, cmd.question, page=cmd.page,
                                             sink=self.sink, department_name=cmd.department,
                                             browser=cmd.browser,
                                             origin=(self.address, cmd.client_id or self.client))
        self.chat_id = chat.id
        return {"chat_id": patrons.chat_ref(token), "resume_token": token, "state": chat.state.value,
                "position": self.desk.waiting.position(chat.id)}

    async def _resume(self, cmd: p.Resume) -> dict[str, Any]:
        chat, missed = await patrons.resume(self.desk, cmd.token, cmd.last_message_id or 0, self.sink)
        self.chat_id = chat.id
        self.left = chat.state.value not in ("waiting", "active")
        kept, omitted = newest_that_fit(missed)  # the ack stays well inside one frame
        return {"chat_id": patrons.chat_ref(cmd.token), "state": chat.state.value, "messages": kept,
                "omitted": omitted,
                "ticket_offered": chat.ticket_offered and chat.patron_ticket_id is None,
                "at": iso(chat.last_activity), "ended_at": iso(chat.ended_at),
                "librarian": chat.owner.name if chat.owner else None,
                "position": self.desk.waiting.position(chat.id)}

    async def _message(self, cmd: p.PatronMessage, idem: Idem) -> dict[str, Any]:
        assert self.chat_id is not None
        return await patrons.message(self.desk, self.chat_id, cmd.text, idem)

    async def _leave(self, cmd: p.Leave, idem: Idem) -> dict[str, Any]:
        assert self.chat_id is not None
        result = await patrons.leave(self.desk, self.chat_id, idem)
        self.left = True
        return result

    async def _ticket(self, cmd: p.PatronTicket, idem: Idem) -> dict[str, Any]:
        assert self.chat_id is not None
        return await patrons.accept_ticket_offer(self.desk, self.chat_id, cmd.email, cmd.details, idem)

    async def _transcript(self, cmd: p.PatronTranscript, idem: Idem) -> dict[str, Any]:
        assert self.chat_id is not None
        result = await patrons.transcript(self.desk, self.chat_id)
        result["messages"], result["omitted"] = newest_that_fit(result["messages"])
        return result

    async def _rate(self, cmd: p.Rate, idem: Idem) -> dict[str, Any]:
        assert self.chat_id is not None
        return await patrons.rate(self.desk, self.chat_id, cmd.stars, cmd.comment, idem)

    async def closed(self) -> None:
        """The socket closed: without `leave`, a live chat starts its reconnect timer.

        A store that cannot save it raises `DomainError`; `PatronLoad` says so once per batch.
        """
        if self.chat_id is not None and not self.left and not self.server.shutting_down:
            await patrons.connection_lost(self.desk, self.chat_id, self.sink)


_Handler = Callable[[PatronConnection, Any, Idem], Awaitable[dict[str, Any]]]
_Ack = Callable[[dict[str, Any]], dict[str, Any]]


def _same(result: dict[str, Any]) -> dict[str, Any]:
    return result


#: Command class -> (handler returning the desk's result, what the patron is told of it). A
#: retry of an applied command gets the same ack, built from the result the desk stored.
_HANDLERS: dict[type[Any], tuple[_Handler, _Ack]] = {
    # (`number`: the line's number in the chat; results stored before numbering lack it)
    p.PatronMessage: (PatronConnection._message,
                      lambda r: {"message_id": r.get("number", r["message"]["id"]),
                                 "at": r["message"]["at"]}),
    p.Leave: (PatronConnection._leave, lambda r: {"state": r["chat"]["state"], "at": r["chat"]["ended_at"]}),
    p.PatronTicket: (PatronConnection._ticket, lambda r: {"ticket_id": r["ticket"]["id"]}),
    p.PatronTranscript: (PatronConnection._transcript, _same),
    p.Rate: (PatronConnection._rate, _same),
}
