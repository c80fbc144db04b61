"""Plain mode's patron panel: who the patron of a chat is, and correcting their details.

What the full console's patron panel shows (f8, ui/patron_info.py) as lines: name,
e-mail, browser, the page they asked from, department, how long they waited, their
rating, and their other chats and tickets with the same e-mail (`patron_record`). The
e-mail is what the patron typed: it is said every time that it proves nothing about who
they are, and that the earlier chats found by it may be someone else's. `/edit-patron`
corrects the name and e-mail (`edit_patron`, `Act.EDIT_PATRON`), checked as the desk
checks them.
"""

from __future__ import annotations

from typing import Any

from ..client import CommandError
from ..domain import Act, Chat, ChatState, parse_ts
from ..protocol import LIMITS, is_valid_email
from ..sanitize import clean, clean_name
from ..vocabulary import short_browser
from .commands import Command
from .events import one_line, patron
from .session import Session
from .team import refused_line
from .wording import waited

#: Said beside every e-mail a patron typed.
NOT_PROOF = "typed by the patron: not proof of who they are"


async def any_chat(s: Session, number: int | None, command: str) -> Chat:
    """A chat on the desk, or (given its number) a closed one, as the desk stored it."""
    if number is None or number in s.model.chats:
        return s.chat(number, command)
    data = await s.request("transcript", chat_id=number)
    return Chat.from_wire(data["chat"])


def _day(value: Any) -> str:
    at = parse_ts(value) if isinstance(value, str) else None
    return "????-??-??" if at is None else f"{at.astimezone():%Y-%m-%d}"


async def patron_info(s: Session, cmd: Command) -> None:
    chat = await any_chat(s, cmd.chat, "patron")
    say = s.console.line
    email = clean(chat.patron_email, single_line=True, max_len=254) if chat.patron_email else ""
    say(f"Patron of chat {chat.id}: {patron(chat)}, {chat.state.value}.")
    say(f"E-mail: {email} ({NOT_PROOF})." if email else "E-mail: none given.")
    say(f"Browser: {short_browser(chat.browser)}.")
    say(f"Asked from: {clean(chat.page, single_line=True, max_len=200) if chat.page else 'not sent'}")
    if chat.department:
        say(f"Department: {one_line(chat.department)}.")
    say(f"Wait: {waited(chat, s.narrator.now())}.")
    if chat.rating is not None:
        comment = f": {one_line(chat.rating_comment)}" if chat.rating_comment else ""
        say(f"Rated {chat.rating} of 5 stars{comment}")
    if not email:
        say("No e-mail, so no earlier chats or tickets can be looked up.")
    else:
        try:
            record = await s.request("patron_record", chat_id=chat.id)
        except CommandError as exc:
            say(f"Earlier chats and tickets: {exc.message}", "error")
        else:
            for line in record_lines(record):
                say(line)
    say(f"/edit-patron {chat.id} corrects the name or e-mail.")


def record_lines(record: dict[str, Any]) -> list[str]:
    """The patron's other chats and tickets (same e-mail), newest first, one line each."""
    chats, tickets = list(record.get("chats") or []), list(record.get("tickets") or [])
    omitted = record.get("omitted") or {}
    more = int(omitted.get("chats", 0)) + int(omitted.get("tickets", 0))
    if not chats and not tickets:
        return ["No other chats or tickets with the same e-mail."]
    head = (f"Same e-mail: {len(chats)} other chat{'s' * (len(chats) != 1)}, {len(tickets)} "
            f"ticket{'s' * (len(tickets) != 1)}{f' (and {more} older, not listed)' if more else ''}. "
            "The e-mail is what the patron typed, so these may be someone else's:")
    items = [(str(c.get("created_at") or ""), "chat", c) for c in chats]
    items += [(str(t.get("created_at") or ""), "ticket", t) for t in tickets]
    lines = [head]
    for _at, kind, item in sorted(items, key=lambda entry: entry[0], reverse=True):
        if kind == "chat":
            try:
                state = ChatState(str(item.get("state"))).value
            except ValueError:
                state = "?"
            text = one_line(str(item.get("question") or ""))[:200]
            lines.append(f"{_day(item.get('created_at'))} chat {item.get('id')}, {state}: {text}")
        else:
            text = one_line(str(item.get("subject") or ""))[:200]
            status = one_line(str(item.get("status") or ""))
            lines.append(f"{_day(item.get('created_at'))} ticket {item.get('id')}, {status}: {text}")
    lines.append("/transcript N reads a chat, /tickets T a ticket.")
    return lines


async def edit_patron(s: Session, cmd: Command) -> None:
    chat = await any_chat(s, cmd.chat, "edit-patron")
    refused_line(chat, Act.EDIT_PATRON, s)
    current = clean_name(chat.patron_name, LIMITS["name"])
    s.console.line(f"Correct the patron of chat {chat.id}; the transcript notes who changed what, the "
                   "patron is not told. /cancel stops.")
    while True:
        name = " ".join((await s.ask(f'Patron name: Enter keeps "{current}".') or chat.patron_name).split())
        if name and len(name) <= LIMITS["name"]:
            break
        s.console.line(f"The name must be 1 to {LIMITS['name']} characters; type it again, or /cancel.",
                       "error")
    known = clean(chat.patron_email or "", single_line=True)
    keep = f'Enter keeps "{known}", none removes it.' if known else "Enter for none."
    while True:
        answer = await s.ask(f"Patron e-mail ({NOT_PROOF}): {keep}")
        if answer.lower() == "none" or (not answer and not known):
            email: str | None = None
            break
        email = answer or chat.patron_email
        if email is not None and is_valid_email(email.strip()):
            email = email.strip()
            break
        s.console.line(f"'{one_line(answer)[:60]}' is not an e-mail address (like maya@example.edu); type "
                       "one, or none.", "error")
    if (name, email) == (chat.patron_name, chat.patron_email):
        s.console.line("Nothing changed.")
        return

    def corrected(_result: dict[str, Any]) -> None:
        if chat.id not in s.model.chats:  # on the desk, the desk's own line tells it
            s.console.line(f"Corrected the patron's details on chat {chat.id}.")

    await s.submit("edit_patron", f"the patron's details on chat {chat.id}", done=corrected,
                   chat_id=chat.id, name=name, email=email)
