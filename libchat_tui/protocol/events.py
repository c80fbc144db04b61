"""Every frame the desk sends: acks, errors, and the events of both endpoints."""

from __future__ import annotations

from typing import Any, Literal

from .frames import Frame
from .team import CannedEvent, TeamEvent

# --- desk -> client frames ----------------------------------------------------------


class Ack(Frame, tag="ack"):
    id: str | None
    result: dict[str, Any] = {}


class Error(Frame, tag="error"):
    id: str | None
    code: str
    message: str


class ChatEvent(Frame, tag="chat"):
    seq: int
    chat: dict[str, Any]


class MessageEvent(Frame, tag="message"):
    """A transcript line. `message_count` is the chat's count including this line."""

    seq: int
    message: dict[str, Any]
    message_count: int


class NoteEvent(Frame, tag="note"):
    seq: int
    note: dict[str, Any]


class TicketEvent(Frame, tag="ticket"):
    seq: int
    ticket: dict[str, Any]


class AnalyticsEvent(Frame, tag="analytics"):
    seq: int
    entry: dict[str, Any]


class Snapshot(Frame, tag="snapshot"):
    """Every open chat as of `seq`, in pages: `more` is true on every page but the last."""

    seq: int
    chats: list[dict[str, Any]]
    more: bool = False


class Synced(Frame, tag="synced"):
    seq: int
    mode: Literal["replay", "snapshot"]


class TypingEvent(Frame, tag="typing"):
    chat_id: int
    who: str


class PushEvent(Frame, tag="push"):
    """No seq: a ticket's or RA entry's delivery to LibAnswers changed (`state` as in
    `transcript`'s `push` objects: sent / waiting / refused, remote id, reason)."""

    kind: Literal["ticket", "analytics"]
    record_id: int
    state: dict[str, Any]
    problem: str | None = None  # what keeps the integration from working now (None: healthy)


LibrarianEvent = (
    Ack | Error | ChatEvent | MessageEvent | NoteEvent | TicketEvent | AnalyticsEvent | Snapshot
    | Synced | TypingEvent | PushEvent | TeamEvent | CannedEvent
)


class StateEvent(Frame, tag="state"):
    state: str
    text: str
    by: str = ""
    at: str | None = None


class PatronMessageEvent(Frame, tag="message"):
    message: dict[str, Any]


class PatronTypingEvent(Frame, tag="typing"):
    who: str


class TicketOffer(Frame, tag="ticket_offer"):
    text: str


class QueueEvent(Frame, tag="queue"):
    position: int


class Resumed(Frame, tag="resumed_elsewhere"):
    """This connection's chat was resumed on another connection, which now has it."""

    text: str


PatronEvent = (
    Ack | Error | StateEvent | PatronMessageEvent | PatronTypingEvent | TicketOffer | QueueEvent | Resumed
)
