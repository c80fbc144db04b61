"""The wire protocol: decoding, validation and encoding of frames, in one place.

Pure functions, no network. `decode_command` turns one text frame into a validated
`Command` or raises `ProtocolError` with the protocol error code and a message a person
can read. docs/protocol.md is the human description of the same rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

PROTOCOL_VERSION: Final = 1
MAX_FRAME_BYTES: Final = 64 * 1024

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
}

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s.\x00-\x1f\x7f]+(\.[^@\s.\x00-\x1f\x7f]+)+$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ProtocolError(Exception):
    """A frame the server (or client) refuses; `code` is the wire error code."""

    def __init__(self, code: str, message: str, command_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.command_id = command_id


@dataclass(frozen=True, slots=True)
class Command:
    """A validated client frame. `id` is None for signals such as `typing`."""

    type: str
    id: str | None
    fields: dict[str, Any]
    retry: bool = False

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]


# Field kinds: "chat_id" (positive int), "int", "text:<limit>" (non-empty text),
# "str:<limit>" (possibly empty text), "email", "email?" (optional), "bool", "object",
# "int?" (optional int), "day", "status".
_Spec = dict[str, str]

LIBRARIAN_COMMANDS: Final[dict[str, _Spec]] = {
    "hello": {"protocol": "int", "librarian_id": "text:64", "name": "text:100", "since": "int?"},
    "accept": {"chat_id": "chat_id"},
    "send": {"chat_id": "chat_id", "text": "text:message"},
    "end": {"chat_id": "chat_id"},
    "close": {"chat_id": "chat_id"},
    "note": {"chat_id": "chat_id", "text": "text:note"},
    "create_ticket": {
        "chat_id": "chat_id",
        "name": "text:name",
        "email": "email",
        "subject": "text:subject",
        "body": "str:body",
    },
    "close_ticket": {"ticket_id": "chat_id"},
    "save_analytics": {"chat_id": "chat_id", "dataset": "text:100", "fields": "object"},
    "transcript": {"chat_id": "chat_id"},
    "history": {"query": "str:query", "limit": "int?"},
    "tickets": {"status": "status"},
    "stats": {"day": "day", "utc_offset_minutes": "int?"},
}
LIBRARIAN_SIGNALS: Final[dict[str, _Spec]] = {"typing": {"chat_id": "chat_id"}}

#: Librarian commands that change the desk and are remembered for idempotent retries.
MUTATING: Final = frozenset(
    {"accept", "send", "end", "close", "note", "create_ticket", "close_ticket", "save_analytics"}
)

PATRON_COMMANDS: Final[dict[str, _Spec]] = {
    "join": {"name": "text:name", "email": "email?", "question": "text:question"},
    "message": {"text": "text:message"},
    "leave": {},
    "resume": {"token": "text:100", "last_message_id": "int?"},
    "ticket": {"email": "email", "details": "str:details"},
}
PATRON_SIGNALS: Final[dict[str, _Spec]] = {"typing": {}}


def is_valid_email(value: str) -> bool:
    """A plausibility check, not RFC 5322: one @, a dotted domain, no spaces or controls."""
    return len(value) <= LIMITS["email"] and bool(_EMAIL.match(value))


def _limit(spec: str) -> int:
    key = spec.split(":", 1)[1]
    return int(key) if key.isdigit() else LIMITS[key]


def _check(name: str, spec: str, data: dict[str, Any], cid: str | None) -> Any:
    optional = spec.endswith("?")
    kind = spec.rstrip("?")
    if name not in data or data[name] is None:
        if optional:
            return None
        if kind.startswith("str:"):
            return ""
        raise ProtocolError("invalid_field", f"'{name}' is required.", cid)
    value = data[name]

    def wrong(expected: str) -> ProtocolError:
        return ProtocolError("invalid_field", f"'{name}' must be {expected}.", cid)

    if kind in ("chat_id", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        if kind == "chat_id" and not 0 < value < 2**63:
            raise wrong("a positive integer")
        if not -(2**63) < value < 2**63:
            raise wrong("a 64-bit integer")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind == "object":
        if not isinstance(value, dict):
            raise wrong("an object")
        return value
    if not isinstance(value, str):
        raise wrong("a string")
    if kind == "email":
        value = value.strip()
        if not is_valid_email(value):
            raise ProtocolError("invalid_email", f"'{value[:80]}' is not a valid e-mail address.", cid)
        return value
    if kind == "day":
        if not _DAY.match(value):
            raise wrong("a date like 2026-11-28")
        return value
    if kind == "status":
        if value not in ("open", "closed", "all"):
            raise wrong("one of open, closed, all")
        return value
    limit = _limit(kind)
    if len(value) > limit:
        raise ProtocolError("too_long", f"'{name}' is {len(value)} characters; the limit is {limit}.", cid)
    if kind.startswith("text:") and not value.strip():
        code = "empty_text" if name in ("text", "question") else "invalid_field"
        raise ProtocolError(code, f"'{name}' must not be empty.", cid)
    return value


def decode_command(
    frame: str | bytes, commands: dict[str, _Spec], signals: dict[str, _Spec]
) -> Command:
    """Parse and validate one frame against an endpoint's command and signal tables."""
    if isinstance(frame, bytes):
        raise ProtocolError("bad_json", "Binary frames are not accepted; send JSON text.")
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "A frame must be a JSON object.")
    raw_id = data.get("id")
    cid = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 64 else None
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_frame", "A frame must have a string 'type'.", cid)
    if kind in signals and raw_id is None:
        spec = signals[kind]
    elif kind in commands:
        spec = commands[kind]
        if cid is None:
            raise ProtocolError("invalid_field", "A command needs an 'id': a string of 1-64 characters.")
    else:
        raise ProtocolError("unknown_type", f"Unknown message type '{kind[:40]}'.", cid)
    fields = {name: _check(name, s, data, cid) for name, s in spec.items()}
    retry = data.get("retry") is True
    return Command(kind, cid if kind in commands else None, fields, retry)


def encode(obj: dict[str, Any]) -> str:
    """One frame as compact JSON text (non-ASCII kept as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def ack(command_id: str | None, result: dict[str, Any] | None = None) -> str:
    return encode({"type": "ack", "id": command_id, "result": result or {}})


def error(command_id: str | None, code: str, message: str) -> str:
    return encode({"type": "error", "id": command_id, "code": code, "message": message})
