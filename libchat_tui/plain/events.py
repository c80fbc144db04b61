"""Desk frames as the lines plain mode prints: one complete line per event, written once.

`Narrator.apply(frame)` feeds the frame to the shared `DeskModel` (the same picture of
the desk the full console keeps) and returns the lines it warrants, each with a kind
(`new`, `active`, `ended`, `offer`, `team`, ...) that says whether it rings and, with
colour on, its colour. Patron text goes through `sanitize` exactly as in the full
console, flattened to one line.

The team desk is told too: a colleague's offer of a chat to me (once per offer), my
offers and how they end, take-overs, transfers to a department, colleagues coming,
going, away or online again, and the moment nobody on the desk is online.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import protocol as p
from ..domain import Action, Actor, Chat, ChatState, Message, Note, Sender, TransferOffer, utcnow
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
        self._offers: dict[int, datetime] = {}  # chat -> when the offer already told was made
        self._system_next: set[int] = set()  # chats whose next desk line says what changed
        #: Who is on the desk, as last told: librarian id -> (name, "online" | "away").
        self.roster: dict[str, tuple[str, str]] | None = None

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
        if isinstance(frame, p.TeamEvent):
            return self._team(frame.librarians)
        if isinstance(frame, p.Ack):  # the hello ack: the roster as it is on (re)connecting
            return self._team(list(frame.result.get("librarians") or []))
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
            lines += self._offer(chat)
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
        moved = before is None or chat.last_change != before.last_change
        if before is not None and not moved:
            # No transition: an offer that ended (declined, withdrawn, timed out) or corrected
            # patron details. The desk's line that follows says which, and by whom.
            ended = before.transfer is not None and chat.transfer is None and self._mine(before.transfer)
            edited = (before.patron_name, before.patron_email) != (chat.patron_name, chat.patron_email)
            if ended or edited:
                self._system_next.add(chat.id)
        lines = self._offer(chat)
        if previous is chat.state:
            change = chat.last_change
            if moved and before is not None and change is not None and change.action is Action.TAKE_OVER:
                lines.insert(0, ("active", self._take_over(chat, before)))
            return lines
        if previous is None and chat.state is ChatState.WAITING:
            self._question[chat.id] = chat.question
        line = self.change(previous, chat)
        return lines if line is None else [line, *lines]

    def _mine(self, offer: TransferOffer) -> bool:
        return self.me in (offer.to_id, offer.from_id)

    def _offer(self, chat: Chat) -> list[Line]:
        """A transfer offer to me or from me, told once."""
        offer = chat.transfer
        if offer is None:
            self._offers.pop(chat.id, None)
            return []
        if not self._mine(offer) or self._offers.get(chat.id) == offer.offered_at:
            return []
        self._offers[chat.id] = offer.offered_at
        n = chat.id
        full = (offer.expires_at - offer.offered_at).total_seconds()
        left = round(max(0.0, min(full, (offer.expires_at - self.now()).total_seconds())))
        if offer.to_id == self.me:
            sender = clean_name(offer.from_name or "A colleague", 60)
            note = f", note: {one_line(offer.note)}" if offer.note else ""
            return [("offer", f"{sender} offers you chat {n} with {patron(chat)}{note}; /take {n} takes it, "
                              f"/decline {n} leaves it with them; {left} seconds to answer; they asked: "
                              f"{one_line(chat.question)}")]
        return [("active", f"{n} offered to {clean_name(offer.to_name, 60)}; it stays yours until they "
                           f"answer, {left} seconds; /withdraw {n} takes it back")]

    def _take_over(self, chat: Chat, before: Chat) -> str:
        n, new, old = chat.id, chat.owner, before.owner
        if new is not None and new.id == self.me:
            return f"{n} is yours now: you took it over from {self.who(old)}"
        if old is not None and old.id == self.me:
            return f"{n} taken over by {self.who(new)}; it is no longer yours"
        return f"{n} taken over by {self.who(new)} from {self.who(old)}"

    def change(self, previous: ChatState | None, chat: Chat) -> Line | None:
        """The line for a chat that moved from `previous` to its current state."""
        n, state, change = chat.id, chat.state, chat.last_change
        by = self.who(change.by if change else None)
        at = hm(change.at if change else chat.last_activity)
        if state is ChatState.WAITING:
            place = self._department(chat)
            if previous is None:
                question = one_line(chat.question)
                if not self.model.mine_to_see(chat):
                    return "elsewhere", (f"New chat {n}{place}, which you do not monitor, from "
                                         f"{patron(chat)}: {question}")
                return "new-chat", f"New chat {n}{place} from {patron(chat)}, waiting: {question}"
            if change is not None and change.action is Action.TRANSFER:
                yours = "" if self.model.mine_to_see(chat) else ", a department you do not monitor"
                return "new", (f"{n} transferred by {by} to {one_line(chat.department)}{yours} at {at}; "
                               "it waits first in that line")
            return "new", f"{n} patron is back, still waiting"
        if state is ChatState.ACTIVE:
            if previous is ChatState.RECONNECTING:
                return "active", f"{n} patron is back"
            owner = self.who(chat.owner)
            return "active", f"{n} accepted by {owner} at {hm(chat.accepted_at or chat.last_activity)}"
        if state is ChatState.RECONNECTING:
            return "reconnecting", f"{n} patron reconnecting, {self._grace(chat)} seconds to come back"
        if state is ChatState.ENDED:
            if change is not None and change.action is Action.BLOCK:
                return "ended", f"{n} ended: the patron was blocked by {by} at {at}"
            if change is not None and change.by.kind == "patron":
                if previous is ChatState.WAITING:
                    return "ended", f"{n} {patron(chat)} left at {at} before anyone answered (a missed chat)"
                return "ended", f"{n} closed by the patron at {at}"
            return "ended", f"{n} ended by {by} at {at}"
        if state is ChatState.DISCONNECTED:
            missed = " (a missed chat)" if chat.owner is None else ""
            return "ended", f"{n} disconnected at {at}; offered a ticket{missed}"
        if state is ChatState.CLOSED:
            if change is not None and change.action is Action.DISMISS:
                reason = one_line(chat.dismissed or "")
                return "ended", f"{n} dismissed by {by} at {at}: {reason}; it stays in /history"
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

    def _department(self, chat: Chat) -> str:
        """` in Law library` on a desk of several departments; nothing on a desk of one."""
        if len(self.model.departments) > 1 and chat.department:
            return f" in {one_line(chat.department)}"
        return ""

    def _message(self, message: Message) -> list[Line]:
        n = message.chat_id
        chat = self.model.chats.get(n)
        text = one_line(message.text)
        if message.sender is Sender.SYSTEM and n in self._system_next:
            self._system_next.discard(n)
            return [("active", f"{n} {text}")]
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

    def _team(self, librarians: list[dict[str, Any]]) -> list[Line]:
        """Colleagues who came, left, went away or came back; nobody online any more."""
        now = {str(e.get("id", "")): (str(e.get("name", "")), str(e.get("state", "online")))
               for e in librarians}
        before, self.roster = self.roster, now
        lines: list[Line] = []
        if before is None:
            return lines  # the first roster: told in the connected line
        for lid, (name, state) in now.items():
            old = before.get(lid)
            if lid == self.me or (old is not None and old[1] == state):
                continue
            who = clean_name(name or "a colleague", 60)
            if old is None:
                lines.append(("team", f"{who} is on the desk, {state}"))
            else:
                lines.append(("team", f"{who} is away" if state == "away" else f"{who} is online again"))
        for lid in sorted(set(before) - set(now) - {self.me}):
            lines.append(("team", f"{clean_name(before[lid][0] or 'a colleague', 60)} left the desk"))
        online = any(state == "online" for _, state in now.values())
        if not online and any(state == "online" for _, state in before.values()):
            lines.append(("team", "Nobody on the desk is online now: patrons are offered to leave a "
                                  "ticket instead of chatting"))
        return lines

    # --- whole-desk summaries ----------------------------------------------------------

    def colleagues(self) -> str:
        """The other librarians on the desk and their presence, in words."""
        others = [(name, state) for lid, (name, state) in (self.roster or {}).items() if lid != self.me]
        if not others:
            return "no colleague is on the desk"
        return ", ".join(f"{clean_name(name, 60)} {state}" for name, state in others)

    def describe(self, chat: Chat, current: int | None = None) -> str:
        """One line for /list: number, state, owner, unread, patron and question."""
        now = self.now()
        state = chat.state.value
        if chat.state is ChatState.WAITING:
            state = f"waiting {duration((now - chat.created_at).total_seconds())}"
        elif chat.state is ChatState.RECONNECTING:
            state = f"patron reconnecting, {self._grace(chat)} seconds left"
        parts = [f"{chat.id}", state]
        if self._department(chat):
            parts.append(one_line(chat.department))
        if chat.owner is not None and chat.state is not ChatState.WAITING:
            parts.append("yours" if chat.owner.id == self.me else f"with {self.who(chat.owner)}")
        elif chat.owner is None and chat.state in (ChatState.ENDED, ChatState.DISCONNECTED):
            parts.append("missed")
        offer = chat.transfer
        if offer is not None:
            parts.append(f"offered to you by {clean_name(offer.from_name, 60)}" if offer.to_id == self.me
                         else f"offered to {clean_name(offer.to_name, 60)}")
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
        elsewhere = self.model.waiting_elsewhere()
        more = f" (and {elsewhere} waiting in departments you do not monitor)" if elsewhere else ""
        return f"{waiting} waiting{more}, {active} active, {finished} ended"
