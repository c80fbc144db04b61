"""History: closed chats, newest first, with full-text search over transcripts and notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label

from ...domain import Chat
from ...sanitize import clean, clean_name
from ..badges import hm
from .chat_record import ChatRecordScreen

if TYPE_CHECKING:
    from ..app import LibChatApp


class HistoryScreen(Screen[None]):
    """Search closed chats; enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="history-back"),
        Binding("ctrl+f", "search", "Search", priority=True, id="history-search"),
    ]

    app: LibChatApp

    def compose(self) -> ComposeResult:
        yield Label("History — closed chats, newest first. Type to search transcripts and notes.",
                    markup=False, classes="screen-title")
        yield Input(placeholder="Search (words, names, call numbers…)", id="history-query")
        table: DataTable[str] = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Closed", "#", "Patron", "Question", "Notes", "RA")
        self._timer: Timer | None = None
        self.run_worker(self._search(""), group="history", exclusive=True)
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.25, lambda: self.run_worker(
            self._search(event.value), group="history", exclusive=True))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    async def _search(self, query: str) -> None:
        result = await self.app.request("history", query=query, limit=200)
        if result is None:
            return
        table = self.query_one(DataTable)
        table.clear()
        for data in result["chats"]:
            chat = Chat.from_wire(data)
            closed = chat.closed_at or chat.last_activity
            # DataTable parses plain strings as markup: patron text goes in as Text.
            table.add_row(f"{closed.astimezone():%Y-%m-%d} {hm(closed)}", str(chat.id),
                          Text(clean_name(chat.patron_name, 30)),
                          Text(clean(chat.question, single_line=True, max_len=60)),
                          str(chat.note_count or ""), "✓" if chat.analytics else "", key=str(chat.id))

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(ChatRecordScreen(int(event.row_key.value)))
