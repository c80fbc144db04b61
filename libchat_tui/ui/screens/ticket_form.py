"""Create a Ticket from this Chat: a follow-up to the patron, prefilled from the chat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Footer, Input, Label, TextArea

from ...domain import Chat
from ...exports import transcript_document
from ...protocol import LIMITS, is_valid_email
from ...sanitize import clean, clean_name

if TYPE_CHECKING:
    from ..app import LibChatApp


class TicketScreen(ModalScreen[int | None]):
    """Returns the new ticket's id, or None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save ticket", priority=True, id="ticket-save"),
        Binding("escape", "dismiss(None)", "Cancel", id="ticket-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.data: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        chat = self.chat
        with VerticalScroll(id="ticket-box", classes="dialog"):
            yield Label(f"Create a ticket from chat #{chat.id}", markup=False, classes="dialog-title")
            yield Label("Patron name", markup=False)
            yield Input(clean_name(chat.patron_name, 100), id="ticket-name", max_length=LIMITS["name"])
            yield Label("E-mail (required)", markup=False)
            yield Input(clean(chat.patron_email or "", single_line=True), id="ticket-email",
                        placeholder="patron@example.edu", max_length=LIMITS["email"])
            yield Label("Subject", markup=False)
            yield Input(clean(chat.question, single_line=True, max_len=LIMITS["subject"]),
                        id="ticket-subject", max_length=LIMITS["subject"])
            yield Checkbox("Include internal notes", id="ticket-notes")
            yield Label("Body (the transcript)", markup=False)
            yield TextArea("Loading the transcript…", id="ticket-body", soft_wrap=True)
            yield Label("", id="ticket-error", markup=False, classes="dialog-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ticket-email" if not self.chat.patron_email else "#ticket-subject").focus()
        self.run_worker(self._load(), group="ticket")

    async def _load(self) -> None:
        self.data = await self.app.request("transcript", chat_id=self.chat.id)
        self._fill_body()

    def _fill_body(self) -> None:
        if self.data is None:
            return
        include = self.query_one(Checkbox).value
        body = transcript_document(self.data, copy="librarian" if include else "patron", fmt="txt")
        self.query_one("#ticket-body", TextArea).text = body

    def on_checkbox_changed(self, _event: Checkbox.Changed) -> None:
        self._fill_body()

    def _error(self, text: str) -> None:
        self.query_one("#ticket-error", Label).update(text)

    def action_save(self) -> None:
        name = self.query_one("#ticket-name", Input).value.strip()
        email = self.query_one("#ticket-email", Input).value.strip()
        subject = self.query_one("#ticket-subject", Input).value.strip()
        body = self.query_one("#ticket-body", TextArea).text
        if not name:
            self._error("The patron's name is required.")
        elif not email:
            self._error("An e-mail address is required: the ticket is answered by e-mail.")
            self.query_one("#ticket-email").focus()
        elif not is_valid_email(email):
            self._error(f"'{email[:80]}' is not a valid e-mail address.")
            self.query_one("#ticket-email").focus()
        elif not subject:
            self._error("A subject is required.")
        elif len(body) > LIMITS["body"]:
            self._error(f"The body is over {LIMITS['body']} characters.")
        else:
            self.run_worker(self._save(name, email, subject, body), group="ticket")

    async def _save(self, name: str, email: str, subject: str, body: str) -> None:
        result = await self.app.request("create_ticket", chat_id=self.chat.id, name=name, email=email,
                                        subject=subject, body=body)
        if result is None:
            self._error("Not saved (see the message).")
            return
        ticket_id = int(result["ticket"]["id"])
        self.app.notify(f"Ticket #{ticket_id} created.", markup=False)
        self.dismiss(ticket_id)
