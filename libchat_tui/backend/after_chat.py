"""After-chat work on the desk: internal notes, tickets, Reference Analytics, and lookups.

Notes and tickets are allowed on any chat the store knows, closed ones included (a
closed chat opened from history still takes notes). Each write is acknowledged only
after commit and published to every librarian as an event.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..analytics import AnalyticsError, validate_entry
from ..domain import Actor, Chat, DomainError, iso
from ..libanswers.push import push_states, retry_failed
from . import queries, rows, search_index
from .store import Outcome, Tx

Idem = tuple[str, str] | None

if TYPE_CHECKING:
    from .desk import Desk
    from .server import DeskServer



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
            desk.push_ticket(tx, ticket)
            tx.event("ticket", {"ticket": p.clip_ticket(ticket)})
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
        assert ticket is not None
        tx.event("ticket", {"ticket": p.clip_ticket(ticket)})
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
            search_index.analytics_saved(tx, entry)
            desk.push_analytics(tx, entry)
            tx.event("analytics", {"entry": entry})
            apply = None
            if dataset not in chat.analytics:
                apply = _changed(desk, tx, replace(chat, analytics=(*chat.analytics, dataset)))
            return Outcome({"entry": entry}, apply=apply)

        return await desk.store.write(work, idem=idem)


# --- protocol handlers ---------------------------------------------------------------


async def _note(s: DeskServer, who: Actor, c: p.AddNote, idem: Idem) -> dict[str, Any]:
    return await add_note(s.desk, c.chat_id, who, c.text, idem)


async def _create_ticket(s: DeskServer, who: Actor, c: p.CreateTicket, idem: Idem) -> dict[str, Any]:
    fields = {"name": c.name, "email": c.email, "subject": c.subject, "body": c.body}
    return await create_ticket(s.desk, c.chat_id, who, fields, idem)


async def _close_ticket(s: DeskServer, who: Actor, c: p.CloseTicket, idem: Idem) -> dict[str, Any]:
    return await close_ticket(s.desk, c.ticket_id, who, idem)


async def _save_analytics(s: DeskServer, who: Actor, c: p.SaveAnalytics, idem: Idem) -> dict[str, Any]:
    return await save_analytics(s.desk, s.dataset_models, c.chat_id, who, c.dataset, c.fields, idem)


async def _history(s: DeskServer, who: Actor, c: p.History, idem: Idem) -> dict[str, Any]:
    limit = max(1, min(500, c.limit or 100))

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        found = queries.search_history(conn, c.query, limit)
        kept, left_out = p.fit(found.chats)
        shown = found.snippets(conn, {int(chat["id"]) for chat in kept})
        return {"chats": kept, "snippets": {str(i): snippet.to_wire() for i, snippet in shown.items()},
                "omitted": left_out}

    return await s.desk.store.read(read)


async def _tickets(s: DeskServer, who: Actor, c: p.Tickets, idem: Idem) -> dict[str, Any]:
    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        found = [p.clip_ticket(t) for t in queries.tickets(conn, c.status)]
        rows.with_push_states(conn, "ticket", found)
        return found

    kept, left_out = p.fit(await s.desk.store.read(read))
    return {"tickets": kept, "omitted": left_out}


async def _stats(s: DeskServer, who: Actor, c: p.Stats, idem: Idem) -> dict[str, Any]:
    try:
        date.fromisoformat(c.day)
    except ValueError:
        raise DomainError(f"'{c.day}' is not a day of the calendar.", "invalid_field") from None

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        return queries.day_stats(conn, c.day, c.utc_offset_minutes or 0)

    return await s.desk.store.read(run)


async def _retry_push(s: DeskServer, who: Actor, c: p.RetryPush, idem: Idem) -> dict[str, Any]:
    pusher = s.pusher
    if pusher is None:
        raise DomainError("This desk does not send to LibAnswers ([libanswers] is not set up).",
                          "libanswers_off")
    count = await retry_failed(s.desk.store, c.kind, c.record_id)
    if not count:
        raise DomainError(f"That {c.kind} is not waiting for a retry.", "nothing_to_retry")
    states = await s.desk.store.read(lambda conn: push_states(conn, c.kind, [c.record_id]))
    state = states.get(c.record_id, {})
    s.broadcast_signal(p.PushEvent(c.kind, c.record_id, state, pusher.problem))
    return {"push": state}


#: Command class -> handler, merged into the server's table.
HANDLERS: dict[type[Any], Any] = {
    p.AddNote: _note,
    p.CreateTicket: _create_ticket,
    p.CloseTicket: _close_ticket,
    p.SaveAnalytics: _save_analytics,
    p.History: _history,
    p.Tickets: _tickets,
    p.Stats: _stats,
    p.RetryPush: _retry_push,
}
