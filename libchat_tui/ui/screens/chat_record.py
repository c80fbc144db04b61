"""A chat as stored: transcript, internal notes, tickets and analytics entries (read-only,
except that notes can still be added), with the patron's rating, the page they asked
from, and each ticket's and entry's delivery to LibAnswers (live; r sends a refused one
again).

Also home to the few lines other screens share about a chat after it: the rating in
stars and words, a LibAnswers push state as a line, and a palette provider that offers
the front screen's keys that apply now.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from ...domain import Act, Chat, may, parse_ts
from ...libanswers.states import describe_push
from ...model import DeskModel
from ...sanitize import clean, clean_name
from ..badges import badge, duration, status_line
from ..messages import DeskChanged, ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from ..widgets.transcript_view import TranscriptView
from .note import NoteScreen

if TYPE_CHECKING:
    from ..app import LibChatApp

#: A push state's glyph and theme colour: the glyph and the words carry it, never colour alone.
PUSH_MARKS = {"sent": ("✓", "$text-success"), "waiting": ("…", "$text-warning"),
              "refused": ("⚠", "$text-error")}


def when(ts: str | None) -> str:
    """A desk timestamp as local date and time."""
    at = parse_ts(ts)
    return "?" if at is None else f"{at.astimezone():%Y-%m-%d %H:%M}"


def stars(count: int) -> str:
    """1-5 stars as five glyphs, filled then empty: ★★★★☆."""
    count = max(0, min(5, count))
    return "★" * count + "☆" * (5 - count)


def rating_text(chat: Chat, max_len: int = 300) -> str | None:
    """The patron's rating as a librarian reads it, "★★★★☆ 4 of 5: <comment>"; None if unrated."""
    if chat.rating is None:
        return None
    text = f"{stars(chat.rating)} {chat.rating} of 5"
    comment = clean(chat.rating_comment, single_line=True, max_len=max_len).strip()
    return f"{text}: {comment}" if comment else text


def push_line(kind: str, state: dict[str, Any], now: datetime) -> Content:
    """A ticket's or RA entry's delivery to LibAnswers, glyph first ("⚠ refused by LibAnswers: …")."""
    glyph, colour = PUSH_MARKS.get(str(state.get("state")), ("?", "$text-muted"))
    text = clean(describe_push(kind, state, now), single_line=True, max_len=300)
    return Content.styled(f"{glyph} {text}", colour)


def push_due(states: Any) -> bool:
    """Whether any of these states shows a countdown ("next try in 40 s") to keep current."""
    return any(s.get("state") == "waiting" and s.get("next_try_at") for s in states)


#: Actions the palette leaves out: going back is esc, not a command.
BACK = ("app.pop_screen", "back")


