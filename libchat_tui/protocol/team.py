"""The team desk's frames: presence, departments, transfer, canned messages, patron
information, dismiss and block (docs/protocol.md, "The team desk").

Declared here, beside the first version's frames, and joined into the same tagged
unions (`commands.LibrarianFrame`, `events.LibrarianEvent`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from .frames import ChatId, Command, Email, Frame, LibrarianId, Name, NoteText

#: A department's name (as configured under `[desk] departments`).
Department = Annotated[str, Meta(max_length=100)]
#: A canned message's short name and its text.
CannedName = Annotated[str, Meta(max_length=40)]
CannedText = Annotated[str, Meta(max_length=2_000)]
#: Why a chat was dismissed or a patron blocked.
Reason = Annotated[str, Meta(max_length=500)]
#: How long a block lasts: 1 minute to 30 days.
BlockMinutes = Annotated[int, Meta(ge=1, le=30 * 24 * 60)]
#: The patron's browser, as the widget reports it (its user agent).
Browser = Annotated[str, Meta(max_length=300)]
#: A browser's own random id, kept by the widget (block by browser, not only by address).
ClientId = Annotated[str, Meta(max_length=64)]

# --- librarian commands --------------------------------------------------------------


class Presence(Command, tag="presence"):
    """I am online (new chats alert me) or away (they don't); offline is having no connection."""

    state: Literal["online", "away"]


class Monitor(Command, tag="monitor"):
    """The departments whose waiting chats I take (remembered by the desk, per librarian)."""

    departments: Annotated[list[Department], Meta(max_length=50)]


class Transfer(Command, tag="transfer"):
    """Offer my active chat to a colleague, or send it back to a department's queue."""

    chat_id: ChatId
    to_librarian: LibrarianId | None = None
    to_department: Department | None = None
    note: NoteText = ""


class AnswerTransfer(Command, tag="answer_transfer"):
    """Take the chat offered to me (`accept: true`) or decline it."""

    chat_id: ChatId
    accept: bool


class WithdrawTransfer(Command, tag="withdraw_transfer"):
    chat_id: ChatId


class SaveCanned(Command, tag="save_canned"):
    """Create or replace the team's canned message of that name."""

    name: CannedName
    text: CannedText
    NONEMPTY = ("name", "text")


class DeleteCanned(Command, tag="delete_canned"):
    name: CannedName
    NONEMPTY = ("name",)


class EditPatron(Command, tag="edit_patron"):
    """Correct the patron's name and e-mail on a chat (null e-mail: none)."""

    chat_id: ChatId
    name: Name
    email: Email | None = None
    NONEMPTY = ("name",)
    EMAILS = ("email",)


class PatronRecord(Command, tag="patron_record"):
    """Earlier chats and tickets of the patron of this chat (same e-mail)."""

    chat_id: ChatId


class Dismiss(Command, tag="dismiss"):
    """Close a chat nobody accepted (spam), with a reason kept in its record."""

    chat_id: ChatId
    reason: Reason
    NONEMPTY = ("reason",)


class Block(Command, tag="block"):
    """End the chat and refuse new chats from the same browser and address for a while."""

    chat_id: ChatId
    minutes: BlockMinutes
    reason: Reason
    NONEMPTY = ("reason",)


class Blocks(Command, tag="blocks"):
    """The blocks in force."""


class Unblock(Command, tag="unblock"):
    block_id: ChatId


TEAM_MUTATING = (Presence, Monitor, Transfer, AnswerTransfer, WithdrawTransfer, SaveCanned,
                 DeleteCanned, EditPatron, Dismiss, Block, Unblock)

# --- librarian events (no seq: the current state, sent whole) ---------------------------


class TeamEvent(Frame, tag="team"):
    """Who is on the desk, in what state: sent to every synced console on any change."""

    librarians: list[dict[str, Any]]


class CannedEvent(Frame, tag="canned"):
    """The team's canned messages, all of them, after any change."""

    messages: list[dict[str, Any]]


__all__ = [
    "TEAM_MUTATING",
    "AnswerTransfer",
    "Block",
    "BlockMinutes",
    "Blocks",
    "Browser",
    "CannedEvent",
    "CannedName",
    "CannedText",
    "ClientId",
    "DeleteCanned",
    "Department",
    "Dismiss",
    "EditPatron",
    "Monitor",
    "PatronRecord",
    "Presence",
    "Reason",
    "SaveCanned",
    "TeamEvent",
    "Transfer",
    "Unblock",
    "WithdrawTransfer",
]
