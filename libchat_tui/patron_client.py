"""A patron's side of the desk: an asyncio client for the `/patron` endpoint.

Used by the patron simulator, `libchat-tui patron` and tests. One `PatronSession` is one
chat; it survives dropped connections (`resume()` opens a new socket with the stored
resume token). The bookkeeping is the shared sans-I/O `CommandSession`: a command whose
reply was lost stays pending, and `resume()` sends it again with the same id and
`retry`, so the desk stores a message once however often the connection drops. Events
arrive as typed frames (protocol/) on `events`, or through `async for`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any, Final

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from . import protocol as p
from .domain import patron_can_talk
from .files import write_atomic
from .session import CommandError, CommandSession, Pending

log = logging.getLogger(__name__)

#: `PatronError` is the patron side's name for a refused command.
PatronError = CommandError


class ConnectionClosedEvent(msgspec.Struct, frozen=True):
    """Put on `events` (never sent by the desk) when the socket closes unasked."""

    code: int | None = None
    reason: str = ""


class _End(msgspec.Struct, frozen=True):
    """Marks the end of the event stream."""


Event = p.PatronEvent | ConnectionClosedEvent
_END: Final = _End()


class ConnectionLost(CommandError):
    """No connection: the desk could not be reached or the socket closed mid-command."""

    def __init__(self, message: str, code: str = "connection_lost") -> None:
        super().__init__(code, message)


def patron_endpoint(url: str) -> str:
    """`ws://host:port` (or `.../patron`) -> the `/patron` endpoint URL."""
    url = url.rstrip("/")
    return url if url.endswith("/patron") else f"{url}/patron"


class PatronSession:
    """One patron's chat over `/patron`: join, talk, leave, or drop and resume."""

    def __init__(self, url: str, *, timeout: float = 10.0, resume_file: Path | None = None) -> None:
        self.url = patron_endpoint(url)
        self.timeout = timeout
        self.resume_file = resume_file
        self.name: str | None = None
        self.email: str | None = None
        self.chat_id: str | None = None  # the chat's opaque reference (not the desk's id)
        self.resume_token: str | None = None
        self.last_message_id = 0
        self.state: str | None = None
        self.position: int | None = None
        self.ticket_offered = False
        self.ticket_id: int | None = None
        self.events: asyncio.Queue[Event | _End] = asyncio.Queue()
        self.session = CommandSession("p", p.decode_patron_event)
        self._seen: set[int] = set()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._finished = False

    # --- connection ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a socket is open."""
        return self._reader is not None and not self._reader.done()

    async def _open(self) -> None:
        try:
            ws = await connect(self.url, open_timeout=self.timeout, close_timeout=2, compression=None,
                               max_size=p.MAX_SERVER_FRAME_BYTES)
        except Exception as exc:  # refused, reset, timed out, HTTP 429, not a WebSocket server...
            raise ConnectionLost(f"Cannot reach {self.url}: {exc}", "unreachable") from exc
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws), name=f"patron-reader {self.url}")

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    frame = self.session.receive(raw)
                except p.ProtocolError as exc:
                    log.warning("patron: ignoring a frame: %s", exc.message)
                    continue
                if frame is not None:
                    self._dispatch(frame)
        except ConnectionClosed:
            pass
        except Exception:  # never let the reader die silently with commands pending
            log.exception("patron: reader failed")
        finally:
            if ws is self._ws:
                self._ws = None
                self.session.connection_lost()
                if not self._finished:
                    self.events.put_nowait(ConnectionClosedEvent(ws.close_code, ws.close_reason or ""))

    def _dispatch(self, frame: p.Frame) -> None:
        if isinstance(frame, p.Error):
            log.warning("patron: desk error %s: %s", frame.code, frame.message)
            return
        if isinstance(frame, p.PatronMessageEvent):
            if not self._first_sight(frame.message):
                return
        elif isinstance(frame, p.StateEvent):
            self.state = frame.state
        elif isinstance(frame, p.TicketOffer):
            self.ticket_offered = True
        elif isinstance(frame, p.QueueEvent):
            self.position = frame.position
        self.events.put_nowait(frame)  # type: ignore[arg-type]

    def _first_sight(self, message: dict[str, Any]) -> bool:
        """Record a desk message; False if it was already seen (resume overlap)."""
        mid = message.get("id")
        if not isinstance(mid, int):
            return True
        if mid in self._seen:
            return False
        self._seen.add(mid)
        self.last_message_id = max(self.last_message_id, mid)
        return True

    async def _shut(self, *, abort: bool) -> None:
        ws, reader = self._ws, self._reader
        self._ws = None
        if ws is None:
            return
        self.session.connection_lost()
        if abort:
            ws.transport.abort()
        else:
            with contextlib.suppress(Exception):
                await ws.close()
        if reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(reader), self.timeout)

    async def _command(self, frame: p.Command) -> dict[str, Any]:
        pending = self.session.register(frame)
        return await self._deliver(pending)

    async def _deliver(self, pending: Pending) -> dict[str, Any]:
        """Send `pending` on the open socket and wait for its reply.

        A lost connection or a timeout leaves a message, leave, ticket or rating pending
        (it may have been stored): the next `resume()` sends it again with `retry`, and
        the desk answers with the first result. Other commands are simply failed.
        """
        ws = self._ws
        if ws is None or not self.connected:
            raise ConnectionLost("Not connected.")
        try:
            await ws.send(self.session.outgoing(pending))
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(pending.future)
        except ConnectionClosed as exc:
            raise ConnectionLost("The connection closed.") from exc
        except TimeoutError:
            raise ConnectionLost(f"No reply to '{pending.frame.type}' within {self.timeout:g} s.",
                                 "timeout") from None
        except CommandError:
            raise
        finally:
            if not pending.future.done():
                if not isinstance(pending.frame, p.PATRON_IDEMPOTENT):
                    self.session.forget(pending.id)  # a read or a join: the caller asks again
                elif not self.connected:
                    pending.sent = False

    def _new(self, cls: type[p.Command], **fields: Any) -> p.Command:
        return cls(id=self.session.new_id(), **fields)

    # --- the patron's actions --------------------------------------------------------

    async def status(self, department: str | None = None) -> int:
        """How many librarians who answer `department` (None: the desk's default) are online
        (0: offer the offline form instead)."""
        if not self.connected:
            await self._open()
        result = await self._command(self._new(p.Status, department=department))
        return int(result.get("librarians_online", 0))

    async def join(self, name: str, email: str | None, question: str,
                   page: str | None = None, department: str | None = None) -> dict[str, Any]:
        """Ask a question: opens a connection and a new waiting chat."""
        if not self.connected:
            await self._open()
        result = await self._command(self._new(p.Join, name=name, email=email, question=question,
                                               page=page, department=department))
        self.name, self.email = name, email
        self.chat_id = str(result["chat_id"])
        self.resume_token = str(result["resume_token"])
        self.state = str(result.get("state", "waiting"))
        self.position = result.get("position")
        self._save_resume()
        return result

    async def offline_ticket(self, name: str, email: str, question: str) -> int:
        """Nobody is online: leave the question as a ticket. Returns its id."""
        if not self.connected:
            await self._open()
        frame = self._new(p.OfflineTicket, name=name, email=email, question=question)
        result = await self._command(frame)
        self.ticket_id = int(result["ticket_id"])
        return self.ticket_id

    async def send(self, text: str) -> int:
        """Send a message to the librarian; returns its message id."""
        result = await self._command(self._new(p.PatronMessage, text=text))
        return int(result["message_id"])

    async def typing(self) -> None:
        """Tell the librarian the patron is typing (a signal: no reply)."""
        ws = self._ws
        if ws is None:
            raise ConnectionLost("Not connected.")
        try:
            await ws.send(p.encode(p.PatronTyping()))
        except ConnectionClosed as exc:
            raise ConnectionLost("The connection closed.") from exc

    async def leave(self) -> None:
        """End the chat as the patron, then close the socket."""
        result = await self._command(self._new(p.Leave))
        self.state = str(result.get("state", "ended"))
        self._forget_resume()
        await self.close()

    async def resume(self) -> list[dict[str, Any]]:
        """Reconnect to the chat; returns the librarian messages missed meanwhile.

        Commands that were never answered are then sent again (same id, `retry`), so
        nothing typed is lost or stored twice. Afterwards `state` says where the chat
        is: back to `active`/`waiting`, or `ended`, or `disconnected` (then
        `ticket_offered` may be True).
        """
        if self.resume_token is None:
            raise CommandError("not_joined", "There is no chat to resume.")
        await self._shut(abort=True)
        await self._open()
        result = await self._command(self._new(p.Resume, token=self.resume_token,
                                               last_message_id=self.last_message_id))
        self.chat_id = str(result.get("chat_id", self.chat_id or ""))
        self.state = str(result.get("state", self.state))
        self.position = result.get("position")
        self.ticket_offered = bool(result.get("ticket_offered", False))
        raw = result.get("messages") or []
        missed = [m for m in raw if isinstance(m, dict) and self._first_sight(m)]
        if patron_can_talk(self.state):
            await self.resend()
        return sorted(missed, key=lambda m: m.get("id", 0))

    async def resend(self) -> list[dict[str, Any]]:
        """Send every unanswered command again (retry); their results, in order."""
        results = []
        for pending in [q for q in self.session.pending.values() if not q.sent]:
            results.append(await self._deliver(pending))
        return results

    @property
    def unanswered(self) -> int:
        """Commands sent but not yet acknowledged (delivered by the next `resume()`)."""
        return len(self.session.pending)

    async def submit_ticket(self, email: str, details: str = "") -> int:
        """Accept the ticket offer of a disconnected chat; returns the ticket id."""
        result = await self._command(self._new(p.PatronTicket, email=email, details=details))
        self.ticket_id = int(result["ticket_id"])
        self.ticket_offered = False
        self._forget_resume()
        return self.ticket_id

    async def transcript(self) -> dict[str, Any]:
        """The patron's copy of the chat."""
        return await self._command(self._new(p.PatronTranscript))

    async def rate(self, stars: int, comment: str = "") -> None:
        """Rate the help once the chat is over."""
        await self._command(self._new(p.Rate, stars=stars, comment=comment))

    async def drop(self) -> None:
        """Lose the connection abruptly (no `leave`, no closing handshake)."""
        await self._shut(abort=True)

    async def close(self) -> None:
        """Close the socket and end iteration. Without `leave`, a live chat starts reconnecting."""
        self._finished = True
        await self._shut(abort=False)
        self.events.put_nowait(_END)

    # --- the resume file -------------------------------------------------------------

    def _save_resume(self) -> None:
        """Keep the resume token on disk (owner-only) so a restarted client can come back."""
        if self.resume_file is not None and self.resume_token is not None:
            data = {"url": self.url, "token": self.resume_token, "chat_id": self.chat_id,
                    "name": self.name, "email": self.email}
            try:
                write_atomic(self.resume_file, msgspec.json.encode(data))
            except OSError as exc:
                log.warning("cannot keep the resume token in %s: %s", self.resume_file, exc)

    def _forget_resume(self) -> None:
        if self.resume_file is not None:
            with contextlib.suppress(OSError):
                self.resume_file.unlink()

    def load_resume(self) -> bool:
        """Pick up a chat a previous run of this client left (True if there is one)."""
        if self.resume_file is None:
            return False
        try:
            data = msgspec.json.decode(self.resume_file.read_bytes(), type=dict[str, Any])
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return False
        if data.get("url") != self.url or not isinstance(data.get("token"), str):
            return False
        self.resume_token = data["token"]
        self.chat_id = data["chat_id"] if isinstance(data.get("chat_id"), str) else None
        self.name, self.email = data.get("name"), data.get("email")
        return True

    # --- events ----------------------------------------------------------------------

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event; raises TimeoutError, or EOFError once the session is closed."""
        async with asyncio.timeout(timeout):
            event = await self.events.get()
        if isinstance(event, _End):
            self.events.put_nowait(_END)
            raise EOFError("The patron session is closed.")
        return event

    def poll_event(self) -> Event | None:
        """The next event if one is already here, else None (never waits)."""
        if self.events.empty():
            return None
        event = self.events.get_nowait()
        if isinstance(event, _End):
            self.events.put_nowait(_END)
            raise EOFError("The patron session is closed.")
        return event

    def __aiter__(self) -> PatronSession:
        return self

    async def __anext__(self) -> Event:
        try:
            return await self.next_event()
        except EOFError:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> PatronSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
