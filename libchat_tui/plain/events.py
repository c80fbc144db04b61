"""Desk frames as the lines plain mode prints: one complete line per event, written once.

`Narrator.apply(frame)` feeds the frame to the shared `DeskModel` (the same picture of
the desk the full console keeps) and returns the lines it warrants, each with a kind
(`new`, `active`, `ended`, ...) that only matters when colour is on. Patron text goes
through `sanitize` exactly as in the full console, flattened to one line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import protocol as p
from ..domain import Actor, Chat, ChatState, Message, Note, Sender, utcnow
from ..model import DeskModel
from ..sanitize import clean, clean_name

Line = tuple[str, str]  # (kind, text)


def hm(at: datetime) -> str:
    """A time as the librarian reads it: local HH:MM."""
    return at.astimezone().strftime("%H:%M")


def duration(seconds: float) -> str:
    """`45 seconds`, `3 minutes`, `1 hour 5 minutes`: words a screen reader says well."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} second{'s' * (total != 1)}"
    minutes, _ = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' * (hours != 1)}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' * (minutes != 1)}")
    return " ".join(parts)


def patron(chat: Chat) -> str:
    return clean_name(chat.patron_name, 60)


def one_line(text: str) -> str:
    """Untrusted text for one line: sanitised, newlines and tabs flattened."""
    return clean(text, single_line=True)


