"""The wire protocol: every frame declared once, as a typed class with its limits.

Pure, no network. Each frame is a msgspec `Struct` tagged by its `type` field, so
decoding, validation and encoding come from one declaration: `decode_librarian()` and
`decode_patron()` turn one text frame into a command (or signal) object or raise
`ProtocolError` with a wire error code and a sentence a person can read; `encode()`
turns any frame into compact JSON text. Handlers dispatch on the class, never on
`frame["type"]`. docs/protocol.md is the human description of the same classes.

Objects inside events (a chat, a message, a ticket...) keep the shape their domain
class gives them (`Chat.to_wire()`); frames carry them as JSON objects.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, ClassVar, Final, Literal

import msgspec
from msgspec import Meta, Struct

PROTOCOL_VERSION: Final = 1
#: The largest frame a client may send (either endpoint).
MAX_FRAME_BYTES: Final = 64 * 1024
#: The largest frame the desk ever sends, and so what every client must accept. Frames
#: whose size depends on patron volume (snapshots, transcripts) are paged to stay below.
MAX_SERVER_FRAME_BYTES: Final = 1024 * 1024

#: What a reply or event may spend on lists whose length patrons control (transcripts,
#: history, ticket lists): well under MAX_SERVER_FRAME_BYTES, leaving room for the rest.
LIST_BUDGET_BYTES: Final = 512 * 1024
#: Ticket bodies in events and lists are cut to this many characters (`body_clipped`).
CLIPPED_BODY: Final = 4_000

LIMITS: Final = {
    "name": 100,
    "email": 254,
    "question": 2_000,
    "message": 4_000,
    "note": 20_000,
    "subject": 200,
    "body": 100_000,
    "details": 4_000,
    "query": 500,
    "comment": 2_000,
    "page": 2_000,
}

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s.\x00-\x1f\x7f]+(\.[^@\s.\x00-\x1f\x7f]+)+$")


class ProtocolError(Exception):
    """A frame the server (or client) refuses; `code` is the wire error code."""

    def __init__(self, code: str, message: str, command_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.command_id = command_id


def is_valid_email(value: str) -> bool:
    """A plausibility check, not RFC 5322: one @, a dotted domain, no spaces or controls."""
    return len(value) <= LIMITS["email"] and bool(_EMAIL.match(value))


# --- field types ---------------------------------------------------------------------

CommandId = Annotated[str, Meta(min_length=1, max_length=64)]
ChatId = Annotated[int, Meta(ge=1, le=2**63 - 1)]
Int64 = Annotated[int, Meta(ge=-(2**63) + 1, le=2**63 - 1)]
Day = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


# Text fields, each bounded by its limit (length in characters).
Name = Annotated[str, Meta(max_length=LIMITS["name"])]
Email = Annotated[str, Meta(max_length=LIMITS["email"])]
Question = Annotated[str, Meta(max_length=LIMITS["question"])]
MessageText = Annotated[str, Meta(max_length=LIMITS["message"])]
NoteText = Annotated[str, Meta(max_length=LIMITS["note"])]
Subject = Annotated[str, Meta(max_length=LIMITS["subject"])]
Body = Annotated[str, Meta(max_length=LIMITS["body"])]
Details = Annotated[str, Meta(max_length=LIMITS["details"])]
Query = Annotated[str, Meta(max_length=LIMITS["query"])]
Comment = Annotated[str, Meta(max_length=LIMITS["comment"])]
Page = Annotated[str, Meta(max_length=LIMITS["page"])]
Short = Annotated[str, Meta(max_length=100)]
LibrarianId = Annotated[str, Meta(max_length=64)]
Token = Annotated[str, Meta(max_length=100)]


class Frame(Struct, tag_field="type"):
    """Every frame: a JSON object whose `type` names its class."""

    #: Fields that must hold more than white space (checked after decoding).
    NONEMPTY: ClassVar[tuple[str, ...]] = ()
    #: Fields that hold an e-mail address (stripped and checked; None allowed if optional).
    EMAILS: ClassVar[tuple[str, ...]] = ()

    @property
    def type(self) -> str:
        return str(self.__struct_config__.tag)


class Command(Frame, kw_only=True, omit_defaults=True):
    """A frame that is answered by exactly one `ack` or `error` with the same `id`.

    `retry` marks a command sent again after a lost connection: the desk answers a
    retried id it has already applied with the original ack, and applies it only once.
    """

    id: CommandId
    retry: bool = False


class Signal(Frame, forbid_unknown_fields=True):
    """A frame with no id and no reply (typing). A signal with any other field (an `id`,
    say) is refused with an error, so a client that expects a reply gets one."""


# --- /librarian: commands ------------------------------------------------------------


class Hello(Command, tag="hello"):
    protocol: Int64
    librarian_id: LibrarianId
    name: Name
    since: Int64 | None = None
    NONEMPTY = ("librarian_id", "name")


class Accept(Command, tag="accept"):
    chat_id: ChatId


class Send(Command, tag="send"):
    chat_id: ChatId
    text: MessageText
    NONEMPTY = ("text",)


class End(Command, tag="end"):
    chat_id: ChatId


class Close(Command, tag="close"):
    chat_id: ChatId


class AddNote(Command, tag="note"):
    chat_id: ChatId
    text: NoteText
    NONEMPTY = ("text",)


class CreateTicket(Command, tag="create_ticket"):
    chat_id: ChatId
    name: Name
    email: Email
    subject: Subject
    body: Body = ""
    NONEMPTY = ("name", "subject")
    EMAILS = ("email",)


class CloseTicket(Command, tag="close_ticket"):
    ticket_id: ChatId


class SaveAnalytics(Command, tag="save_analytics"):
    chat_id: ChatId
    dataset: Short
    fields: dict[str, Any]
    NONEMPTY = ("dataset",)


class Transcript(Command, tag="transcript"):
    chat_id: ChatId


class History(Command, tag="history"):
    query: Query = ""
    limit: Int64 | None = None


class Tickets(Command, tag="tickets"):
    status: Literal["open", "closed", "all"]


class Stats(Command, tag="stats"):
    day: Day
    utc_offset_minutes: Int64 | None = None


class RetryPush(Command, tag="retry_push"):
    """Send a ticket or RA entry that LibAnswers refused again (after fixing the cause)."""

    kind: Literal["ticket", "analytics"]
    record_id: ChatId


class LibrarianTyping(Signal, tag="typing"):
    chat_id: ChatId


LibrarianFrame = (
    Hello | Accept | Send | End | Close | AddNote | CreateTicket | CloseTicket | SaveAnalytics
    | Transcript | History | Tickets | Stats | RetryPush | LibrarianTyping
)
#: Librarian commands that change the desk: queued while offline, remembered for retries.
MUTATING: Final = (Accept, Send, End, Close, AddNote, CreateTicket, CloseTicket, SaveAnalytics, RetryPush)
MUTATING_TYPES: Final = frozenset(str(c.__struct_config__.tag) for c in MUTATING)


# --- /patron: commands ---------------------------------------------------------------


class Status(Command, tag="status"):
    """Is anyone on the desk? Allowed before `join`."""


class Join(Command, tag="join"):
    name: Name
    question: Question
    email: Email | None = None
    page: Page | None = None
    NONEMPTY = ("name", "question")
    EMAILS = ("email",)


class PatronMessage(Command, tag="message"):
    text: MessageText
    NONEMPTY = ("text",)


class Leave(Command, tag="leave"):
    pass


class Resume(Command, tag="resume"):
    token: Token
    last_message_id: Int64 | None = None
    NONEMPTY = ("token",)


class PatronTicket(Command, tag="ticket"):
    """A disconnected patron accepts the ticket offer."""

    email: Email
    details: Details = ""
    EMAILS = ("email",)


class OfflineTicket(Command, tag="offline_ticket"):
    """Nobody is online: the patron leaves the question as a ticket instead."""

    name: Name
    email: Email
    question: Question
    page: Page | None = None
    NONEMPTY = ("name", "question")
    EMAILS = ("email",)


class PatronTranscript(Command, tag="transcript"):
    """The patron's copy of their chat (never internal notes)."""


