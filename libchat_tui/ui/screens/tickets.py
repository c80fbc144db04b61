"""Tickets: every follow-up ticket on the desk, open first, with the chat it came from.

The highlighted ticket is shown below the list with its chat's transcript; enter moves
into it to read, c closes the ticket, o opens its chat (where notes can still be added).
Tickets created or closed by anyone on the desk arrive live (`desk_changed`). On a desk
that sends tickets to LibAnswers each one shows its delivery (live, from `push` events)
and r sends a refused one again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Label, Static

from ...domain import parse_ts
from ...libanswers.states import describe_push
from ...model import DeskModel
from ...sanitize import clean, clean_name
from ..messages import DeskChanged, ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from ..widgets.transcript_view import TranscriptView
from .chat_record import PUSH_MARKS, ChatRecordScreen, ScreenKeys, push_due, push_line
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp

PREVIEW_SECONDS = 0.15  # how long the highlight rests before the chat's transcript is fetched
BODY_SHOWN = 8_000


def when(ts: str | None) -> str:
    at = parse_ts(ts)
    return "" if at is None else f"{at.astimezone():%Y-%m-%d %H:%M}"


def ticket_order(ticket: dict[str, Any]) -> tuple[bool, int]:
    """Open first, newest first (as the desk sorts them)."""
    return ticket["status"] != "open", -int(ticket["id"])


def push_cell(state: dict[str, Any] | None) -> str:
    """A push state in the list: glyph and word ("⚠ refused"); empty when never queued."""
    if state is None:
        return ""
    glyph, _colour = PUSH_MARKS.get(str(state.get("state")), ("?", ""))
    return f"{glyph} {state.get('state')}"


def describe(ticket: dict[str, Any], push: Content | None = None) -> Content:
    """A ticket in full, patron text cleaned and never parsed as markup; `push`: its
    delivery to LibAnswers as a line."""
    closed = f" · closed {when(ticket.get('closed_at'))}" if ticket.get("closed_at") else ""
    if ticket["source"] != "patron":
        source = "by a librarian"
    elif ticket.get("chat_id") is None:  # the widget's form while nobody was online
        source = "from the patron (offline form: nobody was online)"
    else:  # offered after their connection dropped
        source = "from the patron (ticket offer after a dropped chat)"
    body = clean(str(ticket["body"]))
    if len(body) > BODY_SHOWN:
        body = body[:BODY_SHOWN] + f"\n… ({len(body) - BODY_SHOWN:,} more characters)"
    return Content.assemble(
        (f"Ticket #{ticket['id']} · {ticket['status'].upper()}", "bold"),
        f" · {source}\n",
        *(("LibAnswers: ", push, "\n") if push is not None else ()),
        f"To: {clean_name(str(ticket['name']))} <{clean(str(ticket['email']), single_line=True)}>\n",
        ("Subject: ", "bold"), clean(str(ticket["subject"]), single_line=True), "\n",
        f"Created {when(ticket['created_at'])} by {clean_name(str(ticket['created_by']))}{closed}"
        f" · chat #{ticket['chat_id']}\n\n",
        body,
    )


class TicketsScreen(ReportsWorkerFailures, Screen[None]):
    """Every ticket on the desk; the highlighted one below with its chat."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="tickets-back"),
        Binding("enter", "read", "Read", tooltip="Read the ticket and its chat", priority=True,
                id="tickets-read"),
        Binding("c", "close_ticket", "Close ticket", id="tickets-close"),
        Binding("o", "open_chat", "Open chat", tooltip="Open the ticket's chat (notes can be added)",
                id="tickets-chat"),
        Binding("r", "retry_push", "Send again", id="tickets-retry-push",
                tooltip="Send the ticket LibAnswers refused again (fix the cause first)"),
    ]
    COMMANDS: ClassVar[set[Any]] = {ScreenKeys}

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        #: Ticket id -> its LibAnswers delivery state (from the list, then from `push` events).
        self.push: dict[int, dict[str, Any]] = {}
        self.loaded = False
        self.shown_chat: int | None = None  # whose transcript is in the transcript view
        self._preview: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="screen-head"):
            yield Label("Tickets", markup=False, classes="screen-title")
            yield Label("Loading…", id="tickets-summary", markup=False, classes="screen-summary")
        table: DataTable[Any] = DataTable(id="tickets-table", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="ticket-detail-row"):
            with VerticalScroll(id="ticket-detail-box"):
                yield Static("", id="ticket-detail", markup=False)
            yield TranscriptView(id="ticket-transcript")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.focus()
        self.query_one(TranscriptView).me = self.app.librarian_id
        self.query_one("#ticket-detail-box").border_title = "Ticket"
        self.query_one(TranscriptView).border_title = "Its chat"
        self.run_worker(self._load(), group="tickets", exclusive=True, exit_on_error=False)
        self.set_interval(1.0, self._countdown)

    @property
    def sends_to_libanswers(self) -> bool:
        """Whether this desk sends tickets to LibAnswers (said in `hello`)."""
        client = self.app.client
        return bool(self.push) or (client is not None and client.hello.get("libanswers") is not None)

    async def _load(self) -> None:
        result = await self.app.request("tickets", status="all")
        if result is None:
            self.query_one("#tickets-summary", Label).update("Could not load the tickets (see the message).")
            return
        for ticket in result["tickets"]:
            self.tickets.setdefault(int(ticket["id"]), ticket)  # a live update may be newer
            if "push" in ticket:
                self.push.setdefault(int(ticket["id"]), ticket["push"])
        self.loaded = True
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        keep = self.current
        table.clear()
        if not table.columns:  # the LibAnswers column only on a desk that sends there
            table.add_columns("#", "Status", "From", "Patron", "E-mail", "Subject", "Chat", "Created",
                              *(["LibAnswers"] if self.sends_to_libanswers else []))
        pushing = len(table.columns) > 8
        for t in sorted(self.tickets.values(), key=ticket_order):
            status = "● open" if t["status"] == "open" else "✓ closed"
            created = when(t["created_at"])[5:]  # MM-DD HH:MM
            # DataTable parses plain strings as markup: patron text goes in as Text.
            table.add_row(str(t["id"]), status, "patron" if t["source"] == "patron" else "",
                          Text(clean_name(str(t["name"]), 16)),
                          Text(clean(str(t["email"]), single_line=True, max_len=24)),
                          Text(clean(str(t["subject"]), single_line=True, max_len=28)),
                          f"#{t['chat_id']}", created,
                          *([push_cell(self.push.get(int(t["id"])))] if pushing else []),
                          key=str(t["id"]))
        if keep is not None:  # the highlight stays on the same ticket
            table.move_cursor(row=table.get_row_index(str(keep["id"])), animate=False)
        open_count = sum(1 for t in self.tickets.values() if t["status"] == "open")
        self.query_one("#tickets-summary", Label).update(
            f"{open_count} open · {len(self.tickets) - open_count} closed" if self.tickets else
            "No tickets yet. Create one from a chat with ctrl+t.")
        self._show_current()

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        changes = event.changes
        for ticket in changes.tickets:
            self.tickets[int(ticket["id"])] = ticket
        pushed = [record_id for kind, record_id in changes.pushes if kind == "ticket"]
        for record_id in pushed:
            state = self.app.model.push.get(("ticket", record_id))
            if state is not None:
                self.push[record_id] = state
        if (changes.tickets or pushed) and self.loaded:
            self._fill()

    def _countdown(self) -> None:
        """Once a second while the highlighted ticket says "next try in …", so it counts down."""
        ticket = self.current
        if ticket is not None and push_due([self.push.get(int(ticket["id"]), {})]):
            self._show_detail(ticket)

    @property
    def current(self) -> dict[str, Any] | None:
        """The highlighted ticket."""
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else self.tickets.get(int(key))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_current()

    def _show_current(self) -> None:
        ticket = self.current
        detail = self.query_one("#ticket-detail", Static)
        self.refresh_bindings()
        if ticket is None:
            detail.update("")
            self.query_one(TranscriptView).clear()
            self.shown_chat = None
            return
        self._show_detail(ticket)
        chat_id = int(ticket["chat_id"])
        if chat_id != self.shown_chat:
            if self._preview is not None:
                self._preview.stop()
            self._preview = self.set_timer(PREVIEW_SECONDS, lambda: self._preview_chat(chat_id))

    def _show_detail(self, ticket: dict[str, Any]) -> None:
        state = self.push.get(int(ticket["id"]))
        push = None if state is None else push_line("ticket", state, self.app.now())
        self.query_one("#ticket-detail", Static).update(describe(ticket, push))

    def _preview_chat(self, chat_id: int) -> None:
        self.run_worker(self._load_chat(chat_id), group="ticket-chat", exclusive=True, exit_on_error=False)

    async def _load_chat(self, chat_id: int) -> None:
        data = await self.app.request("transcript", quiet=True, chat_id=chat_id)
        ticket = self.current
        if ticket is None or int(ticket["chat_id"]) != chat_id:
            return  # the highlight moved on meanwhile
        view = self.query_one(TranscriptView)
        if data is None:
            view.clear()
            view.border_title = Content(f"Chat #{chat_id} could not be loaded")
            return
        view.set_entries(DeskModel().load_transcript(data))
        # A border title is parsed as markup unless it is Content: patron names go in as Content.
        name = clean_name(str(data["chat"]["patron"]["name"]), 40)
        view.border_title = Content(f"Chat #{chat_id} with {name}")
        self.shown_chat = chat_id

    @on(DataTable.RowSelected)
    def _clicked(self) -> None:
        self.action_read()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry_push":  # greyed while it is on its way or sent, hidden when never queued
            ticket = self.current
            state = None if ticket is None else self.push.get(int(ticket["id"]))
            if state is None:
                return False
            return True if state.get("state") == "refused" else None
        if action in ("close_ticket", "open_chat", "read"):
            ticket = self.current
            if ticket is None:
                return False
            if action == "close_ticket" and ticket["status"] != "open":
                return None  # shown greyed: this one is closed already
        return True

    def action_read(self) -> None:
        if self.current is not None:
            self.query_one(TranscriptView).focus()

    def action_back(self) -> None:
        table = self.query_one(DataTable)
        if not table.has_focus:
            table.focus()
        else:
            self.app.pop_screen()

    def action_open_chat(self) -> None:
        ticket = self.current
        if ticket is not None:
            self.app.push_screen(ChatRecordScreen(int(ticket["chat_id"])))

    def action_close_ticket(self) -> None:
        ticket = self.current
        if ticket is None:
            return
        if ticket["status"] != "open":
            self.app.notify(f"Ticket #{ticket['id']} is already closed.", markup=False)
            return
        ticket_id = int(ticket["id"])

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._close(ticket_id), group="tickets-close", exit_on_error=False)

        self.app.push_screen(Confirm(f"Close ticket #{ticket_id}? A closed ticket cannot be "
                                     "reopened. (y/n)"), answered)

    async def _close(self, ticket_id: int) -> None:
        result = await self.app.request("close_ticket", ticket_id=ticket_id)
        if result is not None:
            self.tickets[ticket_id] = result["ticket"]
            self._fill()
            self.app.notify(f"Ticket #{ticket_id} closed", markup=False)

    def action_retry_push(self) -> None:
        ticket = self.current
        if ticket is None:
            return
        ticket_id = int(ticket["id"])
        state = self.push.get(ticket_id)
        if state is None or state.get("state") != "refused":
            shown = "not queued for LibAnswers" if state is None else \
                clean(describe_push("ticket", state, self.app.now()), single_line=True, max_len=200)
            self.app.notify(f"Ticket #{ticket_id}: {shown} — nothing to send again.", markup=False)
            return
        self.run_worker(self._retry(ticket_id), group="tickets-retry", exit_on_error=False)

    async def _retry(self, ticket_id: int) -> None:
        result = await self.app.request("retry_push", kind="ticket", record_id=ticket_id)
        if result is not None:
            self.push[ticket_id] = result["push"]
            self._fill()
            self.app.notify(f"Ticket #{ticket_id} is queued to be sent to LibAnswers again.", markup=False)
