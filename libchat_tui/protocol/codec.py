"""Decoding (validated, with a clear error code) and encoding of frames; bounded lists.

Nothing a peer sends makes decoding raise anything but `ProtocolError`: a frame nested
deeper than `MAX_JSON_DEPTH` is refused (`too_deep`) by a scan of its brackets before
msgspec sees it, so no frame can make the decoder recurse a thousand levels.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Final

import msgspec
from msgspec import Struct

from .commands import Hello, LibrarianFrame, PatronFrame
from .events import Ack, Error, LibrarianEvent, PatronEvent
from .frames import (
    CLIPPED_BODY,
    LIST_BUDGET_BYTES,
    MAX_JSON_DEPTH,
    Command,
    Frame,
    ProtocolError,
    is_valid_email,
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


# --- nesting depth ----------------------------------------------------------------------

#: Every byte but the five that shape JSON outside its strings: `"`, `[`, `]`, `{`, `}`.
_NOT_STRUCTURE: Final = bytes(c for c in range(256) if c not in b'"[]{}')
_PARENS: Final = bytes.maketrans(b"[{]}", b"(())")
_RUNS: Final = re.compile(rb"\(+|\)+")
TOO_DEEP: Final = f"The frame nests objects and lists too deeply (at most {MAX_JSON_DEPTH} levels)."


def nested_deeper_than(raw: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does `raw` open more than `limit` objects and lists at once, outside its strings?

    Exact for any JSON text, and cheap (bulk string operations, no loop per character):
    escaped backslashes and quotes are dropped first, so every `"` left opens or closes a
    string; then everything but quotes and brackets, then whatever lies between quotes.
    Each pass that removes the adjacent `()` pairs lowers the deepest point by exactly
    one; what is left is walked by runs of openers and closers.
    """
    if raw.count("[") + raw.count("{") <= limit:
        return False
    shape = raw.encode("utf-8", "surrogatepass")
    if b"\\" in shape:
        shape = shape.replace(b"\\\\", b"")
    if b'\\"' in shape:
        shape = shape.replace(b'\\"', b"")
    shape = shape.translate(_PARENS, _NOT_STRUCTURE)
    if b'"' in shape:
        shape = b"".join(shape.split(b'"')[::2])
    passes = 0
    while passes < 2:
        shorter = shape.replace(b"()", b"")
        if len(shorter) == len(shape):
            break
        shape, passes = shorter, passes + 1
    depth, allowed = 0, limit - passes
    if allowed < 0:
        return True
    for run in _RUNS.findall(shape):
        if run[0] == 0x28:  # "("
            depth += len(run)
            if depth > allowed:
                return True
        else:
            depth -= len(run)
    return False


def _decode(raw: str | bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    if isinstance(raw, bytes):
        raise ProtocolError("bad_json", "Binary frames are not accepted; send JSON text.")
    if nested_deeper_than(raw):
        raise ProtocolError("too_deep", TOO_DEEP, _shallow_id(raw))
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
    except RecursionError:  # not expected after the scan above; still never a crash
        raise ProtocolError("too_deep", TOO_DEEP) from None
    _check(frame)
    return frame


def _envelope(raw: str) -> _Envelope:
    try:
        envelope: _Envelope = _decoder(_Envelope).decode(raw)
        return envelope
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return _Envelope()


def _shallow_id(raw: str) -> str | None:
    """The command id of a frame refused as too deep, if it stands at the top, before the depth."""
    found = re.match(r'\s*\{\s*(?:"type"\s*:\s*"[^"\\]{0,40}"\s*,\s*)?"id"\s*:\s*"([^"\\]{1,64})"', raw)
    return found.group(1) if found else None


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
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
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
