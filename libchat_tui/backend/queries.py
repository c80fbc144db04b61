"""Read-only queries over the store: history search, ticket lists, daily statistics.

Plain functions over a sqlite3 connection, so the server (reader thread) and the
command-line exports (no backend running) share them.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain import Chat
from .rows import TICKET_COLUMNS, ticket_from_row


def fts_query(text: str) -> str:
    """A user's search text as a safe FTS5 query: every word quoted, all words required.

    FTS5 raises a syntax error on raw input such as `"`, `*`, `NEAR(` or a leading `-`;
    quoting each term (doubling inner quotes) makes any input a plain phrase match. The
    last word matches as a prefix, so results appear while typing.
    """
    words = [w for w in text.split() if w.strip('"') or w == '""']
    terms = ['"' + w.replace('"', '""') + '"' for w in words]
    if terms:
        terms[-1] += "*"
    return " ".join(terms)


def history(conn: sqlite3.Connection, query: str, limit: int = 100) -> list[dict[str, Any]]:
    """Closed chats, newest first; with a query, those whose transcript or notes match."""
    match = fts_query(query)
    if not match:
        rows = conn.execute(
            "SELECT data FROM chats WHERE state='closed' ORDER BY closed_at DESC, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT data FROM chats WHERE state='closed' AND id IN"
            " (SELECT chat_id FROM search WHERE search MATCH ?)"
            " ORDER BY closed_at DESC, id DESC LIMIT ?",
            (match, limit),
        ).fetchall()
    return [json.loads(r[0]) for r in rows]


def tickets(conn: sqlite3.Connection, status: str = "all") -> list[dict[str, Any]]:
    """Tickets, open first, newest first within each status."""
    where = "" if status == "all" else "WHERE status = ?"
    params: tuple[Any, ...] = () if status == "all" else (status,)
    rows = conn.execute(
        f"SELECT {TICKET_COLUMNS} FROM tickets {where}"
        " ORDER BY CASE status WHEN 'open' THEN 0 ELSE 1 END, id DESC",
        params,
    ).fetchall()
    return [ticket_from_row(r) for r in rows]


def day_bounds(day: str, utc_offset_minutes: int) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day starts and ends."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(minutes=utc_offset_minutes)
    return start, start + timedelta(days=1)


def day_stats(conn: sqlite3.Connection, day: str, utc_offset_minutes: int = 0) -> dict[str, Any]:
    """The figures of the statistics screen for one local day."""
    start, end = day_bounds(day, utc_offset_minutes)
    chats = [
        Chat.from_wire(json.loads(r[0]))
        for r in conn.execute(
            "SELECT data FROM chats WHERE created_at >= ? AND created_at < ?",
            (start.isoformat(timespec="milliseconds"), end.isoformat(timespec="milliseconds")),
        )
    ]
    waits = [c.wait_seconds for c in chats if c.wait_seconds is not None]
    durations = [
        (c.ended_at - c.accepted_at).total_seconds()
        for c in chats
        if c.accepted_at is not None and c.ended_at is not None
    ]
    missed = sum(1 for c in chats if c.accepted_at is None and c.ended_at is not None)
    per_hour = [0] * 24
    offset = timedelta(minutes=utc_offset_minutes)
    for c in chats:
        per_hour[(c.created_at + offset).hour] += 1
    read_scale = {str(level): 0 for level in range(1, 7)}
    ids = [c.id for c in chats]
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for (fields,) in conn.execute(f"SELECT fields FROM analytics WHERE chat_id IN ({marks})", part):
            level = json.loads(fields).get("read_scale")
            if str(level) in read_scale:
                read_scale[str(level)] += 1
    return {
        "day": day,
        "chats": len(chats),
        "missed": missed,
        "answered": sum(1 for c in chats if c.accepted_at is not None),
        "median_wait_seconds": statistics.median(waits) if waits else None,
        "median_duration_seconds": statistics.median(durations) if durations else None,
        "read_scale": read_scale,
        "per_hour": per_hour,
        # The patrons' 1-5 star ratings of the day's chats (from the widget, after the chat).
        "ratings": {str(n): sum(1 for c in chats if c.rating == n) for n in range(1, 6)},
    }


def analytics_rows(conn: sqlite3.Connection, dataset: str, start: str, end: str) -> list[tuple[Any, ...]]:
    """Entries of one dataset whose chat started on days start..end (inclusive)."""
    return conn.execute(
        "SELECT a.id, a.chat_id, a.fields, a.author, a.created_at, a.updated_at FROM analytics a"
        " JOIN chats c ON c.id = a.chat_id WHERE a.dataset = ?"
        " AND substr(c.created_at, 1, 10) BETWEEN ? AND ? ORDER BY c.created_at, a.id",
        (dataset, start, end),
    ).fetchall()