class Narrator:
    """Keeps the desk model and says, in one line each, what every frame changed."""

    def __init__(self, model: DeskModel, *, name: str = "",
                 now: Callable[[], datetime] = utcnow) -> None:
        self.model = model
        self.name = name
        self.now = now
        self.known: dict[int, ChatState] = {}
        self._question: dict[int, str] = {}  # new chats whose question message is still to come
        self._tickets: dict[int, str] = {}  # ticket id -> status last told
        self._entries: set[int] = set()  # analytics entry ids already told

    @property
    def me(self) -> str:
        return self.model.librarian_id

    def who(self, actor: Actor | None) -> str:
        if actor is None or actor.kind == "system":
            return "the desk"
        if actor.kind == "patron":
            return "the patron"
        if actor.id == self.me:
            return "you"
        return clean_name(actor.name or "a colleague", 60)

    # --- frames ------------------------------------------------------------------------

    def apply(self, frame: p.Frame) -> list[Line]:
        """Apply one frame to the model; the lines it warrants (often none)."""
        before = self.model.chats.get(int(frame.chat["id"])) if isinstance(frame, p.ChatEvent) else None
        self.model.apply([frame])
        if isinstance(frame, p.Snapshot):
            return [] if frame.more else self._snapshot()
        if isinstance(frame, p.ChatEvent):
            return self._chat(Chat.from_wire(frame.chat), before)
        if isinstance(frame, p.MessageEvent):
            return self._message(Message.from_wire(frame.message))
        if isinstance(frame, p.NoteEvent):
            return self._note(Note.from_wire(frame.note))
        if isinstance(frame, p.TicketEvent):
            return self._ticket(frame.ticket)
        if isinstance(frame, p.AnalyticsEvent):
            return self._analytics(frame.entry)
        return []

    def _snapshot(self) -> list[Line]:
        """A full picture after a resync: say what changed since the last one we knew."""
        lines: list[Line] = []
        first = not self.known
        for chat in self.model.ordered():
            if not first and self.known.get(chat.id) is not chat.state:
                line = self.change(self.known.get(chat.id), chat)
                if line is not None:
                    lines.append(line)
            self.known[chat.id] = chat.state
        for chat_id in sorted(set(self.known) - set(self.model.chats)):
            del self.known[chat_id]
            lines.append(("ended", f"{chat_id} is no longer on the desk (closed)"))
        return lines

    def _chat(self, chat: Chat, before: Chat | None) -> list[Line]:
        previous = self.known.get(chat.id, before.state if before is not None else None)
        if chat.state is ChatState.CLOSED:
            self.known.pop(chat.id, None)
        else:
            self.known[chat.id] = chat.state
        if previous is chat.state:
            return []
        if previous is None and chat.state is ChatState.WAITING:
            self._question[chat.id] = chat.question
        line = self.change(previous, chat)
        return [] if line is None else [line]

    def change(self, previous: ChatState | None, chat: Chat) -> Line | None:
        """The line for a chat that moved from `previous` to its current state."""
        n, state, change = chat.id, chat.state, chat.last_change
        by = self.who(change.by if change else None)
        at = hm(change.at if change else chat.last_activity)
        if state is ChatState.WAITING:
            if previous is None:
                return "new", f"New chat {n} from {patron(chat)}, waiting: {one_line(chat.question)}"
            return "new", f"{n} patron is back, still waiting"
        if state is ChatState.ACTIVE:
            if previous is ChatState.RECONNECTING:
                return "active", f"{n} patron is back"
            owner = self.who(chat.owner)
            return "active", f"{n} accepted by {owner} at {hm(chat.accepted_at or chat.last_activity)}"
        if state is ChatState.RECONNECTING:
            return "reconnecting", f"{n} patron reconnecting, {self._grace(chat)} seconds to come back"
        if state is ChatState.ENDED:
            if change is not None and change.by.kind == "patron":
                if previous is ChatState.WAITING:
                    return "ended", f"{n} {patron(chat)} left at {at} before anyone answered (a missed chat)"
                return "ended", f"{n} closed by the patron at {at}"
            return "ended", f"{n} ended by {by} at {at}"
        if state is ChatState.DISCONNECTED:
            return "ended", f"{n} disconnected at {at}; offered a ticket"
        if state is ChatState.CLOSED:
            return "ended", f"{n} closed by {by} at {at}; it stays in /history"
        return None

    def _grace(self, chat: Chat) -> int:
        deadline = chat.grace_deadline
        if deadline is None:
            return 0
        since = chat.last_change.at if chat.last_change else self.now()
        full = (deadline - since).total_seconds()
        left = (deadline - self.now()).total_seconds()
        return max(0, round(min(full, left) if left > 0 else 0))

    def _message(self, message: Message) -> list[Line]:
        n = message.chat_id
        chat = self.model.chats.get(n)
        text = one_line(message.text)
        if message.sender is Sender.PATRON:
            if self._question.pop(n, None) == message.text:
                return []  # the question, already read out in the "New chat" line
            name = patron(chat) if chat is not None else clean_name(message.author, 60)
            return [("", f"{n} {name}: {text}")]
        if message.sender is Sender.LIBRARIAN and message.librarian_id != self.me:
            return [("", f"{n} {clean_name(message.author or 'a colleague', 60)}: {text}")]
        return []  # your own lines (you typed them) and system lines (told as state changes)

    def _note(self, note: Note) -> list[Line]:
        who = "you" if note.librarian_id == self.me else clean_name(note.author, 60)
        return [("note", f"{note.chat_id} internal note by {who}: {one_line(note.text)}")]

    def _ticket(self, ticket: dict[str, Any]) -> list[Line]:
        tid, status = int(ticket["id"]), str(ticket.get("status", "open"))
        told = self._tickets.get(tid)
        self._tickets[tid] = status
        if told == status:
            return []
        chat = ticket.get("chat_id")
        if told is not None or status == "closed":
            return [("ticket", f"Ticket {tid} (chat {chat}) is now {status}")]
        email = one_line(str(ticket.get("email", "")))
        subject = one_line(str(ticket.get("subject", "")))
        if ticket.get("source") == "patron":
            return [("ticket", f"Ticket {tid} from the patron of chat {chat}, {email}: {subject}")]
        creator = str(ticket.get("created_by", ""))
        by = "you" if creator == self.name else clean_name(creator, 60)
        return [("ticket", f"Ticket {tid} created for chat {chat} by {by}, to {email}: {subject}")]

    def _analytics(self, entry: dict[str, Any]) -> list[Line]:
        eid = int(entry["id"])
        verb = "updated in" if eid in self._entries else "added to"
        self._entries.add(eid)
        who = "you" if entry.get("librarian_id") == self.me else clean_name(str(entry.get("author", "")), 60)
        dataset = one_line(str(entry.get("dataset", "")))
        return [("note", f"{entry['chat_id']} {verb} Reference Analytics ({dataset}) by {who}")]

    # --- whole-desk summaries ----------------------------------------------------------

    def describe(self, chat: Chat, current: int | None = None) -> str:
        """One line for /list: number, state, owner, unread, patron and question."""
        now = self.now()
        state = chat.state.value
        if chat.state is ChatState.WAITING:
            state = f"waiting {duration((now - chat.created_at).total_seconds())}"
        elif chat.state is ChatState.RECONNECTING:
            state = f"patron reconnecting, {self._grace(chat)} seconds left"
        parts = [f"{chat.id}", state]
        if chat.owner is not None and chat.state is not ChatState.WAITING:
            parts.append("yours" if chat.owner.id == self.me else f"with {self.who(chat.owner)}")
        unread = self.model.unread.get(chat.id, 0)
        if unread:
            parts.append(f"{unread} unread")
        if chat.id == current:
            parts.append("current")
        return f"{', '.join(parts)}; {patron(chat)}: {one_line(chat.question)}"

    def summary(self) -> str:
        waiting, active = self.model.counts()
        finished = sum(1 for c in self.model.chats.values()
                       if c.state in (ChatState.ENDED, ChatState.DISCONNECTED))
        return f"{waiting} waiting, {active} active, {finished} ended"
