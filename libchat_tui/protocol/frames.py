"""The envelope every frame shares, its field types and limits, and the protocol error.

Part of the wire protocol (see `libchat_tui.protocol`); no I/O.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Final

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
#: How deeply a frame may nest objects and lists (the deepest frame today has 3 levels); a
#: deeper one is refused with `too_deep` before it is decoded.
MAX_JSON_DEPTH: Final = 32

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
