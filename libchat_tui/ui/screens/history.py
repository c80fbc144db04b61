"""History: closed chats, newest first, or the best matches of a search.

Typing searches as you go (debounced). The desk searches each chat as one document —
patron name and e-mail, librarian, question, messages, notes, tickets, Reference
Analytics — and every word must occur somewhere in it, the last one as a prefix. Any
input is fine: `"`, `*`, `NEAR(` or a lone `-` are just text. Under the table, the
highlighted chat's snippet shows why it matched. ↓ or enter in the search box moves to
the results; enter on a chat opens it read-only (transcript, notes, tickets, Reference
Analytics), where ctrl+n still adds a note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Static

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

    COMPONENT_CLASSES: ClassVar[set[str]] = {"history--hit"}

    DEFAULT_CSS = """
    HistoryScreen > .history--hit { text-style: bold underline; color: $text-accent; }
    #history-snippet { height: 2; margin: 0 1; color: $text-muted; }
    """

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
        #: chat id -> (snippet text, [start, end) spans of the words that matched), as sent.
        self.snippets: dict[int, tuple[str, list[tuple[int, int]]]] = {}
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="screen-head"):
            yield Label("History — closed chats", markup=False, classes="screen-title")
            yield Label("Loading…", id="history-summary", markup=False, classes="screen-summary")
        yield Input(placeholder="Search names, e-mail, transcripts, notes, tickets, RA… "
                                "(↓ to the results)", id="history-query", max_length=LIMITS["query"])
        table: DataTable[Any] = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="history-snippet", markup=False)
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
        self.snippets = _snippets(result.get("snippets"))
        self.shown_query = query
        table = self.query_one(DataTable)
        table.clear()
        for chat in self.chats:
            closed = chat.closed_at or chat.last_activity
            # DataTable parses plain strings as markup: patron text goes in as Text.
            table.add_row(f"{closed.astimezone():%Y-%m-%d} {hm(closed)}", str(chat.id),
                          Text(clean_name(chat.patron_name, 28)),
                          Text(clean(f"✖ Dismissed: {chat.dismissed} · {chat.question}" if chat.dismissed
                                     else chat.question, single_line=True, max_len=52)),
                          str(chat.message_count), str(chat.note_count or ""),
                          str(len(chat.ticket_ids) or ""), "✓" if chat.analytics else "",
                          key=str(chat.id))
        summary.update(self._summary(query, len(self.chats)))
        self._show_snippet(table.cursor_row)

    @staticmethod
    def _summary(query: str, count: int) -> str:
        more = "+" if count >= RESULTS else ""
        if not query.strip():
            return f"{count}{more} closed chat{'s' if count != 1 else ''}, newest first" if count else \
                "No closed chats yet."
        shown = clean(query.strip(), single_line=True, max_len=40)
        if not count:
            return f"No closed chat matches “{shown}”."
        return f"{count}{more} match{'es' if count != 1 else ''} for “{shown}”, best first"

    @on(DataTable.RowHighlighted, "#history-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_snippet(event.cursor_row)

    def _show_snippet(self, row: int) -> None:
        """Under the table: why the highlighted chat matched (or what to try if none did)."""
        line = self.query_one("#history-snippet", Static)
        if self.shown_query and self.shown_query.strip() and not self.chats:
            several = len(self.shown_query.split()) > 1
            line.update("Every word must occur somewhere in one chat: try fewer words, or the start of one."
                        if several else "Try the start of the word, or another spelling.")
            return
        found = self.snippets.get(self.chats[row].id) if 0 <= row < len(self.chats) else None
        line.update(Text() if found is None else
                    snippet_text(*found, self.get_component_rich_style("history--hit", partial=True)))

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


def _snippets(wire: object) -> dict[int, tuple[str, list[tuple[int, int]]]]:
    """The `snippets` of a history result, keeping only well-formed entries."""
    found: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    if not isinstance(wire, dict):
        return found
    for key, value in wire.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and isinstance(value, dict)
                and isinstance(value.get("text"), str) and isinstance(value.get("marks"), list)):
            continue
        spans = [(m[0], m[1]) for m in value["marks"]
                 if isinstance(m, list) and len(m) == 2 and all(type(x) is int for x in m)]
        found[int(key)] = (value["text"], spans)
    return found


def snippet_text(text: str, marks: list[tuple[int, int]], hit: Style) -> Text:
    """A snippet as one inert line: each part cleaned on its own, the matched words styled."""
    line, at = Text(), 0
    for start, end in sorted(marks):
        if start < at or end <= start or end > len(text):
            continue  # overlapping or out of range: shown as plain text
        line.append(clean(text[at:start], single_line=True))
        line.append(clean(text[start:end], single_line=True), style=hit)
        at = end
    line.append(clean(text[at:], single_line=True))
    return line