class ScreenKeys(Provider):
    """The command palette offers the front screen's own keys that apply now."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        screen = self.screen
        found = []
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if active.node is not screen or not active.enabled or binding.action in BACK:
                continue
            found.append((binding.description, f"{binding.tooltip or binding.description} ({key})",
                          partial(screen.run_action, binding.action)))
        return found

    async def discover(self) -> Hits:
        for name, help_text, run in self._commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, run in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)


class ChatRecordScreen(ReportsWorkerFailures, Screen[None]):
    """One chat from history or a ticket, with everything attached."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="record-back"),
        Binding("ctrl+n", "note", "Add note", priority=True, id="record-note"),
        Binding("ctrl+o", "export", "Export", tooltip="Export the transcript", priority=True,
                id="record-export"),
        Binding("r", "retry_push", "Send again", id="record-retry-push",
                tooltip="Send the tickets and RA entries LibAnswers refused again (fix the cause first)"),
    ]
    COMMANDS: ClassVar[set[Any]] = {ScreenKeys}

    app: LibChatApp

    def __init__(self, chat_id: int) -> None:
        super().__init__()
        self.chat_id = chat_id
        self.chat: Chat | None = None
        self.data: dict[str, Any] | None = None  # the `transcript` result shown
        #: (kind, record id) -> LibAnswers delivery state of this chat's tickets and RA entries.
        self.push: dict[tuple[str, int], dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="record-head", markup=False)
        yield TranscriptView(id="record-transcript")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(TranscriptView).me = self.app.librarian_id
        self.run_worker(self._load(), group="record", exit_on_error=False)
        self.set_interval(1.0, self._countdown)

    async def _load(self, *, head_only: bool = False) -> None:
        data = await self.app.request("transcript", quiet=head_only, chat_id=self.chat_id)
        if data is None:
            return
        self.chat = Chat.from_wire(data["chat"])
        self.data = data
        for kind, records in (("ticket", data["tickets"]), ("analytics", data["analytics"])):
            for record in records:
                if "push" in record:
                    self.push[(kind, int(record["id"]))] = record["push"]
        if not head_only:
            self.query_one(TranscriptView).set_entries(DeskModel().load_transcript(data))
            self.query_one(TranscriptView).focus()
        self.show_head()
        self.refresh_bindings()

    def show_head(self) -> None:
        if self.data is not None:
            self.query_one("#record-head", Static).update(self._head(self.data))

    def _head(self, data: dict[str, Any]) -> Content:
        chat = self.chat
        assert chat is not None
        now = self.app.now()
        lines: list[str | Content | tuple[str, str]] = [
            badge(chat.state), "  ", (clean_name(chat.patron_name), "bold"),
            f"  <{clean(chat.patron_email or '', single_line=True)}>" if chat.patron_email else "",
            f"   chat #{chat.id}\n", status_line(chat, self.app.librarian_id, now),
        ]
        if chat.page:
            lines.append(f"\nAsked from: {clean(chat.page, single_line=True, max_len=200)}")
        if chat.dismissed:  # dismiss and block (ui/blocks.py): the librarian's reason
            lines.append(f"\nDismissed: {clean(chat.dismissed, single_line=True, max_len=500)}")
        rated = rating_text(chat)
        lines.append(f"\nPatron's rating: {rated}" if rated else "\nPatron's rating: not rated")
        for ticket in data["tickets"]:
            lines.append(f"\n🎫 Ticket #{ticket['id']} ({ticket['status']}, from the {ticket['source']}, "
                         f"created {when(ticket.get('created_at'))}): "
                         f"{clean(ticket['subject'], single_line=True, max_len=80)}")
            lines += self._push_lines("ticket", int(ticket["id"]), now)
        datasets = (self.app.client.datasets() if self.app.client else None) or {}
        for entry in data["analytics"]:
            dataset = datasets.get(str(entry["dataset"]))
            labels = {f.name: f.label for f in dataset.fields} if dataset else {}
            lines.append(f"\n✓ Reference Analytics ({clean(str(entry['dataset']), single_line=True)}):")
            lines += self._push_lines("analytics", int(entry["id"]), now)
            for key, value in entry["fields"].items():
                if value in (None, "", []):
                    continue
                shown, label = ", ".join(map(str, value)) if isinstance(value, list) else str(value), \
                    labels.get(key) or key.replace("_", " ").capitalize()
                if key == "date_time":
                    shown, label = when(str(value)), "Date and time"
                elif key.endswith("_seconds") and isinstance(value, int | float):
                    shown, label = duration(value), label.removesuffix(" seconds")
                lines.append(f"\n    {clean(label, single_line=True, max_len=40)}: "
                             f"{clean(shown, single_line=True, max_len=200)}")
        return Content.assemble(*lines)

    def _push_lines(self, kind: str, record_id: int, now: datetime) -> list[str | Content]:
        state = self.push.get((kind, record_id))
        if state is None:
            return []
        lines: list[str | Content] = ["\n    LibAnswers: ", push_line(kind, state, now)]
        if state.get("state") == "sent" and state.get("remote_url"):
            lines.append(f"\n      {clean(str(state['remote_url']), single_line=True, max_len=200)}")
        return lines

    def _countdown(self) -> None:
        """Once a second while a "next try in …" is shown, so it counts down."""
        if push_due(self.push.values()):
            self.show_head()

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        """Push states move live; a rating (a `chat` event) or a new ticket or entry reloads the head."""
        changes = event.changes
        moved = False
        for key in changes.pushes:
            if key in self.push or self._has_record(*key):
                state = self.app.model.push.get(key)
                if state is not None:
                    self.push[key] = state
                    moved = True
        if moved:
            self.show_head()
            self.refresh_bindings()
        ours = any(int(r.get("chat_id", -1)) == self.chat_id for r in (*changes.tickets, *changes.analytics))
        rated = self.chat_id in changes.chats or self.chat_id in changes.removed  # e.g. a rating came
        if self.data is not None and (ours or rated):
            self.run_worker(self._load(head_only=True), group="record-head", exclusive=True,
                            exit_on_error=False)

    def _has_record(self, kind: str, record_id: int) -> bool:
        if self.data is None:
            return False
        records = self.data["tickets"] if kind == "ticket" else self.data["analytics"]
        return any(int(r["id"]) == record_id for r in records)

    def refused(self) -> list[tuple[str, int]]:
        """This chat's tickets and RA entries that LibAnswers refused (r sends them again)."""
        return [key for key, state in self.push.items() if state.get("state") == "refused"]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return self.chat is not None and may(self.chat, Act.EXPORT, self.app.librarian_id)
        if action == "retry_push":  # greyed while something is on its way, hidden when nothing is
            return True if self.refused() else (None if self.push else False)
        return True

    def action_export(self) -> None:
        if self.chat is not None:
            self.app.open_after_chat("export", self.chat)

    def action_note(self) -> None:
        if self.chat is not None:
            self.app.push_screen(NoteScreen(self.chat), self._note_saved)

    def action_retry_push(self) -> None:
        refused = self.refused()
        if refused:
            self.run_worker(self._retry(refused), group="record-retry", exit_on_error=False)

    async def _retry(self, refused: list[tuple[str, int]]) -> None:
        for kind, record_id in refused:
            result = await self.app.request("retry_push", kind=kind, record_id=record_id)
            if result is not None:
                self.push[(kind, record_id)] = result["push"]
                what = f"Ticket #{record_id}" if kind == "ticket" else "The Reference Analytics entry"
                self.app.notify(f"{what} is queued to be sent to LibAnswers again.", markup=False)
        self.show_head()
        self.refresh_bindings()

    def _note_saved(self, saved: bool | None) -> None:
        if saved:
            self.run_worker(self._load(), group="record", exit_on_error=False)
