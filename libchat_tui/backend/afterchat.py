"""After-chat work on the desk: internal notes, tickets, Reference Analytics, and lookups.

Notes and tickets are allowed on any chat the store knows, closed ones included (a
closed chat opened from history still takes notes). Each write is acknowledged only
after commit and published to every librarian as an event.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..analytics import AnalyticsError, validate_entry
from ..domain import Actor, Chat, ChatState, DomainError, Sender, iso
from . import queries, rows
from .store import Outcome, Tx

if TYPE_CHECKING:
    from .. import protocol as p
    from .desk import Desk
    from .server import DeskServer

Idem = tuple[str, str] | None


def _stored_chat(tx: Tx, desk: Desk, chat_id: int) -> Chat:
    chat = desk.chats.get(chat_id) or rows.load_chat(tx, chat_id)
    if chat is None:
        raise DomainError(f"There is no chat {chat_id}.", "unknown_chat")
    return chat


def _changed(desk: Desk, tx: Tx, chat: Chat) -> Any:
    """Save a changed chat, publish it, and return the memory update (for open chats)."""
    rows.save_chat(tx, chat)
    tx.event("chat", {"chat": chat.to_wire()})

    def apply() -> None:
        if chat.id in desk.chats:
            desk.chats[chat.id] = replace(
                desk.chats[chat.id], note_count=chat.note_count, ticket_ids=chat.ticket_ids,
                analytics=chat.analytics, patron_email=chat.patron_email,
            )

    return apply


async def add_note(desk: Desk, chat_id: int, by: Actor, text: str, idem: Idem = None) -> dict[str, Any]:
    now = desk.clock.now()
    async with desk.lock(chat_id):

        def work(tx: Tx) -> Outcome:
            chat = _stored_chat(tx, desk, chat_id)
            note = rows.insert_note(tx, chat_id, by.id, by.name, text, now)
            tx.event("note", {"note": note.to_wire()})
            apply = _changed(desk, tx, replace(chat, note_count=chat.note_count + 1))
            return Outcome({"note": note.to_wire()}, apply=apply)

        return await desk.store.write(work, idem=idem)


async def create_ticket(desk: Desk, chat_id: int, by: Actor, fields: dict[str, Any],
                        idem: Idem = None) -> dict[str, Any]:
    now = desk.clock.now()
    async with desk.lock(chat_id):

        def work(tx: Tx) -> Outcome:
            chat = _stored_chat(tx, desk, chat_id)
            ticket = rows.insert_ticket(tx, {
                "chat_id": chat_id, "name": fields["name"], "email": fields["email"],
                "subject": fields["subject"], "body": fields["body"], "source": "librarian",
                "created_by": by.name, "created_at": iso(now)})
            tx.event("ticket", {"ticket": ticket})
            updated = replace(chat, ticket_ids=(*chat.ticket_ids, ticket["id"]),
                              patron_email=chat.patron_email or fields["email"])
            return Outcome({"ticket": ticket}, apply=_changed(desk, tx, updated))

        return await desk.store.write(work, idem=idem)


async def close_ticket(desk: Desk, ticket_id: int, by: Actor, idem: Idem = None) -> dict[str, Any]:
    now = desk.clock.now()

    def work(tx: Tx) -> Outcome:
        ticket = rows.load_ticket(tx, ticket_id)
        if ticket is None:
            raise DomainError(f"There is no ticket {ticket_id}.", "unknown_ticket")
        if ticket["status"] == "closed":
            raise DomainError(f"Ticket {ticket_id} is already closed.", "illegal_transition")
        tx.execute("UPDATE tickets SET status='closed', closed_at=? WHERE id=?", (iso(now), ticket_id))
        ticket = rows.load_ticket(tx, ticket_id)
        tx.event("ticket", {"ticket": ticket})
        return Outcome({"ticket": ticket})

    return await desk.store.write(work, idem=idem)


async def save_analytics(desk: Desk, datasets: dict[str, Any], chat_id: int, by: Actor,
                         dataset: str, fields: dict[str, Any], idem: Idem = None) -> dict[str, Any]:
    if dataset not in datasets:
        known = ", ".join(sorted(datasets)) or "none"
        raise DomainError(f"No Reference Analytics dataset '{dataset}' is configured (known: {known}).",
                          "unknown_dataset")
    try:
        clean = validate_entry(datasets[dataset], fields)
    except AnalyticsError as exc:
        raise DomainError(str(exc), "invalid_analytics") from None
    now = desk.clock.now()
    async with desk.lock(chat_id):

        def work(tx: Tx) -> Outcome:
            chat = _stored_chat(tx, desk, chat_id)
            end = chat.ended_at or now
            auto = {
                "date_time": iso(chat.created_at),
                "duration_seconds": round((end - (chat.accepted_at or chat.created_at)).total_seconds()),
                "wait_seconds": None if chat.wait_seconds is None else round(chat.wait_seconds),
                "first_question": chat.question,
            }
            payload = json.dumps({**clean, **auto}, ensure_ascii=False)
            tx.execute(
                "INSERT INTO analytics(chat_id, dataset, fields, librarian_id, author, created_at,"
                " updated_at)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT(chat_id, dataset) DO UPDATE SET"
                " fields=excluded.fields, librarian_id=excluded.librarian_id, author=excluded.author,"
                " updated_at=excluded.updated_at",
                (chat_id, dataset, payload, by.id, by.name, iso(now), iso(now)),
            )
            row = tx.execute(f"SELECT {rows.ANALYTICS_COLUMNS} FROM analytics WHERE chat_id=? AND dataset=?",
                             (chat_id, dataset)).fetchone()
            entry = rows.entry_from_row(row)
            tx.event("analytics", {"entry": entry})
            apply = None
            if dataset not in chat.analytics:
                apply = _changed(desk, tx, replace(chat, analytics=(*chat.analytics, dataset)))
            return Outcome({"entry": entry}, apply=apply)

        return await desk.store.write(work, idem=idem)


async def patron_ticket(desk: Desk, chat_id: int, email: str, details: str) -> dict[str, Any]:
    """A disconnected patron accepts the ticket offer."""
    async with desk.lock(chat_id):
        chat = desk.get(chat_id)
        if chat.state is not ChatState.DISCONNECTED or not chat.ticket_offered:
            raise DomainError("There is no ticket offer for this chat.", "no_ticket_offer")
        if chat.patron_ticket_id is not None:
            raise DomainError("A ticket was already submitted for this chat.", "no_ticket_offer")
        now = desk.clock.now()

        def work(tx: Tx) -> Outcome:
            history = "\n".join(
                f"{r[0]}: {r[1]}"
                for r in tx.execute(
                    "SELECT author, text FROM messages WHERE chat_id=? AND sender!='system' ORDER BY id",
                    (chat_id,),
                )
            )
            body = (details.strip() + "\n\n" if details.strip() else "") + history
            ticket = rows.insert_ticket(tx, {
                "chat_id": chat_id, "name": chat.patron_name, "email": email,
                "subject": chat.question.splitlines()[0][:200], "body": body,
                "source": "patron", "created_by": chat.patron_name, "created_at": iso(now)})
            text = f"Patron submitted a follow-up ticket (#{ticket['id']})"
            line = rows.insert_message(tx, chat_id, Sender.SYSTEM, "", text, now)
            updated = replace(
                chat, patron_ticket_id=ticket["id"], patron_email=chat.patron_email or email,
                ticket_ids=(*chat.ticket_ids, ticket["id"]), message_count=chat.message_count + 1,
            )
            rows.save_chat(tx, updated)
            tx.event("ticket", {"ticket": ticket})
            tx.event("chat", {"chat": updated.to_wire()})
            tx.event("message", {"message": line.to_wire()})
            return Outcome({"ticket": ticket}, apply=lambda: desk._remember(updated))

        ticket: dict[str, Any] = (await desk.store.write(work))["ticket"]
        return ticket



# --- protocol handlers ---------------------------------------------------------------


async def _note(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    return await add_note(s.desk, c["chat_id"], who, c["text"], idem)


async def _create_ticket(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    return await create_ticket(s.desk, c["chat_id"], who, c.fields, idem)


async def _close_ticket(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    return await close_ticket(s.desk, c["ticket_id"], who, idem)


async def _save_analytics(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    return await save_analytics(s.desk, s.dataset_models, c["chat_id"], who, c["dataset"], c["fields"], idem)


async def _history(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    limit = max(1, min(500, c["limit"] or 100))
    chats = await s.desk.store.read(lambda conn: queries.history(conn, c["query"], limit))
    return {"chats": chats}


async def _tickets(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    found = await s.desk.store.read(lambda conn: queries.tickets(conn, c["status"]))
    return {"tickets": found}


async def _stats(s: DeskServer, who: Actor, c: p.Command, idem: Idem) -> dict[str, Any]:
    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        return queries.day_stats(conn, c["day"], c["utc_offset_minutes"] or 0)

    return await s.desk.store.read(run)


HANDLERS = {
    "note": _note,
    "create_ticket": _create_ticket,
    "close_ticket": _close_ticket,
    "save_analytics": _save_analytics,
    "history": _history,
    "tickets": _tickets,
    "stats": _stats,
}
