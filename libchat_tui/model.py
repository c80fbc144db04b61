"""The console's picture of the desk, built from the desk's event frames. No textual.

`DeskModel.apply(frames)` takes a batch of frames (the console coalesces bursts) and
returns a `Changes` saying which chats changed, which were removed, which are new and
waiting, and which transcript lines arrived per chat, so the UI touches only those.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import protocol as p
from .domain import Action, Chat, ChatState, Message, Note, Sender

#: One line of a transcript as the console shows it: a message or an internal note.
TranscriptLine = Message | Note

#: Dashboard order: waiting first, then active, reconnecting, then ended/disconnected.
STATE_ORDER = {
    ChatState.WAITING: 0,
    ChatState.ACTIVE: 1,
    ChatState.RECONNECTING: 2,
    ChatState.ENDED: 3,
    ChatState.DISCONNECTED: 3,
    ChatState.CLOSED: 4,
}


@dataclass
class Changes:
    """What one batch of frames changed."""

    chats: set[int] = field(default_factory=set)
    removed: set[int] = field(default_factory=set)
    new_waiting: list[int] = field(default_factory=list)
    entries: dict[int, list[TranscriptLine]] = field(default_factory=lambda: defaultdict(list))
    tickets: list[dict[str, Any]] = field(default_factory=list)
    analytics: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[tuple[str, int]] = field(default_factory=list)  # (kind, record id) whose push state moved
    snapshot: bool = False
    team: bool = False  # who is on the desk, departments or what I monitor changed
    canned: bool = False  # the team's canned messages changed
    typing: set[int] = field(default_factory=set)  # chats whose patron sent a typing signal
    #: What happened in my chats that the librarian should hear about wherever they look:
    #: (chat id, what, in words). Raw patron text: the console makes it inert.
    alerts: list[tuple[int, str]] = field(default_factory=list)

    @property
    def reorder(self) -> bool:
        return bool(self.chats or self.removed or self.snapshot or self.team)


class DeskModel:
    """Chats on the dashboard, unread counts, and the transcripts the console has loaded."""

    def __init__(self, librarian_id: str = "") -> None:
        self.librarian_id = librarian_id
        self.chats: dict[int, Chat] = {}
        self.unread: dict[int, int] = {}
        self.transcripts: dict[int, list[TranscriptLine]] = {}
        self.typing: dict[int, str] = {}
        self.open_chat: int | None = None
        self._snapshot_pages: list[dict[str, Any]] = []
        #: (kind, record id) -> LibAnswers delivery state, as the desk last said it.
        self.push: dict[tuple[str, int], dict[str, Any]] = {}
        #: What keeps the LibAnswers integration from working (None: healthy or not set up).
        self.libanswers_problem: str | None = None
        #: The team desk, as `hello` and the `team`/`canned` events say: who is on the desk
        #: (`{"id", "name", "state"}`), the departments, the ones I monitor, canned messages.
        self.librarians: list[dict[str, Any]] = []
        self.departments: list[str] = []
        self.monitor: list[str] = []
        self.canned: list[dict[str, Any]] = []
        self.library_name = ""

    def apply(self, frames: list[p.Frame]) -> Changes:
        changes = Changes()
        for frame in frames:
            handler = _HANDLERS.get(type(frame))
            if handler is not None:
                handler(self, frame, changes)
        return changes

    def _on_hello(self, frame: p.Ack, changes: Changes) -> None:
        """The `hello` ack (the client passes it on): the team desk as it is now."""
        result = frame.result
        self.librarians = list(result.get("librarians") or [])
        self.departments = list(result.get("departments") or [])
        self.monitor = list(result.get("monitor") or self.departments)
        self.library_name = str(result.get("library_name") or "")
        changes.team = True
        if "canned" in result:
            self.canned = list(result["canned"] or [])
            changes.canned = True

    def _on_team(self, frame: p.TeamEvent, changes: Changes) -> None:
        self.librarians = list(frame.librarians)
        changes.team = True

    def _on_canned(self, frame: p.CannedEvent, changes: Changes) -> None:
        self.canned = list(frame.messages)
        changes.canned = True

    def _on_snapshot(self, frame: p.Snapshot, changes: Changes) -> None:
        """A snapshot comes in pages; the desk is replaced once the last one is here."""
        self._snapshot_pages.extend(frame.chats)
        if frame.more:
            return
        pages, self._snapshot_pages = self._snapshot_pages, []
        chats = [Chat.from_wire(c) for c in pages]
        gone = set(self.chats) - {c.id for c in chats}
        self.chats = {c.id: c for c in chats}
        for chat_id in gone:
            self.transcripts.pop(chat_id, None)
            self.unread.pop(chat_id, None)
            self.typing.pop(chat_id, None)
        changes.removed |= gone
        changes.snapshot = True
        # Transcripts loaded before the snapshot may have missed lines: load them again.
        self.transcripts.clear()

    def _on_chat(self, frame: p.ChatEvent, changes: Changes) -> None:
        chat = Chat.from_wire(frame.chat)
        if chat.state is ChatState.CLOSED:
            if self.chats.pop(chat.id, None) is not None:
                changes.removed.add(chat.id)
            self.unread.pop(chat.id, None)
            self.transcripts.pop(chat.id, None)
            self.typing.pop(chat.id, None)
            return
        if chat.id not in self.chats and chat.state is ChatState.WAITING:
            changes.new_waiting.append(chat.id)
        before, change = self.chats.get(chat.id), chat.last_change
        news = before is not None and change is not None and change != before.last_change
        if (news and change is not None and change.action in (Action.CONNECTION_LOST, Action.RESUME)
                and chat.owner is not None and chat.id != self.open_chat):  # a drop or reconnect: unread
            self.unread[chat.id] = self.unread.get(chat.id, 0) + 1
        if news and change is not None and self._mine(chat) and change.action in _ALERTS:
            changes.alerts.append((chat.id, f"{chat.patron_name} {_ALERTS[change.action]}"))
        self.chats[chat.id] = chat
        changes.chats.add(chat.id)

    def _on_message(self, frame: p.MessageEvent, changes: Changes) -> None:
        message = Message.from_wire(frame.message)
        chat = self.chats.get(message.chat_id)
        if chat is not None:
            # The desk counts; the console shows its count and never re-derives it.
            self.chats[message.chat_id] = replace(chat, message_count=frame.message_count,
                                                  last_activity=message.at)
            changes.chats.add(message.chat_id)
            if (message.sender is Sender.PATRON and message.chat_id != self.open_chat
                    and chat.state is not ChatState.WAITING):  # a NEW badge says it already
                self.unread[message.chat_id] = self.unread.get(message.chat_id, 0) + 1
            if message.sender is Sender.PATRON and self._mine(chat):
                changes.alerts.append((chat.id, f"{chat.patron_name}: {message.text}"))
        self.typing.pop(message.chat_id, None)
        self._add_entry(message.chat_id, message, changes)

    def _on_note(self, frame: p.NoteEvent, changes: Changes) -> None:
        note = Note.from_wire(frame.note)
        self._add_entry(note.chat_id, note, changes)

    def _on_ticket(self, frame: p.TicketEvent, changes: Changes) -> None:
        changes.tickets.append(frame.ticket)
        ticket, chat_id = frame.ticket, frame.ticket.get("chat_id")
        if (ticket.get("source") == "patron" and ticket.get("status") == "open" and chat_id in self.chats
                and chat_id != self.open_chat):  # the patron left a ticket: unread until the chat is opened
            self.unread[chat_id] = self.unread.get(chat_id, 0) + 1
            changes.chats.add(chat_id)
        if ticket.get("source") == "patron" and ticket.get("status", "open") == "open":
            chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
            if chat is None or self._mine(chat) or chat.owner is None:  # offline forms are everyone's
                who = chat.patron_name if chat is not None else str(ticket.get("name") or "A patron")
                changes.alerts.append((chat_id if isinstance(chat_id, int) else 0,
                                       f"{who} left ticket #{ticket.get('id')}"))

    def _mine(self, chat: Chat) -> bool:
        return chat.owner is not None and chat.owner.id == self.librarian_id

    def _on_analytics(self, frame: p.AnalyticsEvent, changes: Changes) -> None:
        changes.analytics.append(frame.entry)

    def _on_push(self, frame: p.PushEvent, changes: Changes) -> None:
        self.push[(frame.kind, frame.record_id)] = frame.state
        self.libanswers_problem = frame.problem
        changes.pushes.append((frame.kind, frame.record_id))

    def _on_typing(self, frame: p.TypingEvent, changes: Changes) -> None:
        self.typing[frame.chat_id] = frame.who
        changes.typing.add(frame.chat_id)

    def _add_entry(self, chat_id: int, entry: TranscriptLine, changes: Changes) -> None:
        loaded = self.transcripts.get(chat_id)
        if loaded is None:
            return
        if loaded and type(loaded[-1]) is type(entry) and entry.id <= _last_id(loaded, type(entry)):
            return  # already there (the transcript was fetched after this event was stored)
        loaded.append(entry)
        changes.entries[chat_id].append(entry)

    def load_transcript(self, result: dict[str, Any]) -> list[TranscriptLine]:
        """Store a `transcript` command result; messages and notes merged in time order."""
        chat_id = int(result["chat"]["id"])
        messages: list[TranscriptLine] = [Message.from_wire(m) for m in result["messages"]]
        notes: list[TranscriptLine] = [Note.from_wire(n) for n in result["notes"]]
        merged = sorted(messages + notes, key=lambda e: (e.at, isinstance(e, Note), e.id))
        if chat_id in self.chats:
            self.transcripts[chat_id] = merged
        return merged

    def mark_read(self, chat_id: int | None) -> None:
        self.open_chat = chat_id
        if chat_id is not None:
            self.unread.pop(chat_id, None)

    def ordered(self) -> list[Chat]:
        """Dashboard order: waiting (longest waiting first), active, reconnecting, finished."""
        def key(chat: Chat) -> tuple[int, float]:
            rank = STATE_ORDER[chat.state]
            if chat.state is ChatState.WAITING:  # its place in line (a transfer goes to the head)
                return rank, chat.queue_key[0].timestamp()
            return rank, -chat.last_activity.timestamp()

        return sorted(self.chats.values(), key=key)

    def mine_to_see(self, chat: Chat) -> bool:
        """On my list: every chat, except waiting ones in departments I do not monitor."""
        return (chat.state is not ChatState.WAITING or not self.monitor
                or chat.department in self.monitor or not chat.department)

    def listed(self) -> list[Chat]:
        """The dashboard's list, in order: what `mine_to_see` keeps."""
        return [chat for chat in self.ordered() if self.mine_to_see(chat)]

    def waiting_elsewhere(self) -> int:
        """Chats waiting in departments I do not monitor (counted, not listed)."""
        return sum(1 for c in self.chats.values() if c.state is ChatState.WAITING and not self.mine_to_see(c))

    def unstaffed(self) -> list[str]:
        """Departments nobody online monitors: patrons there are offered the offline form
        (by the roster; a desk older than `monitor` in it counts everyone for every one)."""
        if len(self.departments) < 2:
            return []
        online = [e for e in self.librarians if e.get("state") == "online"]
        return [d for d in self.departments
                if not any(d in e.get("monitor", self.departments) for e in online)]

    def counts(self) -> tuple[int, int]:
        """(waiting in my departments, active) on the desk."""
        waiting = sum(1 for c in self.chats.values() if c.state is ChatState.WAITING and self.mine_to_see(c))
        active = sum(1 for c in self.chats.values() if c.state is ChatState.ACTIVE)
        return waiting, active

    def next_waiting(self) -> Chat | None:
        """The longest-waiting chat (first in line) among the departments I monitor."""
        for chat in self.listed():
            if chat.state is ChatState.WAITING:
                return chat
        return None


#: Changes to my chats that alert me, in words after the patron's name.
_ALERTS = {
    Action.CONNECTION_LOST: "lost the connection: the reconnect timer runs",
    Action.RESUME: "is back",
    Action.END_BY_PATRON: "left the chat",
    Action.GRACE_EXPIRED: "did not come back: disconnected, offered a ticket",
}


def _last_id(entries: list[TranscriptLine], kind: type) -> int:
    for entry in reversed(entries):
        if type(entry) is kind:
            return entry.id
    return 0


_HANDLERS: dict[type[Any], Callable[[DeskModel, Any, Changes], None]] = {
    p.Ack: DeskModel._on_hello,
    p.TeamEvent: DeskModel._on_team,
    p.CannedEvent: DeskModel._on_canned,
    p.Snapshot: DeskModel._on_snapshot,
    p.ChatEvent: DeskModel._on_chat,
    p.MessageEvent: DeskModel._on_message,
    p.NoteEvent: DeskModel._on_note,
    p.TicketEvent: DeskModel._on_ticket,
    p.AnalyticsEvent: DeskModel._on_analytics,
    p.TypingEvent: DeskModel._on_typing,
    p.PushEvent: DeskModel._on_push,
}
