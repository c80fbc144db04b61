"""The desk service: chats, their lifecycle, the reconnect timer, and who hears what.

No sockets here. The server calls these methods; each one checks the request against the
chat in memory (under the chat's lock), writes it through the store, and is answered
only once the write is committed. Librarian events go to `listeners` (with sequence
numbers) and patron events to the chat's patron sink.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ..domain import (
    PATRON,
    SYSTEM,
    Action,
    Actor,
    Chat,
    ChatState,
    DomainError,
    Message,
    Sender,
    iso,
)
from . import afterchat, rows
from .clock import Clock, TimerHandle
from .store import Outcome, Store, Tx

log = logging.getLogger(__name__)

#: Lines a transcript may hold before the patron can add no more (librarians still can).
MAX_TRANSCRIPT = 20_000

PatronSink = Callable[[dict[str, Any]], None]
Listener = Callable[[list[tuple[int, str]]], None]

#: What each transition adds to the transcript; {who} is the actor's name.
SYSTEM_LINES = {
    Action.ACCEPT: "Chat accepted by {who}",
    Action.END_BY_LIBRARIAN: "Chat ended by {who}",
    Action.END_BY_PATRON: "Patron left the chat",
    Action.CONNECTION_LOST: "Patron's connection dropped; waiting {grace} s for them to reconnect",
    Action.RESUME: "Patron reconnected",
    Action.GRACE_EXPIRED: "Patron disconnected; offered a ticket",
    Action.CLOSE: "Chat closed by {who}",
}
#: What the patron is told of a state change (None: nothing).
PATRON_LINES = {
    Action.ACCEPT: "{who} joined the chat.",
    Action.END_BY_LIBRARIAN: "{who} ended the chat. Thank you for contacting the library.",
    Action.END_BY_PATRON: "You left the chat.",
    Action.RESUME: "You are reconnected.",
}
TICKET_OFFER = (
    "We lost the connection to you. Leave your e-mail address and we will follow up by ticket."
)


class Desk:
    """Every chat on the desk and the rules for changing them."""

    def __init__(self, store: Store, clock: Clock, *, grace_seconds: float = 60.0) -> None:
        self.store = store
        self.clock = clock
        self.grace_seconds = grace_seconds
        self.chats: dict[int, Chat] = {}
        self.listeners: list[Listener] = []
        self._tokens: dict[str, int] = {}
        self._sinks: dict[int, PatronSink] = {}
        self._timers: dict[int, TimerHandle] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        store.publish = self._publish

    # --- plumbing --------------------------------------------------------------------

    def _publish(self, frames: list[tuple[int, str]]) -> None:
        for listener in list(self.listeners):
            listener(frames)

    def snapshot(self) -> tuple[int, list[dict[str, Any]]]:
        """The dashboard as of the last published event: (seq, chats)."""
        return self.store.last_seq, [c.to_wire() for c in self.chats.values()]

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def get(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise DomainError(f"There is no open chat {chat_id} on this desk.", "unknown_chat")
        return chat

    def _tell_patron(self, chat_id: int, frame: dict[str, Any]) -> None:
        sink = self._sinks.get(chat_id)
        if sink is not None:
            sink(frame)

    def _remember(self, chat: Chat) -> None:
        if chat.state is ChatState.CLOSED:
            self.chats.pop(chat.id, None)
            self._locks.pop(chat.id, None)
            self._sinks.pop(chat.id, None)
            self._tokens = {t: c for t, c in self._tokens.items() if c != chat.id}
        else:
            self.chats[chat.id] = chat
        if chat.state is not ChatState.RECONNECTING:
            timer = self._timers.pop(chat.id, None)
            if timer is not None:
                timer.cancel()
        elif chat.grace_deadline is not None and chat.id not in self._timers:
            deadline = chat.grace_deadline
            self._timers[chat.id] = self.clock.call_at(deadline, lambda: self._on_grace(chat.id))

    def _on_grace(self, chat_id: int) -> None:
        self._timers.pop(chat_id, None)
        task = asyncio.get_running_loop().create_task(self._expire(chat_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, chat_id: int) -> None:
        try:
            async with self.lock(chat_id):
                chat = self.chats.get(chat_id)
                if chat is None or chat.state is not ChatState.RECONNECTING:
                    return
                if chat.grace_deadline and chat.grace_deadline > self.clock.now():
                    self._remember(replace(chat, grace_deadline=chat.grace_deadline))
                    return
                await self._transition(chat, Action.GRACE_EXPIRED, SYSTEM)
        except DomainError as exc:
            log.error("grace expiry of chat %s failed: %s", chat_id, exc)

    async def _transition(
        self,
        chat: Chat,
        action: Action,
        by: Actor,
        *,
        idem: tuple[str, str] | None = None,
        patron_connected: bool | None = None,
        extra: Callable[[Tx, Chat], None] | None = None,
    ) -> dict[str, Any]:
        """Apply `action` to `chat`, store it with its system line, publish, tell the patron."""
        now = self.clock.now()
        new, change = chat.apply(action, by, now)
        if new.state is ChatState.RECONNECTING:
            new = replace(new, grace_deadline=now + timedelta(seconds=self.grace_seconds))
        line = SYSTEM_LINES[action].format(who=by.name, grace=round(self.grace_seconds))

        def work(tx: Tx) -> Outcome:
            message = rows.insert_message(tx, chat.id, Sender.SYSTEM, "", line, now)
            final = replace(new, message_count=new.message_count + 1)
            rows.record_transition(tx, change)
            if extra is not None:
                extra(tx, final)
            rows.save_chat(tx, final, patron_connected=patron_connected)
            tx.event("chat", {"chat": final.to_wire()})
            tx.event("message", {"message": message.to_wire()})
            return Outcome({"chat": final.to_wire()}, apply=lambda: self._after(final, action, by))

        return await self.store.write(work, idem=idem)

    def _after(self, chat: Chat, action: Action, by: Actor) -> None:
        self._remember(chat)
        text = PATRON_LINES.get(action)
        if text is not None:
            self._tell_patron(
                chat.id,
                {"type": "state", "state": chat.state.value, "by": by.name, "at": iso(chat.last_activity),
                 "text": text.format(who=by.name)},
            )
        if action is Action.END_BY_PATRON or chat.state is ChatState.CLOSED:
            self._sinks.pop(chat.id, None)

    # --- start-up --------------------------------------------------------------------

    async def restore(self) -> int:
        """Load every chat that was not closed; live chats come back as reconnecting."""
        loaded = await self.store.read(rows.open_chats)
        for chat, token, _on in loaded:
            if token:
                self._tokens[token] = chat.id
            if chat.state in (ChatState.WAITING, ChatState.ACTIVE):
                self.chats[chat.id] = chat
                await self._transition(chat, Action.CONNECTION_LOST, SYSTEM, patron_connected=False)
            elif chat.state is ChatState.RECONNECTING:
                deadline = self.clock.now() + timedelta(seconds=self.grace_seconds)
                self._remember(replace(chat, grace_deadline=deadline))
            else:
                self._remember(chat)
        return len(loaded)

    # --- patron side -----------------------------------------------------------------

    async def join(
        self, name: str, email: str | None, question: str, sink: PatronSink | None = None
    ) -> tuple[Chat, str]:
        """A patron asks a question: a new waiting chat. Returns it and its resume token."""
        now = self.clock.now()
        token = secrets.token_urlsafe(32)
        draft = Chat(0, name, email, question, ChatState.WAITING, now, now)

        def work(tx: Tx) -> Outcome:
            chat_id = rows.insert_chat(tx, draft, token)
            first = rows.insert_message(tx, chat_id, Sender.PATRON, name, question, now)
            chat = replace(draft, id=chat_id, message_count=1)
            rows.save_chat(tx, chat)
            tx.event("chat", {"chat": chat.to_wire()})
            tx.event("message", {"message": first.to_wire()})

            def apply() -> None:
                self._tokens[token] = chat_id
                if sink is not None:
                    self._sinks[chat_id] = sink
                self._remember(chat)

            return Outcome({"chat": chat.to_wire()}, apply=apply)

        result = await self.store.write(work)
        return Chat.from_wire(result["chat"]), token

    async def patron_message(self, chat_id: int, text: str) -> Message:
        async with self.lock(chat_id):
            chat = self.get(chat_id)
            if chat.state not in (ChatState.WAITING, ChatState.ACTIVE):
                raise DomainError(f"Chat {chat_id} is {chat.state.value}; it takes no messages.",
                                  "illegal_transition")
            if chat.message_count >= MAX_TRANSCRIPT:
                raise DomainError("This chat has reached its length limit; please start a new chat.",
                                  "transcript_full")
            result = await self._add_message(chat, Sender.PATRON, chat.patron_name, text, "")
        return Message.from_wire(result["message"])

    async def _add_message(
        self, chat: Chat, sender: Sender, author: str, text: str, librarian_id: str,
        idem: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()

        def work(tx: Tx) -> Outcome:
            message = rows.insert_message(tx, chat.id, sender, author, text, now, librarian_id)
            updated = replace(chat, message_count=chat.message_count + 1, last_activity=now)
            rows.save_chat(tx, updated)
            tx.event("message", {"message": message.to_wire()})

            def apply() -> None:
                current = self.chats.get(chat.id, updated)
                self._remember(replace(current, message_count=updated.message_count, last_activity=now))
                if sender is Sender.LIBRARIAN:
                    self._tell_patron(chat.id, {"type": "message", "message": patron_view(message)})

            return Outcome({"message": message.to_wire()}, apply=apply)

        return await self.store.write(work, idem=idem)

    async def patron_leaves(self, chat_id: int) -> Chat:
        async with self.lock(chat_id):
            result = await self._transition(self.get(chat_id), Action.END_BY_PATRON, PATRON,
                                            patron_connected=False)
        return Chat.from_wire(result["chat"])

    async def connection_lost(self, chat_id: int, sink: PatronSink | None = None) -> None:
        """The patron's socket closed without `leave`: start the reconnect timer.

        `sink` is the closing connection's; if the patron has already resumed on a new
        connection (the old one is only noticed dead later), nothing happens.
        """
        async with self.lock(chat_id):
            current = self._sinks.get(chat_id)
            if sink is not None and current is not None and current != sink:
                return
            self._sinks.pop(chat_id, None)
            chat = self.chats.get(chat_id)
            if chat is None or chat.state not in (ChatState.WAITING, ChatState.ACTIVE):
                return
            await self._transition(chat, Action.CONNECTION_LOST, PATRON, patron_connected=False)

    async def resume(
        self, token: str, last_message_id: int, sink: PatronSink | None = None
    ) -> tuple[Chat, list[dict[str, Any]]]:
        """A patron comes back with their resume token; returns the chat and missed messages."""
        chat_id = self._tokens.get(token)
        if chat_id is None:
            raise DomainError("That resume token matches no open chat.", "bad_resume_token")
        async with self.lock(chat_id):
            chat = self.get(chat_id)
            if sink is not None and chat.state in (ChatState.WAITING, ChatState.ACTIVE,
                                                   ChatState.RECONNECTING):
                self._sinks[chat_id] = sink  # a resume replaces any older connection
            if chat.state is ChatState.RECONNECTING:
                result = await self._transition(chat, Action.RESUME, PATRON, patron_connected=True)
                chat = Chat.from_wire(result["chat"])

            def missed(conn: Any) -> list[dict[str, Any]]:
                got = conn.execute(
                    "SELECT id, sender, author, librarian_id, text, at FROM messages"
                    " WHERE chat_id=? AND id>? AND sender='librarian' ORDER BY id",
                    (chat_id, last_message_id),
                ).fetchall()
                return [{"id": r[0], "sender": r[1], "author": r[2], "text": r[4], "at": r[5]} for r in got]

            return chat, await self.store.read(missed)

    async def patron_ticket(self, chat_id: int, email: str, details: str) -> dict[str, Any]:
        """A disconnected patron accepts the ticket offer (see afterchat.patron_ticket)."""
        return await afterchat.patron_ticket(self, chat_id, email, details)

    # --- librarian side --------------------------------------------------------------

    async def accept(self, chat_id: int, by: Actor, idem: tuple[str, str] | None = None) -> dict[str, Any]:
        async with self.lock(chat_id):
            chat = self.get(chat_id)
            if chat.owner is not None and chat.state is not ChatState.WAITING:
                who = "you" if chat.owner.id == by.id else chat.owner.name
                raise DomainError(f"Chat {chat_id} was already accepted by {who}.", "already_accepted")
            return await self._transition(chat, Action.ACCEPT, by, idem=idem)

    def _owned(self, chat_id: int, by: Actor) -> Chat:
        chat = self.get(chat_id)
        if chat.owner is not None and chat.owner.id != by.id:
            raise DomainError(f"Chat {chat_id} belongs to {chat.owner.name}.", "not_owner")
        return chat

    async def librarian_message(
        self, chat_id: int, by: Actor, text: str, idem: tuple[str, str] | None = None
    ) -> dict[str, Any]:
        async with self.lock(chat_id):
            chat = self._owned(chat_id, by)
            if chat.state not in (ChatState.ACTIVE, ChatState.RECONNECTING):
                reason = "accept it first" if chat.state is ChatState.WAITING else "the chat is over"
                raise DomainError(f"Chat {chat_id} is {chat.state.value}; {reason}.", "illegal_transition")
            return await self._add_message(chat, Sender.LIBRARIAN, by.name, text, by.id, idem)

    async def end(self, chat_id: int, by: Actor, idem: tuple[str, str] | None = None) -> dict[str, Any]:
        async with self.lock(chat_id):
            return await self._transition(self._owned(chat_id, by), Action.END_BY_LIBRARIAN, by, idem=idem)

    async def close(self, chat_id: int, by: Actor, idem: tuple[str, str] | None = None) -> dict[str, Any]:
        async with self.lock(chat_id):
            return await self._transition(self.get(chat_id), Action.CLOSE, by, idem=idem,
                                          patron_connected=False)

    def typing(self, chat_id: int, by: Actor) -> None:
        chat = self.chats.get(chat_id)
        if chat is not None and chat.owner is not None and chat.owner.id == by.id:
            self._tell_patron(chat_id, {"type": "typing", "who": by.name})

    async def stored_result(self, librarian_id: str, command_id: str) -> dict[str, Any] | None:
        return await self.store.read(lambda c: rows.stored_result(c, librarian_id, command_id))

    async def events_since(self, seq: int) -> list[tuple[int, str]]:
        return await self.store.read(lambda c: rows.events_since(c, seq))

    async def transcript(self, chat_id: int) -> dict[str, Any]:
        found = await self.store.read(lambda c: rows.transcript(c, chat_id))
        if found is None:
            raise DomainError(f"There is no chat {chat_id}.", "unknown_chat")
        return found


def patron_view(message: Message) -> dict[str, Any]:
    """What a patron may see of a message."""
    return {"id": message.id, "sender": message.sender.value, "author": message.author,
            "text": message.text, "at": iso(message.at)}
