"""Every frame a client sends: the librarian's and the patron's commands and signals."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from msgspec import Meta

from .frames import (
    Body,
    ChatId,
    Command,
    Comment,
    Day,
    Details,
    Email,
    Int64,
    LibrarianId,
    MessageText,
    Name,
    NoteText,
    Page,
    Query,
    Question,
    Short,
    Signal,
    Subject,
    Token,
)
from .team import (
    TEAM_MUTATING,
    AnswerTransfer,
    Block,
    Blocks,
    Browser,
    ClientId,
    DeleteCanned,
    Department,
    Dismiss,
    EditPatron,
    Monitor,
    PatronRecord,
    Presence,
    SaveCanned,
    Transfer,
    Unblock,
    WithdrawTransfer,
)

# --- /librarian: commands ------------------------------------------------------------


class Hello(Command, tag="hello"):
    protocol: Int64
    librarian_id: LibrarianId
    name: Name
    since: Int64 | None = None
    presence: Literal["online", "away"] = "online"
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
    | Presence | Monitor | Transfer | AnswerTransfer | WithdrawTransfer | SaveCanned | DeleteCanned
    | EditPatron | PatronRecord | Dismiss | Block | Blocks | Unblock
)
#: Librarian commands that change the desk: queued while offline, remembered for retries.
MUTATING: Final = (Accept, Send, End, Close, AddNote, CreateTicket, CloseTicket, SaveAnalytics, RetryPush,
                   *TEAM_MUTATING)
MUTATING_TYPES: Final = frozenset(str(c.__struct_config__.tag) for c in MUTATING)


# --- /patron: commands ---------------------------------------------------------------


class Status(Command, tag="status"):
    """Is anyone on the desk to answer in this department? Allowed before `join`."""

    department: Department | None = None  # null: the desk's first (default) department


class Join(Command, tag="join"):
    name: Name
    question: Question
    email: Email | None = None
    page: Page | None = None
    department: Department | None = None  # null: the desk's first (default) department
    browser: Browser | None = None  # the widget sends the user agent
    client_id: ClientId | None = None  # the widget's own random id for this browser
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
