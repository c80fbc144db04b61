"""History: closed chats, newest first, with full-text search over transcripts and notes.

Typing searches as you go (debounced). Any input is fine: the desk quotes every word
before it reaches SQLite FTS5, so `"`, `*`, `NEAR(` or a lone `-` are just text. enter
opens the chat read-only (transcript, notes, tickets, Reference Analytics), where
ctrl+n still adds a note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label

from ...domain import Chat
from ...protocol import LIMITS
from ...sanitize import clean, clean_name
from ..badges import hm
from ..messages import DeskChanged, ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from .chat_record import ChatRecordScreen

if TYPE_CHECKING:
    from ..app import LibChatApp

DEBOUNCE_SECONDS = 0.3
RESULTS = 200


class HistoryScreen(ReportsWorkerFailures, Screen[None]):
    """Search closed chats; enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="history-back"),
        Binding("ctrl+f", "search", "Search", priority=True, id="history-search"),
        Binding("down", "results", "Results", show=False, id="history-results"),
    ]

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.shown_query: str | None = None  # the query whose results are on screen
        self.chats: list[Chat] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="screen-head"):
            yield Label("History — closed chats, newest first", markup=False, classes="screen-title")
            yield Label("Loading…", id="history-summary", markup=False, classes="screen-summary")
        yield Input(placeholder="Search transcripts and notes: words, names, call numbers… "
                                "(↓ to the results)", id="history-query", max_length=LIMITS["query"])
        table: DataTable[Any] = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Closed", "#", "Patron", "Question", "Msgs", "Notes",
                                              "Tickets", "RA")
        self.query_one(Input).focus()

    def on_screen_resume(self) -> None:
        """Search again on the way back (a note may have been added, a chat closed)."""
        self.search_now()

    @property
    def query_text(self) -> str:
        return self.query_one(Input).value

    @on(Input.Changed, "#history-query")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self.search_now)

    @on(Input.Submitted, "#history-query")
    def _submitted(self) -> None:
        if self.shown_query != self.query_text:
            self.search_now()
        self.action_results()

    def search_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.run_worker(self._search(self.query_text), group="history", exclusive=True, exit_on_error=False)

    async def _search(self, query: str) -> None:
        result = await self.app.request("history", query=query, limit=RESULTS)
        summary = self.query_one("#history-summary", Label)
        if result is None:
            summary.update("The search failed (see the message).")
            return
        self.chats = [Chat.from_wire(data) for data in result["chats"]]
        self.shown_query = query
        table = self.query_one(DataTable)
        table.clear()
        for chat in self.chats:
            closed = chat.closed_at or chat.last_activity
            # DataTable parses plain strings as markup: patron text goes in as Text.
            table.add_row(f"{closed.astimezone():%Y-%m-%d} {hm(closed)}", str(chat.id),
                          Text(clean_name(chat.patron_name, 28)),
                          Text(clean(chat.question, single_line=True, max_len=52)),
                          str(chat.message_count), str(chat.note_count or ""),
                          str(len(chat.ticket_ids) or ""), "✓" if chat.analytics else "",
                          key=str(chat.id))
        summary.update(self._summary(query, len(self.chats)))

    @staticmethod
    def _summary(query: str, count: int) -> str:
        more = "+" if count >= RESULTS else ""
        if not query.strip():
            return f"{count}{more} closed chat{'s' if count != 1 else ''}" if count else \
                "No closed chats yet."
        shown = clean(query.strip(), single_line=True, max_len=40)
        if not count:
            return f"No closed chat matches “{shown}”."
        return f"{count}{more} match{'es' if count != 1 else ''} for “{shown}”"

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        changes = event.changes
        if changes.removed and self.is_current:  # chats were closed: they belong here now
            self.search_now()

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_results(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(ChatRecordScreen(int(event.row_key.value)))
