"""The patron's side of the desk: ask, talk, leave, drop and resume, tickets, ratings.

Functions over a `Desk` (as after_chat.py is), called by the server's patron
connections. The rules come from the domain (`patron_can_talk`); every write is
acknowledged only after commit. Commands that a patron client may resend after a lost
connection (messages, leave, ticket, rating) take an `idem` key, so the desk applies
each command id at most once per chat, as it does for librarians.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from typing import Any

from .. import protocol as p
from ..domain import (
    FINISHED_STATES,
    PATRON,
    Action,
    Chat,
    ChatState,
    DomainError,
    Sender,
    iso,
    patron_can_talk,
)
from . import blocks, rows
from .desk import MAX_TRANSCRIPT, Desk, Idem, PatronSink
from .store import Outcome, Tx


def chat_ref(token: str) -> str:
    """What a patron knows their chat by: derived one-way from its resume token.

    The desk's own chat ids are sequential and would tell anyone how busy the desk is;
    this says nothing, needs no storage, and cannot be turned back into the token.
    """
    return "c-" + hashlib.sha256(b"libchat chat ref\0" + token.encode()).hexdigest()[:20]


def idem_key(chat_id: int, command_id: str) -> tuple[str, str]:
    """Where a patron command's result is remembered: per chat, never per connection."""
    return (f"patron:{chat_id}", command_id)


def department(desk: Desk, wanted: str | None) -> str:
    """The configured department a patron asked for (any case), or the default one."""
    if wanted is None or not wanted.strip():
        return desk.team.default_department
    for name in desk.team.departments:
        if name.casefold() == wanted.strip().casefold():
            return name
    raise DomainError(f"This desk has no department {wanted.strip()!r}; it has "
                      f"{', '.join(desk.team.departments)}.", "unknown_department")


async def join(desk: Desk, name: str, email: str | None, question: str, *, page: str | None = None,
               sink: PatronSink | None = None, department_name: str | None = None,
               browser: str | None = None,
               origin: tuple[str | None, str | None] | None = None) -> tuple[Chat, str]:
    """A patron asks a question: a new waiting chat. Returns it and its resume token.
    `origin`: the patron's (address, browser id), kept with the chat to block them by."""
    now = desk.clock.now()
    token = secrets.token_urlsafe(32)
    draft = Chat(0, name, email, question, ChatState.WAITING, now, now, page=page,
                 department=department(desk, department_name), browser=browser or None)

    def work(tx: Tx) -> Outcome:
        chat_id = rows.insert_chat(tx, draft, token)
        first = rows.insert_message(tx, chat_id, Sender.PATRON, name, question, now)
        if origin is not None:
            blocks.record_origin(tx, chat_id, *origin)
        chat = replace(draft, id=chat_id, message_count=1)
        rows.save_chat(tx, chat)
        tx.event("chat", {"chat": chat.to_wire()})
        tx.event("message", {"message": first.to_wire(), "message_count": 1})

        def apply() -> None:
            if sink is not None:
                desk.attach(chat_id, sink)
            desk.remember(chat, rows.token_key(token))

        return Outcome({"chat": chat.to_wire()}, apply=apply)

    result = await desk.store.write(work)
    return Chat.from_wire(result["chat"]), token


async def message(desk: Desk, chat_id: int, text: str, idem: Idem = None) -> dict[str, Any]:
    """The patron writes; returns `{"message": ...}`."""
    async with desk.lock(chat_id):
        chat = desk.get(chat_id)
        if not patron_can_talk(chat.state):
            raise DomainError(f"This chat is {chat.state.value}; it takes no messages.", "illegal_transition")
        if chat.message_count >= MAX_TRANSCRIPT:
            raise DomainError("This chat has reached its length limit; please start a new chat.",
                              "transcript_full")
        return await desk.add_message(chat, Sender.PATRON, chat.patron_name, text, "", idem)


async def leave(desk: Desk, chat_id: int, idem: Idem = None) -> dict[str, Any]:
    """The patron ends the chat; returns `{"chat": ...}`."""
    async with desk.lock(chat_id):
        return await desk.transition(desk.get(chat_id), Action.END_BY_PATRON, PATRON, idem=idem,
                                     patron_connected=False)


async def connection_lost(desk: Desk, chat_id: int, sink: PatronSink | None = None) -> None:
    """The patron's socket closed without `leave`: start the reconnect timer.

    `sink` is the closing connection's; if the patron has already resumed on a new
    connection (the old one is only noticed dead later), nothing happens.
    """
    async with desk.lock(chat_id):
        if not desk.detach(chat_id, sink):
            return
        chat = desk.chats.get(chat_id)
        if chat is None or not patron_can_talk(chat.state):
            return
        await desk.transition(chat, Action.CONNECTION_LOST, PATRON, patron_connected=False)


async def resume(desk: Desk, token: str, last_message_id: int,
                 sink: PatronSink | None = None) -> tuple[Chat, list[dict[str, Any]]]:
    """A patron comes back with their resume token; returns the chat and missed messages."""
    chat_id = desk.chat_for_token(token)
    if chat_id is None:
        raise DomainError("That resume token matches no open chat.", "bad_resume_token")
    async with desk.lock(chat_id):
        chat = desk.get(chat_id)
        if sink is not None and chat.state not in FINISHED_STATES:
            desk.attach(chat_id, sink)  # a resume replaces any older connection
        if chat.state is ChatState.RECONNECTING:
            result = await desk.transition(chat, Action.RESUME, PATRON, patron_connected=True)
            chat = Chat.from_wire(result["chat"])
        elif sink is not None and chat.state is ChatState.WAITING:
            position = desk.waiting.position(chat_id)
            if position is not None:
                sink(p.QueueEvent(position))
        missed = await desk.store.read(lambda c: rows.patron_messages(c, chat_id, last_message_id,
                                                                     librarian_only=True))
        return chat, missed


