"""Tickets: follow-ups to patrons, open first; one shown with its chat; close it here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from ...model import Changes
from ...sanitize import clean, clean_name
from .chat_record import ChatRecordScreen

if TYPE_CHECKING:
    from ..app import LibChatApp


class TicketsScreen(Screen[None]):
    """Every ticket on the desk."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="tickets-back"),
        Binding("c", "close_ticket", "Close ticket", id="tickets-close"),
        Binding("o", "open_chat", "Open its chat", id="tickets-chat"),
    ]

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Label("Tickets — open first. enter shows one, o opens its chat, c closes it.",
                    markup=False, classes="screen-title")
        table: DataTable[str] = DataTable(id="tickets-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="ticket-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("#", "Status", "From", "Patron", "E-mail", "Subject", "Chat")
        self.run_worker(self._load(), group="tickets", exclusive=True)

    async def _load(self) -> None:
        result = await self.app.request("tickets", status="all")
        if result is None:
            return
        self.tickets = {int(t["id"]): t for t in result["tickets"]}
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        ordered = sorted(self.tickets.values(), key=lambda t: (t["status"] != "open", -int(t["id"])))
        for t in ordered:
            table.add_row(str(t["id"]), t["status"], t["source"], Text(clean_name(t["name"], 30)),
                          Text(clean(t["email"], single_line=True, max_len=40)),
                          Text(clean(t["subject"], single_line=True, max_len=50)), f"#{t['chat_id']}",
                          key=str(t["id"]))
        table.focus()

    def desk_changed(self, changes: Changes) -> None:
        for ticket in changes.tickets:
            self.tickets[int(ticket["id"])] = ticket
        if changes.tickets:
            self._fill()

    def _current(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not self.tickets or table.cursor_row < 0 or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else self.tickets.get(int(key))

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        ticket = self._current()
        detail = self.query_one("#ticket-detail", Static)
        if ticket is None:
            detail.update("")
            return
        closed = f", closed {ticket['closed_at'][:16]}" if ticket.get("closed_at") else ""
        detail.update(Text(
            f"Ticket #{ticket['id']} — {ticket['status']}{closed}, from the {ticket['source']}, "
            f"created by {clean_name(ticket['created_by'])} at {ticket['created_at'][:16]}\n"
            f"To: {clean_name(ticket['name'])} <{clean(ticket['email'], single_line=True)}>\n"
            f"Subject: {clean(ticket['subject'], single_line=True)}\n\n{clean(ticket['body'])[:3000]}"))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.query_one("#ticket-detail", Static).focus()

    def action_open_chat(self) -> None:
        ticket = self._current()
        if ticket is not None:
            self.app.push_screen(ChatRecordScreen(int(ticket["chat_id"])))

    def action_close_ticket(self) -> None:
        ticket = self._current()
        if ticket is None:
            return
        if ticket["status"] == "closed":
            self.app.notify(f"Ticket #{ticket['id']} is already closed.", markup=False)
            return
        self.run_worker(self._close(int(ticket["id"])), group="tickets")

    async def _close(self, ticket_id: int) -> None:
        result = await self.app.request("close_ticket", ticket_id=ticket_id)
        if result is not None:
            self.tickets[ticket_id] = result["ticket"]
            self._fill()
            self.app.notify(f"Ticket #{ticket_id} closed.", markup=False)
