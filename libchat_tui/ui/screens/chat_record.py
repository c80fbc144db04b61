"""A chat as stored: transcript, internal notes, tickets and analytics entries (read-only,
except that notes can still be added)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...domain import Act, Chat, may, parse_ts
from ...model import DeskModel
from ...sanitize import clean, clean_name
from ..badges import badge, duration, status_line
from ..messages import ReportsWorkerFailures
from ..widgets.transcript_view import TranscriptView
from .note import NoteScreen

if TYPE_CHECKING:
    from ..app import LibChatApp


def when(ts: str | None) -> str:
    """A desk timestamp as local date and time."""
    at = parse_ts(ts)
    return "?" if at is None else f"{at.astimezone():%Y-%m-%d %H:%M}"


class ChatRecordScreen(ReportsWorkerFailures, Screen[None]):
    """One chat from history or a ticket, with everything attached."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="record-back"),
        Binding("ctrl+n", "note", "Add note", priority=True, id="record-note"),
        Binding("ctrl+o", "export", "Export", tooltip="Export the transcript", priority=True,
                id="record-export"),
    ]

    app: LibChatApp

    def __init__(self, chat_id: int) -> None:
        super().__init__()
        self.chat_id = chat_id
        self.chat: Chat | None = None

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="record-head", markup=False)
        yield TranscriptView(id="record-transcript")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TranscriptView).me = self.app.librarian_id
        self.run_worker(self._load(), group="record", exit_on_error=False)

    async def _load(self) -> None:
        data = await self.app.request("transcript", chat_id=self.chat_id)
        if data is None:
            return
        self.chat = Chat.from_wire(data["chat"])
        self.query_one(TranscriptView).set_entries(DeskModel().load_transcript(data))
        self.query_one("#record-head", Static).update(self._head(data))
        self.query_one(TranscriptView).focus()
        self.refresh_bindings()

    def _head(self, data: dict[str, Any]) -> Any:
        from textual.content import Content

        chat = self.chat
        assert chat is not None
        lines: list[str | Content | tuple[str, str]] = [
            badge(chat.state), "  ", (clean_name(chat.patron_name), "bold"),
            f"  <{clean(chat.patron_email or '', single_line=True)}>" if chat.patron_email else "",
            f"   chat #{chat.id}\n", status_line(chat, self.app.librarian_id, self.app.now()),
        ]
        for ticket in data["tickets"]:
            lines.append(f"\n🎫 Ticket #{ticket['id']} ({ticket['status']}, from the {ticket['source']}, "
                         f"created {when(ticket.get('created_at'))}): "
                         f"{clean(ticket['subject'], single_line=True, max_len=80)}")
        datasets = (self.app.client.datasets() if self.app.client else None) or {}
        for entry in data["analytics"]:
            dataset = datasets.get(str(entry["dataset"]))
            labels = {f.name: f.label for f in dataset.fields} if dataset else {}
            lines.append(f"\n✓ Reference Analytics ({clean(str(entry['dataset']), single_line=True)}):")
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return self.chat is not None and may(self.chat, Act.EXPORT, self.app.librarian_id)
        return True

    def action_export(self) -> None:
        if self.chat is not None:
            self.app.open_after_chat("export", self.chat)

    def action_note(self) -> None:
        if self.chat is not None:
            self.app.push_screen(NoteScreen(self.chat), self._note_saved)

    def _note_saved(self, saved: bool | None) -> None:
        if saved:
            self.run_worker(self._load(), group="record", exit_on_error=False)