async def transcript(desk: Desk, chat_id: int) -> dict[str, Any]:
    """The patron's copy of the chat: their and the librarians' lines, never notes."""
    def read(conn: Any) -> dict[str, Any]:
        chat = rows.load_chat(conn, chat_id)
        if chat is None:
            raise DomainError("There is no such chat.", "unknown_chat")
        return {"state": chat.state.value, "question": chat.question, "started_at": iso(chat.created_at),
                "ended_at": iso(chat.ended_at), "messages": rows.patron_messages(conn, chat_id, 0)}

    return await desk.store.read(read)


async def rate(desk: Desk, chat_id: int, stars: int, comment: str, idem: Idem = None) -> dict[str, Any]:
    """The patron rates the help after the chat (the librarian sees it in the record)."""
    async with desk.lock(chat_id):

        def work(tx: Tx) -> Outcome:
            chat = desk.chats.get(chat_id) or rows.load_chat(tx, chat_id)
            if chat is None:
                raise DomainError("There is no such chat.", "unknown_chat")
            if chat.state not in FINISHED_STATES and chat.state is not ChatState.CLOSED:
                raise DomainError("A chat can be rated once it has ended.", "illegal_transition")
            if chat.last_change is not None and chat.last_change.action in (Action.BLOCK, Action.DISMISS):
                raise DomainError(blocks.REFUSED, "blocked")  # a blocked patron's words go nowhere
            rated = replace(chat, rating=stars, rating_comment=comment.strip())
            rows.save_chat(tx, rated)
            tx.event("chat", {"chat": rated.to_wire()})

            def apply() -> None:
                current = desk.chats.get(chat_id)
                if current is not None:
                    desk.chats[chat_id] = replace(current, rating=stars, rating_comment=rated.rating_comment)

            return Outcome({}, apply=apply)

        return await desk.store.write(work, idem=idem)


async def offline_ticket(desk: Desk, name: str, email: str, question: str,
                         page: str | None = None) -> dict[str, Any]:
    """Nobody is online: the question becomes a ticket (with a closed chat as its record)."""
    now = desk.clock.now()
    draft = Chat(0, name, email, question, ChatState.CLOSED, now, now, closed_at=now, page=page)

    def work(tx: Tx) -> Outcome:
        chat_id = rows.insert_chat(tx, draft, None)
        rows.insert_message(tx, chat_id, Sender.PATRON, name, question, now)
        ticket = rows.insert_ticket(tx, {
            "chat_id": chat_id, "name": name, "email": email,
            "subject": question.splitlines()[0][:200], "body": question,
            "source": "patron", "created_by": name, "created_at": iso(now)})
        desk.push_ticket(tx, ticket)
        rows.save_chat(tx, replace(draft, id=chat_id, message_count=1, patron_ticket_id=ticket["id"],
                                   ticket_ids=(ticket["id"],)))
        tx.event("ticket", {"ticket": p.clip_ticket(ticket)})
        return Outcome({"ticket": ticket})

    ticket: dict[str, Any] = (await desk.store.write(work))["ticket"]
    return ticket


async def accept_ticket_offer(desk: Desk, chat_id: int, email: str, details: str,
                              idem: Idem = None) -> dict[str, Any]:
    """A disconnected patron accepts the ticket offer: `{"ticket": ...}`, linked to the chat."""
    async with desk.lock(chat_id):
        chat = desk.get(chat_id)
        if chat.state is not ChatState.DISCONNECTED or not chat.ticket_offered:
            raise DomainError("There is no ticket offer for this chat.", "no_ticket_offer")
        if chat.patron_ticket_id is not None:
            raise DomainError("A ticket was already submitted for this chat.", "no_ticket_offer")
        now = desk.clock.now()

        def work(tx: Tx) -> Outcome:
            history = "\n".join(f"{m['author']}: {m['text']}" for m in rows.patron_messages(tx, chat_id, 0))
            body = ((details.strip() + "\n\n" if details.strip() else "") + history)[: p.LIMITS["body"]]
            ticket = rows.insert_ticket(tx, {
                "chat_id": chat_id, "name": chat.patron_name, "email": email,
                "subject": chat.question.splitlines()[0][:200], "body": body,
                "source": "patron", "created_by": chat.patron_name, "created_at": iso(now)})
            desk.push_ticket(tx, ticket)
            text = f"Patron submitted a follow-up ticket (#{ticket['id']})"
            line = rows.insert_message(tx, chat_id, Sender.SYSTEM, "", text, now)
            updated = replace(
                chat, patron_ticket_id=ticket["id"], patron_email=chat.patron_email or email,
                ticket_ids=(*chat.ticket_ids, ticket["id"]), message_count=chat.message_count + 1,
                last_activity=now,
            )
            rows.save_chat(tx, updated)
            tx.event("ticket", {"ticket": p.clip_ticket(ticket)})
            tx.event("chat", {"chat": updated.to_wire()})
            tx.event("message", {"message": line.to_wire(), "message_count": updated.message_count})
            return Outcome({"ticket": ticket}, apply=lambda: desk.remember(updated))

        return await desk.store.write(work, idem=idem)
