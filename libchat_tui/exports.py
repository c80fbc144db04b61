"""Exports: a chat's transcript as Markdown or text, and CSV of analytics and tickets.

Pure functions over wire objects and rows, shared by the console (export a chat) and
the `libchat-tui export` command (which reads the store directly, no backend needed).
Patron text is sanitised on the way out: the store keeps it as sent, files get it clean.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from .sanitize import clean, clean_name

COPIES = ("patron", "librarian")
FORMATS = ("md", "txt")


def _local(ts: str | None) -> str:
    if not ts:
        return ""
    return datetime.fromisoformat(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def transcript_document(data: dict[str, Any], *, copy: str = "librarian", fmt: str = "md") -> str:
    """A chat as a document. The patron copy leaves out internal notes and system events."""
    if copy not in COPIES or fmt not in FORMATS:
        raise ValueError(f"copy must be one of {COPIES} and fmt one of {FORMATS}")
    chat = data["chat"]
    patron = clean_name(chat["patron"]["name"])
    entries: list[tuple[str, str, str, str]] = []  # (at, kind, who, text)
    for m in data["messages"]:
        if m["sender"] == "system" and copy == "patron":
            continue
        who = {"patron": patron, "system": "—"}.get(m["sender"], clean_name(m["author"]))
        entries.append((m["at"], m["sender"], who, clean(m["text"])))
    if copy == "librarian":
        for n in data["notes"]:
            entries.append((n["at"], "note", clean_name(n["author"]), clean(n["text"])))
    entries.sort(key=lambda e: e[0])
    md = fmt == "md"
    title = f"Chat {chat['id']} with {patron}"
    out = [f"# {title}" if md else title, ""]
    if md:
        out.append("")
    meta = [("Started", _local(chat["created_at"])), ("Ended", _local(chat.get("ended_at"))),
            ("Question", clean(chat["question"], single_line=True))]
    if copy == "librarian":
        email = chat["patron"].get("email")
        meta.insert(0, ("Patron", patron + (f" <{clean(email, single_line=True)}>" if email else "")))
        meta.append(("State", chat["state"]))
    omitted = int((data.get("omitted") or {}).get("messages") or 0)
    if omitted:
        meta.append(("Note", f"the {omitted} earliest lines are not in this copy (too long for one "
                             "reply); `libchat-tui export transcript` on the desk machine writes all of it"))
    for key, value in meta:
        if value:
            out.append(f"- **{key}:** {value}" if md else f"{key}: {value}")
    out.append("")
    for at, kind, who, text in entries:
        when = _local(at)[11:]
        if kind == "note":
            head = f"Internal note — {who}, {when}"
            out.append(f"> **{head}**" if md else f"[{head}]")
            out.extend((f"> {line}" if md else f"  {line}") for line in text.splitlines() or [""])
        elif kind == "system":
            out.append(f"*{when} {text}*" if md else f"{when} -- {text}")
        else:
            out.append(f"**{when} {who}:** {text}" if md else f"{when} {who}: {text}")
        if md:
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def analytics_csv(rows: list[tuple[Any, ...]], field_names: list[str]) -> str:
    """RA entries (`queries.analytics_rows`) as CSV, one column per dataset field."""
    auto = ["date_time", "duration_seconds", "wait_seconds", "first_question"]
    columns = ["entry_id", "chat_id", *field_names, *auto, "librarian", "created_at", "updated_at"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for entry_id, chat_id, fields_json, author, created, updated in rows:
        fields = json.loads(fields_json)
        values = [_cell(fields.get(name)) for name in [*field_names, *auto]]
        writer.writerow([entry_id, chat_id, *values, clean_name(author), created, updated])
    return buf.getvalue()


def tickets_csv(tickets: list[dict[str, Any]]) -> str:
    columns = ["id", "chat_id", "status", "source", "name", "email", "subject", "body",
               "created_by", "created_at", "closed_at"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for t in tickets:
        writer.writerow([_cell(t.get(c)) for c in columns])
    return buf.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = clean(str(value))
    # Spreadsheet formula injection: a cell starting with = + - @ is run by Excel/Calc.
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
