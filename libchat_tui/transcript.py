"""A transcript's records: who a line is from (`Sender`), the line (`Message`) and the
internal note (`Note`), with their wire forms. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .timestamps import iso
from .timestamps import required_ts as _ts


class Sender(StrEnum):
    PATRON = "patron"
    LIBRARIAN = "librarian"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Message:
    """One line of a transcript: from the patron, a librarian, or a system event."""

    id: int
    chat_id: int
    sender: Sender
    author: str
    text: str
    at: datetime
    librarian_id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_id": self.chat_id,
            "sender": self.sender.value,
            "author": self.author,
            "librarian_id": self.librarian_id,
            "text": self.text,
            "at": iso(self.at),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Message:
        return cls(
            id=int(data["id"]),
            chat_id=int(data["chat_id"]),
            sender=Sender(data["sender"]),
            author=str(data.get("author", "")),
            text=str(data["text"]),
            at=_ts(data["at"]),
            librarian_id=str(data.get("librarian_id", "")),
        )


@dataclass(frozen=True, slots=True)
class Note:
    """An internal note: stored with the chat, never sent to the patron."""

    id: int
    chat_id: int
    librarian_id: str
    author: str
    text: str
    at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_id": self.chat_id,
            "librarian_id": self.librarian_id,
            "author": self.author,
            "text": self.text,
            "at": iso(self.at),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Note:
        return cls(
            int(data["id"]),
            int(data["chat_id"]),
            str(data.get("librarian_id", "")),
            str(data.get("author", "")),
            str(data["text"]),
            _ts(data["at"]),
        )
