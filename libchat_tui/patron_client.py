"""A patron's side of the desk: an asyncio client for the `/patron` endpoint.

Used by the patron simulator, `libchat-tui patron` and tests. One `PatronSession` is one
chat; it survives dropped connections (`resume()` opens a new socket with the stored
resume token). Commands carry ids (`p-1`, `p-2`, ...) and wait for their `ack`; an
`error` reply raises `PatronError`. Events (`message`, `state`, `ticket_offer`,
`typing`) arrive on `events` or through `async for event in session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .protocol import MAX_FRAME_BYTES

log = logging.getLogger(__name__)

#: A client-side event (never sent by the server) put on `events` when the socket
#: closes without the session having asked for it.
CONNECTION_CLOSED: Final = "connection_closed"
#: States in which the patron can still talk.
LIVE_STATES: Final = frozenset({"waiting", "active"})

_END: Final[dict[str, Any]] = {"type": "__end__"}


class PatronError(Exception):
    """The server refused a command (`code` is the protocol error code), or it failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ConnectionLost(PatronError):
    """No connection: the server could not be reached or the socket closed mid-command."""

    def __init__(self, message: str, code: str = "connection_lost") -> None:
        super().__init__(code, message)


def patron_endpoint(url: str) -> str:
    """`ws://host:port` (or `.../patron`) -> the `/patron` endpoint URL."""
    url = url.rstrip("/")
    return url if url.endswith("/patron") else f"{url}/patron"


