"""The desk service: chats, their lifecycle, the reconnect timer, and who hears what.

No sockets here. The server calls these methods; each one checks the request against
the chat in memory (under the chat's lock) with the domain's rules (`domain.check`),
writes it through the store, and is answered only once the write is committed.
Librarian events go to `listeners` (with sequence numbers) and patron frames to the
chat's patron sink. The patron's side of the desk is in `patrons.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..domain import (
    SYSTEM,
    Act,
    Action,
    Actor,
    Chat,
    ChatState,
    DomainError,
    Message,
    Sender,
    check,
    iso,
    may,
)
from ..libanswers.push import enqueue_analytics, enqueue_ticket
from ..team_settings import TeamSettings
from . import rows
from .blocks import BlockIndex
from .clock import Clock, TimerHandle
from .store import Outcome, Store, Tx
from .waiting_line import WaitingLine

if TYPE_CHECKING:
    from ..libanswers.settings import LibAnswersConfig

log = logging.getLogger(__name__)

#: Lines a transcript may hold before the patron can add no more (librarians still can).
MAX_TRANSCRIPT = 20_000

PatronSink = Callable[[p.Frame], None]
Listener = Callable[[list[tuple[int, str]]], None]
Idem = tuple[str, str] | None

#: What each transition adds to the transcript; {who} is the actor's name.
SYSTEM_LINES = {
    Action.ACCEPT: "Chat accepted by {who}",
    Action.END_BY_LIBRARIAN: "Chat ended by {who}",
    Action.END_BY_PATRON: "Patron left the chat",
    Action.CONNECTION_LOST: "Patron's connection dropped; waiting {grace} for them to reconnect",
    Action.RESUME: "Patron reconnected",
    Action.GRACE_EXPIRED: "Patron disconnected; offered a ticket",
    Action.CLOSE: "Chat closed by {who}",
}
#: What the patron is told of a state change (None: nothing).
PATRON_LINES = {
    Action.ACCEPT: "{who} joined the chat.",
    Action.END_BY_LIBRARIAN: "{who} ended the chat. Thank you for contacting the library.",
    Action.END_BY_PATRON: "You ended the chat.",
    Action.RESUME: "You are reconnected.",
}
TICKET_OFFER = (
    "We lost the connection to you. Leave your e-mail address and we will follow up by ticket."
)


def grace_text(seconds: float) -> str:
    """A grace period as a person says it: "45 s", "2 min", "1 h"."""
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


class Desk:
    """Every chat on the desk and the rules for changing them."""

    def __init__(self, store: Store, clock: Clock, *, grace_seconds: float = 60.0,
                 team: TeamSettings | None = None) -> None:
        self.store = store
        self.clock = clock
        self.grace_seconds = grace_seconds
        self.team = team or TeamSettings()
        #: Librarian id -> the departments they monitor (backend/team.py keeps it).
        self.monitors: dict[str, tuple[str, ...]] = {}
        #: Called with every chat the desk remembers (the transfer timers watch offers).
        self.watchers: list[Callable[[Chat], None]] = []
        self.chats: dict[int, Chat] = {}
        self.listeners: list[Listener] = []
        self.waiting = WaitingLine(self._tell_patron)
        #: The blocks in force, for the door check at `join` (backend/blocks.py).
        self.blocks = BlockIndex()
        #: The team's canned messages, sorted by name, as committed (backend/canned.py keeps it).
        self.canned: list[dict[str, Any]] = []
        #: Where tickets and RA entries are pushed (None: they stay in the store).
        self.libanswers: LibAnswersConfig | None = None
        self._tokens: dict[str, int] = {}  # resume token key -> chat id
        self._token_of: dict[int, str] = {}  # and back, so closing a chat costs no scan
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

    def push_ticket(self, tx: Tx, ticket: dict[str, Any]) -> None:
        """Inside the write that made `ticket`: queue it for LibAnswers, if configured."""
        if self.libanswers is not None and self.libanswers.pushes_tickets:
            enqueue_ticket(tx, ticket)

    def push_analytics(self, tx: Tx, entry: dict[str, Any]) -> None:
        """Inside the write that saved an RA `entry`: queue it for its LibAnswers dataset."""
        if self.libanswers is not None and self.libanswers.pushes(str(entry["dataset"])):
            enqueue_analytics(tx, entry)

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def get(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise DomainError(f"There is no open chat {chat_id} on this desk.", "unknown_chat")
        return chat

    def chat_for_token(self, token: str) -> int | None:
        """The open chat a patron's resume token belongs to (the desk keeps only its hash)."""
        return self._tokens.get(rows.token_key(token))

    def _tell_patron(self, chat_id: int, frame: p.Frame) -> None:
        sink = self._sinks.get(chat_id)
        if sink is not None:
            sink(frame)

    def attach(self, chat_id: int, sink: PatronSink) -> None:
        """`sink` is now the patron's connection; an older one is told and let go."""
        old = self._sinks.get(chat_id)
        self._sinks[chat_id] = sink
        if old is not None and old != sink:
            old(p.Resumed("This chat was opened in another window; it continues there."))

    def detach(self, chat_id: int, sink: PatronSink | None = None) -> bool:
        """Forget the patron's connection (only if it is `sink`); True if it was theirs."""
        current = self._sinks.get(chat_id)
        if sink is not None and current is not None and current != sink:
            return False
        self._sinks.pop(chat_id, None)
        return True

    def remember(self, chat: Chat, token_key: str | None = None) -> None:
        """Keep the chat as it is now (forget it once closed); `token_key`: its resume
        token's key (`rows.token_key`), when it is new or loaded."""
        if token_key is not None:
            self._tokens[token_key] = chat.id
            self._token_of[chat.id] = token_key
        if chat.state is ChatState.CLOSED:
            self.chats.pop(chat.id, None)
            self._locks.pop(chat.id, None)
            self._sinks.pop(chat.id, None)
            key = self._token_of.pop(chat.id, None)
            if key is not None:
                self._tokens.pop(key, None)
        else:
            self.chats[chat.id] = chat
        self.waiting.update(chat)
        for watch in self.watchers:
            watch(chat)
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
                    self.remember(chat)  # woken early: wait for the rest
                    return
                await self.transition(chat, Action.GRACE_EXPIRED, SYSTEM)
        except DomainError as exc:
            log.error("grace expiry of chat %s failed: %s", chat_id, exc)

    async def transition(
        self,
        chat: Chat,
        action: Action,
        by: Actor,
        *,
        idem: Idem = None,
        patron_connected: bool | None = None,
        line: str | None = None,
        patron_text: str | None = None,
        updates: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Apply `action` to `chat`, store it with its system line, publish, tell the patron.

        `line` and `patron_text` replace the action's usual system line and patron
        sentence (a transfer names its department or colleague); `updates` are further
        fields of the new chat (its department, its place in line)."""
        now = self.clock.now()
        new, change = chat.apply(action, by, now)
        if updates:
            new = replace(new, **updates)
        if new.state is ChatState.RECONNECTING:
            # The deadline is stored with the chat: a restarted desk keeps it, and every
            # console shows the same one.
            new = replace(new, grace_deadline=now + timedelta(seconds=self.grace_seconds))
        if line is None:
            line = SYSTEM_LINES[action].format(who=by.name, grace=grace_text(self.grace_seconds))

        def work(tx: Tx) -> Outcome:
            message = rows.insert_message(tx, chat.id, Sender.SYSTEM, "", line, now)
            final = replace(new, message_count=new.message_count + 1)
            rows.record_transition(tx, change)
            rows.save_chat(tx, final, patron_connected=patron_connected)
            tx.event("chat", {"chat": final.to_wire()})
            tx.event("message", {"message": message.to_wire(), "message_count": final.message_count})
            return Outcome({"chat": final.to_wire()},
                           apply=lambda: self._after(final, action, by, patron_text))

        return await self.store.write(work, idem=idem)

    def _after(self, chat: Chat, action: Action, by: Actor, patron_text: str | None = None) -> None:
        text = patron_text or PATRON_LINES.get(action)
        if text is not None:  # first what happened, then (remember) the place in line it gives
            self._tell_patron(chat.id, p.StateEvent(chat.state.value, text.format(who=by.name), by.name,
                                                    iso(chat.last_activity)))
        self.remember(chat)
        if action is Action.END_BY_PATRON or chat.state is ChatState.CLOSED:
            self._sinks.pop(chat.id, None)

    async def add_message(
        self, chat: Chat, sender: Sender, author: str, text: str, librarian_id: str, idem: Idem = None,
    ) -> dict[str, Any]:
        """Store one transcript line; the patron hears the librarian's."""
        now = self.clock.now()

        def work(tx: Tx) -> Outcome:
            message = rows.insert_message(tx, chat.id, sender, author, text, now, librarian_id)
            updated = replace(chat, message_count=chat.message_count + 1, last_activity=now)
            rows.save_chat(tx, updated)
            tx.event("message", {"message": message.to_wire(), "message_count": updated.message_count})

            def apply() -> None:
                current = self.chats.get(chat.id, updated)
                self.remember(replace(current, message_count=updated.message_count, last_activity=now))
                if sender is Sender.LIBRARIAN:
                    self._tell_patron(chat.id, p.PatronMessageEvent(
                        patron_view(message, updated.message_count)))

            if sender is Sender.PATRON:  # the patron's ack gives the line's number in the chat
                return Outcome({"message": message.to_wire(), "number": updated.message_count},
                               apply=apply)
            return Outcome({"message": message.to_wire()}, apply=apply)

        return await self.store.write(work, idem=idem)

    def stop_timers(self) -> None:
        """Stop the reconnect timers (the desk is stopping; a restarted one resumes them)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # --- start-up --------------------------------------------------------------------

    async def restore(self) -> int:
        """Load every chat that was not closed.

        Patrons who were connected when the desk stopped get a full grace period from
        now; a chat that was already reconnecting keeps its stored deadline (a restart
        never gives a patron more time), and expires at once if it has passed.
        """
        await self.blocks.load(self.store, self.clock.now())
        hashed = await self.store.write(lambda tx: Outcome({"hashed": rows.hash_old_tokens(tx)}))
        if hashed["hashed"]:
            log.info("stored %d resume tokens as hashes (an older desk kept them as they were)",
                     hashed["hashed"])
        loaded = await self.store.read(rows.open_chats)
        for chat, token, _on in loaded:
            if chat.state in (ChatState.WAITING, ChatState.ACTIVE):
                self.remember(chat, token)
                await self.transition(chat, Action.CONNECTION_LOST, SYSTEM, patron_connected=False)
            elif chat.state is ChatState.RECONNECTING and chat.grace_deadline is None:
                deadline = self.clock.now() + timedelta(seconds=self.grace_seconds)
                self.remember(replace(chat, grace_deadline=deadline), token)
            else:
                self.remember(chat, token)
        return len(loaded)

    # --- librarian side --------------------------------------------------------------

    async def accept(self, chat_id: int, by: Actor, idem: Idem = None) -> dict[str, Any]:
        async with self.lock(chat_id):
            chat = check(self.get(chat_id), Act.ACCEPT, by.id)
            return await self.transition(chat, Action.ACCEPT, by, idem=idem)

    async def librarian_message(
        self, chat_id: int, by: Actor, text: str, idem: Idem = None
    ) -> dict[str, Any]:
        async with self.lock(chat_id):
            chat = check(self.get(chat_id), Act.SEND, by.id)
            return await self.add_message(chat, Sender.LIBRARIAN, by.name, text, by.id, idem)

    async def end(self, chat_id: int, by: Actor, idem: Idem = None) -> dict[str, Any]:
        async with self.lock(chat_id):
            chat = check(self.get(chat_id), Act.END, by.id)
            return await self.transition(chat, Action.END_BY_LIBRARIAN, by, idem=idem)

    async def close(self, chat_id: int, by: Actor, idem: Idem = None) -> dict[str, Any]:
        async with self.lock(chat_id):
            chat = check(self.get(chat_id), Act.CLOSE, by.id)
            return await self.transition(chat, Action.CLOSE, by, idem=idem, patron_connected=False)

    def typing(self, chat_id: int, by: Actor) -> None:
        chat = self.chats.get(chat_id)
        if chat is not None and may(chat, Act.SEND, by.id):
            self._tell_patron(chat_id, p.PatronTypingEvent(by.name))

    async def stored_result(self, librarian_id: str, command_id: str) -> dict[str, Any] | None:
        return await self.store.read(lambda c: rows.stored_result(c, librarian_id, command_id))

    async def events_since(self, seq: int) -> list[tuple[int, str]]:
        return await self.store.read(lambda c: rows.events_since(c, seq))

    async def transcript(self, chat_id: int) -> dict[str, Any]:
        found = await self.store.read(lambda c: rows.transcript(c, chat_id))
        if found is None:
            raise DomainError(f"There is no chat {chat_id}.", "unknown_chat")
        return found


def patron_view(message: Message, number: int) -> dict[str, Any]:
    """What a patron may see of a message. Its `id` is its number in the chat (1 is the
    question), never the desk's sequential message id, which would show the desk's volume."""
    return {"id": number, "sender": message.sender.value, "author": message.author,
            "text": message.text, "at": iso(message.at)}
