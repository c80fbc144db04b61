"""The after-chat forms as questions asked one at a time: ticket, Reference Analytics, export.

Each question states the allowed answers; Enter takes the value shown (prefilled from the
chat as the full console prefills its forms); /cancel stops without saving. Answers are
checked with the same rules the desk applies (`validate_entry`, `is_valid_email`) so a
mistake is named at once and only that question is asked again.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analytics import AnalyticsError, Dataset, Field, scale_levels, scale_meanings, validate_entry
from ..exports import transcript_document
from ..protocol import LIMITS, is_valid_email
from ..sanitize import clean, clean_name
from .events import one_line

if TYPE_CHECKING:
    from .commands import Command
    from .session import Session


def first_line(text: str) -> str:
    """The subject a question suggests: its first non-empty line, cleaned, at most 200."""
    line = next((part for part in text.splitlines() if part.strip()), text)
    return clean(line.strip(), single_line=True, max_len=LIMITS["subject"])


def ticket_lines(ticket: dict[str, Any]) -> list[str]:
    """A ticket in full for /tickets T: header lines, then the body line by line."""
    source = "from the patron" if ticket.get("source") == "patron" else "by a librarian"
    lines = [f"Ticket {ticket['id']}, {ticket['status']}, {source}, chat {ticket['chat_id']}.",
             f"To: {clean_name(str(ticket['name']), 60)} <{one_line(str(ticket['email']))}>",
             f"Subject: {one_line(str(ticket['subject']))}",
             f"Created by {clean_name(str(ticket.get('created_by', '')), 60)}."]
    lines += [f"  {line}" for line in clean(str(ticket.get("body", ""))).splitlines()]
    lines.append(f"End of ticket {ticket['id']}.")
    return lines


async def _text(s: Session, question: str, default: str, *, required: bool = True) -> str:
    shown = f' Enter for "{default}".' if default else "" if required else " Enter for none."
    while True:
        answer = await s.ask(f"{question}{shown}")
        value = answer or default
        if value or not required:
            return value
        s.console.line("An answer is required here; type it, or /cancel to stop.", "error")


async def ticket(s: Session, cmd: Command) -> None:
    """Create a Ticket from this Chat: name, e-mail, subject, notes or not, then the transcript."""
    chat = s.chat(cmd.chat, "ticket")
    data = await s.request("transcript", chat_id=chat.id)
    s.console.line(f"A follow-up ticket from chat {chat.id}, answered by e-mail. /cancel stops at any "
                   "question.")
    name = await _text(s, "Patron name:", clean_name(chat.patron_name, LIMITS["name"]))
    known = clean(chat.patron_email or "", single_line=True)
    while True:
        email = await _text(s, "Patron e-mail (required: the ticket is answered by e-mail):", known)
        if is_valid_email(email):
            break
        s.console.line(f"'{one_line(email)[:80]}' is not an e-mail address; type one like "
                       "name@example.edu.", "error")
        known = ""
    subject = (await _text(s, "Subject:", first_line(chat.question)))[: LIMITS["subject"]]
    notes = await s.confirm("Include internal notes in the body?")
    body = transcript_document(data, copy="librarian" if notes else "patron", fmt="txt")
    extra = await s.ask(f"The body is the transcript ({len(body.splitlines())} lines). Type a line to "
                        "put before it, or Enter for none:")
    if extra:
        body = f"{extra}\n\n{body}"
    await s.submit("create_ticket", f"the ticket for chat {chat.id}", chat_id=chat.id, name=name,
                   email=email, subject=subject, body=body[: LIMITS["body"]])


def datasets(s: Session) -> dict[str, Dataset]:
    found = None if s.client is None else s.client.datasets()
    if found is None:
        from .session import Refused

        raise Refused("Not connected to the desk yet, so its Reference Analytics datasets are unknown; "
                      "try again when it is.")
    return found


def question(field: Field, current: Any) -> str:
    """The question for one field, with the allowed answers stated."""
    need = "required" if field.required else "optional"
    keep = ""
    if current not in (None, "", []):
        shown = ", ".join(current) if isinstance(current, list) else str(current)
        keep = f' Enter keeps "{one_line(shown)[:60]}".'
    elif not field.required:
        keep = " Enter for none."
    if field.kind == "choice":
        listed = ", ".join(f"{i} {one_line(o)}" for i, o in enumerate(field.options, 1))
        return f"{field.label}, {need}: {listed}. Type a number or a word.{keep}"
    if field.kind == "scale" or (field.kind == "number" and field.min is not None and field.max is not None):
        levels = scale_levels(field)
        what = ", or ? for what each means" if scale_meanings(field) else ""
        return f"{field.label}, {levels[0]} to {levels[-1]}{what} ({need}).{keep}"
    if field.kind == "number":
        return f"{field.label}, a whole number ({need}).{keep}"
    if field.kind == "multi":
        return f"{field.label}, words separated by commas ({need}).{keep}"
    return f"{field.label}, one line of text ({need}).{keep}"


def _value(field: Field, answer: str) -> Any:
    if field.kind == "choice" and answer.isdigit() and 1 <= int(answer) <= len(field.options):
        return field.options[int(answer) - 1]
    return answer


async def analytics(s: Session, cmd: Command) -> None:
    """Add to Reference Analytics: dataset, then each field in turn, then save."""
    chat = s.chat(cmd.chat, "ra")
    sets = datasets(s)
    if not sets:
        from .session import Refused

        raise Refused("No Reference Analytics dataset is configured on this desk; see "
                      "[analytics.datasets] in the settings.")
    data = await s.request("transcript", chat_id=chat.id)
    existing = {str(e["dataset"]): dict(e["fields"]) for e in data.get("analytics", [])}
    names = list(sets)
    name = names[0] if len(names) == 1 else await s.choose("Dataset", names, default=names[0])
    assert name is not None
    dataset = sets[name]
    old = existing.get(name, {})
    editing = bool(old) or name in chat.analytics
    s.console.line(f"{'Editing the entry of' if editing else 'A new entry for'} chat {chat.id} in "
                   f"{name}: {len(dataset.fields)} questions; date, duration and wait are filled in. "
                   "/cancel stops at any question.")
    values: dict[str, Any] = {}
    for field in dataset.fields:
        values[field.name] = await _field(s, dataset, field, old.get(field.name))
    await s.submit("save_analytics", f"the Reference Analytics entry for chat {chat.id}",
                   chat_id=chat.id, dataset=name, fields=values)


async def _field(s: Session, dataset: Dataset, field: Field, current: Any) -> Any:
    one = Dataset(dataset.name, (field,))
    while True:
        answer = await s.ask(question(field, current))
        if answer == "?":
            meanings = scale_meanings(field)
            if not meanings:
                s.console.line("No explanations for this field; type an answer.")
            for level, meaning in meanings.items():
                s.console.line(f"{level}: {meaning}")
            continue
        value = _value(field, answer) if answer else current
        if field.kind == "multi" and isinstance(value, str):
            value = [w.strip() for w in value.split(",") if w.strip()]
        try:
            return validate_entry(one, {field.name: value})[field.name]
        except AnalyticsError as exc:
            s.console.line(f"{exc} Try again, or /cancel.", "error")


async def export(s: Session, cmd: Command) -> None:
    """Write the chat's transcript to a file: patron or librarian copy, Markdown or text."""
    chat = s.chat(cmd.chat, "export")
    data = await s.request("transcript", chat_id=chat.id)
    copy = await s.choose("Which copy", ["patron", "librarian"], default="patron")
    fmt = await s.choose("Format", ["md", "txt"], default="md")
    folder = Path.home() / "libchat-exports"
    default = folder / f"chat-{chat.id}-{copy}.{fmt}"
    path = Path(await _text(s, "File:", str(default))).expanduser()
    if path.exists() and not await s.confirm(f"{path} exists. Replace it?"):
        s.console.line("Nothing written.")
        return
    document = transcript_document(data, copy=copy or "patron", fmt=fmt or "md")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(document, encoding="utf-8")
        tmp.replace(path)  # never a half-written export under the real name
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        s.console.line(f"Could not write {path} ({exc.strerror or exc}); give another file.", "error")
        return
    s.console.line(f"Exported the {copy} copy of chat {chat.id} to {path}.")