class _Link:
    """One socket of a session, with the commands still waiting for a reply on it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.expected_close = False
        self.reader: asyncio.Task[None] | None = None


class PatronSession:
    """One patron's chat over `/patron`: join, talk, leave, or drop and resume."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = patron_endpoint(url)
        self.timeout = timeout
        self.name: str | None = None
        self.email: str | None = None
        self.chat_id: int | None = None
        self.resume_token: str | None = None
        self.last_message_id = 0
        self.state: str | None = None
        self.ticket_offered = False
        self.ticket_id: int | None = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._seen: set[int] = set()
        self._ids = itertools.count(1)
        self._link: _Link | None = None
        self._finished = False

    # --- connection ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a socket is open."""
        link = self._link
        return link is not None and link.reader is not None and not link.reader.done()

    async def _open(self) -> _Link:
        try:
            ws = await connect(
                self.url, open_timeout=self.timeout, close_timeout=2, compression=None,
                max_size=MAX_FRAME_BYTES,
            )
        except Exception as exc:  # refused, reset, timed out, HTTP 429, not a WebSocket server...
            raise ConnectionLost(f"Cannot reach {self.url}: {exc}", "unreachable") from exc
        link = _Link(ws)
        link.reader = asyncio.create_task(self._read(link), name=f"patron-reader {self.url}")
        self._link = link
        return link

    async def _read(self, link: _Link) -> None:
        code: int | None = None
        reason = ""
        try:
            async for raw in link.ws:
                try:
                    frame = json.loads(raw)
                except (TypeError, ValueError):
                    log.warning("patron: ignoring a frame that is not JSON")
                    continue
                if isinstance(frame, dict):
                    self._dispatch(link, frame)
        except ConnectionClosed:
            pass
        except Exception:  # never let the reader die silently with commands pending
            log.exception("patron: reader failed")
        finally:
            if link.ws.close_code is not None:
                code, reason = link.ws.close_code, link.ws.close_reason or ""
            for fut in link.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionLost("The connection closed before the reply."))
            link.pending.clear()
            if link is self._link and not link.expected_close and not self._finished:
                self.events.put_nowait({"type": CONNECTION_CLOSED, "code": code, "reason": reason})

    def _dispatch(self, link: _Link, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("ack", "error"):
            fut = link.pending.pop(str(frame.get("id")), None)
            if fut is not None and not fut.done():
                fut.set_result(frame)
            elif kind == "error":
                log.warning("patron: server error %s: %s", frame.get("code"), frame.get("message"))
            return
        if kind == "message":
            message = frame.get("message")
            if not isinstance(message, dict) or not self._first_sight(message):
                return
        elif kind == "state":
            self.state = str(frame.get("state", self.state))
        elif kind == "ticket_offer":
            self.ticket_offered = True
        self.events.put_nowait(frame)

    def _first_sight(self, message: dict[str, Any]) -> bool:
        """Record a server message; False if it was already seen (resume overlap)."""
        mid = message.get("id")
        if not isinstance(mid, int):
            return True
        if mid in self._seen:
            return False
        self._seen.add(mid)
        self.last_message_id = max(self.last_message_id, mid)
        return True

    async def _shut(self, *, abort: bool) -> None:
        link, self._link = self._link, None
        if link is None:
            return
        link.expected_close = True
        if abort:
            link.ws.transport.abort()
        else:
            with contextlib.suppress(Exception):
                await link.ws.close()
        if link.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(link.reader), self.timeout)

    async def _command(self, type_: str, **fields: Any) -> dict[str, Any]:
        link = self._link
        if link is None or not self.connected:
            raise ConnectionLost("Not connected.")
        cid = f"p-{next(self._ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        link.pending[cid] = fut
        try:
            await link.ws.send(json.dumps({"type": type_, "id": cid, **fields}))
            async with asyncio.timeout(self.timeout):
                reply = await fut
        except ConnectionClosed as exc:
            raise ConnectionLost("The connection closed.") from exc
        except TimeoutError:
            message = f"No reply to '{type_}' within {self.timeout:g} s."
            raise PatronError("timeout", message) from None
        finally:
            link.pending.pop(cid, None)
        if reply.get("type") == "error":
            raise PatronError(str(reply.get("code", "error")), str(reply.get("message", "")))
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    # --- the patron's actions --------------------------------------------------------

    async def join(self, name: str, email: str | None, question: str) -> dict[str, Any]:
        """Ask a question: opens a connection and a new waiting chat."""
        if not self.connected:
            await self._open()
        result = await self._command("join", name=name, email=email, question=question)
        self.name, self.email = name, email
        self.chat_id = int(result["chat_id"])
        self.resume_token = str(result["resume_token"])
        self.state = str(result.get("state", "waiting"))
        return result

    async def send(self, text: str) -> int:
        """Send a message to the librarian; returns its message id."""
        result = await self._command("message", text=text)
        return int(result["message_id"])

    async def typing(self) -> None:
        """Tell the librarian the patron is typing (a signal: no reply)."""
        link = self._link
        if link is None:
            raise ConnectionLost("Not connected.")
        try:
            await link.ws.send(json.dumps({"type": "typing"}))
        except ConnectionClosed as exc:
            raise ConnectionLost("The connection closed.") from exc

    async def leave(self) -> None:
        """End the chat as the patron, then close the socket."""
        result = await self._command("leave")
        self.state = str(result.get("state", "ended"))
        await self.close()

    async def resume(self) -> list[dict[str, Any]]:
        """Reconnect to the chat; returns the librarian messages missed meanwhile.

        Afterwards `state` says where the chat is: back to `active`/`waiting`, or
        `ended`, or `disconnected` (then `ticket_offered` may be True).
        """
        if self.resume_token is None:
            raise PatronError("not_joined", "There is no chat to resume.")
        await self._shut(abort=True)
        await self._open()
        result = await self._command("resume", token=self.resume_token,
                                     last_message_id=self.last_message_id)
        self.chat_id = int(result.get("chat_id", self.chat_id or 0))
        self.state = str(result.get("state", self.state))
        self.ticket_offered = bool(result.get("ticket_offered", False))
        raw = result.get("messages") or []
        missed = [m for m in raw if isinstance(m, dict) and self._first_sight(m)]
        return sorted(missed, key=lambda m: m.get("id", 0))

    async def submit_ticket(self, email: str, details: str = "") -> int:
        """Accept the ticket offer of a disconnected chat; returns the ticket id."""
        result = await self._command("ticket", email=email, details=details)
        self.ticket_id = int(result["ticket_id"])
        self.ticket_offered = False
        return self.ticket_id

    async def drop(self) -> None:
        """Lose the connection abruptly (no `leave`, no closing handshake)."""
        await self._shut(abort=True)

    async def close(self) -> None:
        """Close the socket and end iteration. Without `leave`, a live chat starts reconnecting."""
        self._finished = True
        await self._shut(abort=False)
        self.events.put_nowait(_END)

    # --- events ----------------------------------------------------------------------

    async def next_event(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event; raises TimeoutError, or EOFError once the session is closed."""
        async with asyncio.timeout(timeout):
            event = await self.events.get()
        if event is _END:
            self.events.put_nowait(_END)
            raise EOFError("The patron session is closed.")
        return event

    def poll_event(self) -> dict[str, Any] | None:
        """The next event if one is already here, else None (never waits)."""
        if self.events.empty():
            return None
        event = self.events.get_nowait()
        if event is _END:
            self.events.put_nowait(_END)
            raise EOFError("The patron session is closed.")
        return event

    def __aiter__(self) -> PatronSession:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return await self.next_event()
        except EOFError:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> PatronSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
