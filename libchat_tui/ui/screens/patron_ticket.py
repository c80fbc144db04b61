"""One earlier ticket of the patron, read-only (from the patron information panel).

The ticket as the Tickets view describes it (`tickets.describe`: patron text cleaned,
never markup); `o` opens the chat it came from, read-only, in the chat record; esc goes
back to the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..widgets.footer import KeyFooter
from .chat_record import ChatRecordScreen
from .tickets import describe

if TYPE_CHECKING:
    from ..app import LibChatApp


class PatronTicketScreen(ModalScreen[None]):
    """A ticket to read; nothing on it can be changed from here."""

    CSS_PATH = "../patron_info.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="patron-ticket-back"),
        Binding("o", "open_chat", "Open its chat", tooltip="Open the chat the ticket came from",
                id="patron-ticket-chat"),
    ]

    app: LibChatApp

    def __init__(self, ticket: dict[str, Any]) -> None:
        super().__init__()
        self.ticket = ticket

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="patron-ticket-box"):
            yield Static(describe(self.ticket), id="patron-ticket-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        box = self.query_one("#patron-ticket-box", VerticalScroll)
        box.border_title = f"Ticket #{self.ticket.get('id')} (read-only)"
        box.focus()

    def action_open_chat(self) -> None:
        chat_id = self.ticket.get("chat_id")
        if isinstance(chat_id, int):
            self.app.switch_screen(ChatRecordScreen(chat_id))