class Rate(Command, tag="rate"):
    stars: Annotated[int, Meta(ge=1, le=5)]
    comment: Comment = ""


class PatronTyping(Signal, tag="typing"):
    pass


PatronFrame = (
    Status | Join | PatronMessage | Leave | Resume | PatronTicket | OfflineTicket
    | PatronTranscript | Rate | PatronTyping
)
#: Patron commands the desk applies at most once per chat (a retried id gets the first ack).
PATRON_IDEMPOTENT: Final = (PatronMessage, Leave, PatronTicket, Rate)


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
    | Synced | TypingEvent | PushEvent
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


# --- decoding ------------------------------------------------------------------------


class _Envelope(Struct):
    """Just enough of a frame to name it in an error reply."""

    type: Any = None
    id: Any = None


@cache
def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    """One decoder per frame union, built on first use (no work at import time)."""
    return msgspec.json.Decoder(kind)


_encoder = msgspec.json.Encoder()

_HUMAN = {"int": "an integer", "str": "a string", "bool": "true or false", "object": "an object",
          "array": "a list", "null": "null", "float": "a number"}
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def _describe(detail: str, field: str) -> tuple[str, str]:
    """A msgspec validation message -> (wire code, a sentence naming the field)."""
    name = f"'{field}'" if field else "The frame"
    if m := re.match(r"Object missing required field `(\w+)`", detail):
        missing = m.group(1)
        if missing == "type" and not field:
            return "bad_frame", "A frame must have a string 'type'."
        return "invalid_field", f"'{missing}' is required."
    if m := re.match(r"Expected `str` of length <= (\d+)", detail):
        return "too_long", f"{name} is too long; the limit is {m.group(1)} characters."
    if m := re.match(r"Expected `str` of length >= (\d+)", detail):
        return "invalid_field", f"{name} must not be empty."
    if re.match(r"Expected `int` (>=|<=)", detail):
        return "invalid_field", f"{name} must be an integer in range ({detail.split(' - ')[0][9:]})."
    if detail.startswith("Expected `str` matching regex"):
        return "invalid_field", f"{name} must be a date like 2026-11-28."
    if m := re.match(r"Invalid enum value '(.*)'", detail):
        return "invalid_field", f"{name} may not be '{m.group(1)[:40]}'."
    if m := re.match(r"Object contains unknown field `(\w+)`", detail):
        return ("invalid_field",
                f"'{m.group(1)}' is not a field of this frame (a signal has no id and no reply).")
    if m := re.match(r"Expected `(\w+)`(?:, got `(\w+)`)?", detail):
        if not field:
            return "bad_frame", "A frame must be a JSON object."
        return "invalid_field", f"{name} must be {_HUMAN.get(m.group(1), m.group(1))}."
    return "invalid_field", f"{name}: {detail}"


