"""Patron information: correcting the patron's name and e-mail, their earlier chats and tickets.

`edit_patron` is after-chat work: anyone on the desk may correct the patron's details on
any chat (`Act.EDIT_PATRON`); the change is a system line in the transcript (what changed,
and who changed it), a `chat` event for every console, and exactly-once like every
mutating command. `patron_record` looks up the other chats and tickets of the same
e-mail address (ASCII letters compared without case, as SQLite's `lower()` does), newest
first, bounded in count and in bytes. The e-mail lookups use the expression indexes
`chats_patron_email` and `tickets_email` (schema.py), which follow every write of a chat
or ticket without any code keeping them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from .. import protocol as p
from ..domain import Act, Actor, Chat, DomainError, Sender, check
from . import rows
from .store import Outcome, Tx

if TYPE_CHECKING:
    from .desk import Desk, Idem
    from .server import DeskServer, LibrarianConnection

#: At most this many earlier chats and this many tickets in one `patron_record` answer.
RECORD_LIMIT: Final = 50
#: The chats' and the tickets' share of one frame (`p.fit`).
RECORD_BUDGET: Final = p.LIST_BUDGET_BYTES // 2
#: The patron's e-mail as the chats_patron_email index holds it (the same text, exactly).
CHAT_EMAIL: Final = "lower(json_extract(data, '$.patron.email'))"


def hello_fields(server: DeskServer, conn: LibrarianConnection) -> dict[str, Any]:
    """What this feature adds to the `hello` ack."""
    return {}


def correction(old: Chat, name: str, email: str | None) -> str:
    """What changed, as the transcript says it: "name: Maya → Maya Lin; e-mail: none → …"."""
    changed = []
    if name != old.patron_name:
        changed.append(f"name: {old.patron_name} → {name}")
    if email != old.patron_email:
        changed.append(f"e-mail: {old.patron_email or 'none'} → {email or 'none'}")
    return "; ".join(changed)


async def edit_patron(desk: Desk, chat_id: int, by: Actor, name: str, email: str | None,
                      idem: Idem = None) -> dict[str, Any]:
    """Correct the patron's name and e-mail on a chat (open, or closed and stored)."""
    name = " ".join(name.split())  # one line, as a name is shown
    email = email or None
    now = desk.clock.now()
    async with desk.lock(chat_id):

        def work(tx: Tx) -> Outcome:
            chat = desk.chats.get(chat_id) or rows.load_chat(tx, chat_id)
            if chat is None:
                raise DomainError(f"There is no chat {chat_id}.", "unknown_chat")
            check(chat, Act.EDIT_PATRON, by.id)
            what = correction(chat, name, email)
            if not what:  # nothing to correct: no line, no event (a retry still gets this answer)
                return Outcome({"chat": chat.to_wire()})
            line = rows.insert_message(tx, chat_id, Sender.SYSTEM, "",
                                       f"{by.name} corrected the patron's details ({what})", now)
            updated = replace(chat, patron_name=name, patron_email=email,
                              message_count=chat.message_count + 1, last_activity=now)
            rows.save_chat(tx, updated)
            tx.event("chat", {"chat": updated.to_wire()})
            tx.event("message", {"message": line.to_wire(), "message_count": updated.message_count})

            def apply() -> None:
                current = desk.chats.get(chat_id)
                if current is not None:
                    desk.remember(replace(current, patron_name=name, patron_email=email,
                                          message_count=updated.message_count, last_activity=now))

            return Outcome({"chat": updated.to_wire()}, apply=apply)

        return await desk.store.write(work, idem=idem)


def patron_record(conn: sqlite3.Connection, chat_id: int) -> dict[str, Any]:
    """The other chats and tickets of this chat's patron e-mail, newest first (reader thread)."""
    chat = rows.load_chat(conn, chat_id)
    if chat is None:
        raise DomainError(f"There is no chat {chat_id}.", "unknown_chat")
    email = chat.patron_email
    if not email:
        return {"chats": [], "tickets": [], "omitted": {"chats": 0, "tickets": 0}}
    chats = [Chat.from_wire(json.loads(data)).to_wire() for (data,) in conn.execute(
        f"SELECT data FROM chats WHERE {CHAT_EMAIL} = lower(?) AND id != ? ORDER BY id DESC LIMIT ?",
        (email, chat_id, RECORD_LIMIT))]
    chat_total = conn.execute(f"SELECT count(*) FROM chats WHERE {CHAT_EMAIL} = lower(?) AND id != ?",
                              (email, chat_id)).fetchone()[0]
    tickets = [p.clip_ticket(rows.ticket_from_row(row)) for row in conn.execute(
        f"SELECT {rows.TICKET_COLUMNS} FROM tickets WHERE lower(email) = lower(?) AND chat_id != ?"
        " ORDER BY id DESC LIMIT ?", (email, chat_id, RECORD_LIMIT))]
    ticket_total = conn.execute("SELECT count(*) FROM tickets WHERE lower(email) = lower(?) AND chat_id != ?",
                                (email, chat_id)).fetchone()[0]
    chats, _ = p.fit(chats, RECORD_BUDGET)
    tickets, _ = p.fit(tickets, RECORD_BUDGET)
    return {"chats": chats, "tickets": tickets,
            "omitted": {"chats": chat_total - len(chats), "tickets": ticket_total - len(tickets)}}


# --- protocol handlers ---------------------------------------------------------------


async def _edit_patron(s: DeskServer, who: Actor, c: p.EditPatron, idem: Idem) -> dict[str, Any]:
    return await edit_patron(s.desk, c.chat_id, who, c.name, c.email, idem)


async def _patron_record(s: DeskServer, who: Actor, c: p.PatronRecord, idem: Idem) -> dict[str, Any]:
    return await s.desk.store.read(lambda conn: patron_record(conn, c.chat_id))


#: Command class -> handler (merged into the server's LIBRARIAN_HANDLERS).
HANDLERS: dict[type[Any], Any] = {
    p.EditPatron: _edit_patron,
    p.PatronRecord: _patron_record,
}
