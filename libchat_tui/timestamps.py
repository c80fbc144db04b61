"""Timestamps as the desk keeps and sends them: aware UTC datetimes, ISO 8601 with
milliseconds on the wire. No I/O; shared by the domain, its records and the protocol."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_ts(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


def required_ts(text: str) -> datetime:
    """A timestamp that must be there (a wire field that is never null)."""
    value = parse_ts(text)
    assert value is not None
    return value