def _decode(raw: str | bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    if isinstance(raw, bytes):
        raise ProtocolError("bad_json", "Binary frames are not accepted; send JSON text.")
    try:
        frame = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        detail = str(exc)
        at = _AT.search(detail)
        field = at.group(1) if at else ""
        envelope = _envelope(raw)
        cid = envelope.id if isinstance(envelope.id, str) and 0 < len(envelope.id) <= 64 else None
        if field == "type":
            if isinstance(envelope.type, str):
                raise ProtocolError("unknown_type", f"Unknown message type '{envelope.type[:40]}'.",
                                    cid) from None
            raise ProtocolError("bad_frame", "A frame must have a string 'type'.", cid) from None
        code, message = _describe(_AT.sub("", detail), field)
        if field == "id" or message == "'id' is required.":
            code, message = "invalid_field", "A command needs an 'id': a string of 1-64 characters."
        raise ProtocolError(code, message, cid) from None
    except msgspec.DecodeError:
        raise ProtocolError("bad_json", "The frame is not valid JSON (UTF-8 text, one object).") from None
    _check(frame)
    return frame


def _envelope(raw: str) -> _Envelope:
    try:
        envelope: _Envelope = _decoder(_Envelope).decode(raw)
        return envelope
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _Envelope()


def _check(frame: Frame) -> None:
    """The checks a type cannot say: text that is not just spaces, e-mail addresses."""
    cid = frame.id if isinstance(frame, Command) else None
    if isinstance(frame, Hello) and frame.librarian_id.startswith("patron:"):
        raise ProtocolError("invalid_field", "'librarian_id' may not start with 'patron:'.", cid)
    for name in frame.NONEMPTY:
        if not str(getattr(frame, name)).strip():
            code = "empty_text" if name in ("text", "question") else "invalid_field"
            raise ProtocolError(code, f"'{name}' must not be empty.", cid)
    for name in frame.EMAILS:
        value = getattr(frame, name)
        if value is None:
            continue
        value = value.strip()
        if not is_valid_email(value):
            raise ProtocolError("invalid_email", f"'{value[:80]}' is not a valid e-mail address.", cid)
        setattr(frame, name, value)


def decode_librarian(raw: str | bytes) -> LibrarianFrame:
    """One frame from a console on `/librarian`, validated."""
    return _decode(raw, _decoder(LibrarianFrame))  # type: ignore[no-any-return]


def decode_patron(raw: str | bytes) -> PatronFrame:
    """One frame from a patron on `/patron`, validated."""
    return _decode(raw, _decoder(PatronFrame))  # type: ignore[no-any-return]


def decode_librarian_event(raw: str | bytes) -> LibrarianEvent:
    """One frame from the desk to a console (clients use this)."""
    return _decode_event(raw, _decoder(LibrarianEvent))  # type: ignore[no-any-return]


def decode_patron_event(raw: str | bytes) -> PatronEvent:
    """One frame from the desk to a patron (clients use this)."""
    return _decode_event(raw, _decoder(PatronEvent))  # type: ignore[no-any-return]


def _decode_event(raw: str | bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    try:
        return decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProtocolError("bad_frame", f"The desk sent a frame this client cannot read: {exc}") from None


# --- encoding ------------------------------------------------------------------------


def encode(frame: Frame) -> str:
    """One frame as compact JSON text (non-ASCII kept as is)."""
    return _encoder.encode(frame).decode()


def fit(items: list[dict[str, Any]], budget: int = LIST_BUDGET_BYTES) -> tuple[list[dict[str, Any]], int]:
    """The leading `items` whose JSON fits in `budget` bytes, and how many were left out."""
    used = 0
    for index, item in enumerate(items):
        used += len(_encoder.encode(item)) + 1
        if used > budget:
            return items[:index], len(items) - index
    return items, 0


def pages(items: list[dict[str, Any]], budget: int = LIST_BUDGET_BYTES) -> list[list[dict[str, Any]]]:
    """`items` cut into consecutive pages of at most `budget` bytes of JSON each (at least one)."""
    out: list[list[dict[str, Any]]] = [[]]
    used = 0
    for item in items:
        size = len(_encoder.encode(item)) + 1
        if out[-1] and used + size > budget:
            out.append([])
            used = 0
        out[-1].append(item)
        used += size
    return out


def clip_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as events and lists carry it: a long body is cut (`body_clipped: true`)."""
    body = str(ticket.get("body") or "")
    if len(body) <= CLIPPED_BODY:
        return ticket
    return {**ticket, "body": body[:CLIPPED_BODY], "body_clipped": True}


def ack(command_id: str | None, result: dict[str, Any] | None = None) -> str:
    return encode(Ack(command_id, result or {}))


def error(command_id: str | None, code: str, message: str) -> str:
    return encode(Error(command_id, code, message))


def command_id(frame: Frame) -> str | None:
    return frame.id if isinstance(frame, Command) else None
