"""Create a Ticket from this Chat: a follow-up to the patron, prefilled from the chat.

Name and e-mail come from the chat (the e-mail is asked for when the patron gave none),
the subject from the first question, the body from the stored transcript (fetched with
the `transcript` command; internal notes only when "Include internal notes" is ticked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, TextArea

from ...domain import Chat, Note
from ...exports import transcript_document
from ...protocol import LIMITS, is_valid_email
from ...sanitize import clean, clean_name
from ..badges import hm
from ..messages import ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from ..widgets.toggles import StateCheckbox
from .confirm import Confirm
from .dialog import SavesOnce

if TYPE_CHECKING:
    from ..app import LibChatApp


def first_line(text: str) -> str:
    """The subject a question suggests: its first non-empty line, cleaned, at most 200."""
    line = next((part for part in text.splitlines() if part.strip()), text)
    return clean(line.strip(), single_line=True, max_len=LIMITS["subject"])


def notes_block(data: dict[str, Any]) -> str:
    """The chat's internal notes, as a block added to an edited body."""
    lines = ["", "Internal notes:"]
    for note in data.get("notes", []):
        entry = Note.from_wire(note)
        lines.append(f"- {clean_name(entry.author, 40)}, {hm(entry.at)}: {clean(entry.text)}")
    return "\n".join(lines) if len(lines) > 2 else ""


class TicketScreen(ReportsWorkerFailures, SavesOnce, ModalScreen[int | None]):
    """The ticket form for one chat; returns the new ticket's id, or None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save ticket", id="ticket-save"),
        Binding("escape", "cancel", "Cancel", id="ticket-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.data: dict[str, Any] | None = None
        self.fetching = True
        self.generated = ""  # the body as last filled in, to tell whether the librarian edited it
        self.begin_once()
        self.refused_email: str | None = None
        self.initial: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        chat = self.chat
        with VerticalScroll(id="ticket-box", classes="dialog"):
            yield Label(f"Create a ticket from chat #{chat.id}", markup=False, classes="dialog-title")
            yield Label("A follow-up to the patron by e-mail, saved as an open ticket linked to "
                        "this chat.", markup=False, classes="dialog-hint")
            with Horizontal(classes="form-row"):
                with Vertical():
                    yield Label("Patron name *", markup=False, classes="field-label")
                    yield Input(clean_name(chat.patron_name, LIMITS["name"]), id="ticket-name",
                                max_length=LIMITS["name"])
                with Vertical():
                    yield Label("E-mail *", markup=False, classes="field-label")
                    yield Input(clean(chat.patron_email or "", single_line=True), id="ticket-email",
                                placeholder="e.g. maya@example.edu", max_length=LIMITS["email"])
            yield Label("", id="ticket-email-error", markup=False, classes="field-error")
            yield Label("Subject *", markup=False, classes="field-label")
            yield Input(first_line(chat.question), id="ticket-subject", max_length=LIMITS["subject"],
                        select_on_focus=False)
            yield StateCheckbox("Include internal notes", id="ticket-notes")
            yield Label("Body (the transcript; you can edit it)", markup=False, classes="field-label")
            yield TextArea("", id="ticket-body", soft_wrap=True)
            yield Label("", id="ticket-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save ticket  ctrl+s", id="ticket-save-button", variant="primary")
                yield Button("Cancel  esc", id="ticket-cancel-button")
        yield KeyFooter()

    def on_mount(self) -> None:
        first = self.query_one("#ticket-subject" if self.chat.patron_email else "#ticket-email", Input)
        first.focus()
        first.cursor_position = len(first.value)
        self.replay_early_keys()
        self.initial = self._fields()
        self.query_one("#ticket-body").loading = True
        self.run_worker(self._load(), group="ticket-load", exit_on_error=False)

    async def _load(self) -> None:
        self.data = await self.app.request("transcript", chat_id=self.chat.id)
        self.fetching = False
        self.query_one("#ticket-body").loading = False
        if self.data is None:
            self._error("The transcript could not be loaded; write the body yourself.")
            return
        self._fill_body()

    def _fill_body(self) -> None:
        if self.data is None:
            return
        copy = "librarian" if self.query_one(Checkbox).value else "patron"
        self.generated = transcript_document(self.data, copy=copy, fmt="txt")
        self.query_one("#ticket-body", TextArea).text = self.generated

    def _fields(self) -> tuple[str, ...]:
        return (*(self.query_one(f"#ticket-{f}", Input).value for f in ("name", "email", "subject")),
                self.query_one("#ticket-body", TextArea).text)

    @on(Checkbox.Changed)
    def _notes_toggled(self, event: Checkbox.Changed) -> None:
        area = self.query_one("#ticket-body", TextArea)
        body = area.text
        if self.data is None:
            return
        if body == self.generated or not body.strip():
            self._fill_body()
            return
        block = notes_block(self.data)  # edited: keep every edit, add or take out the notes
        if not block:
            self._error("This chat has no internal notes.")
        elif event.value and block not in body:
            area.text = body.rstrip("\n") + "\n" + block
            self._error("Your edits are kept; the internal notes were added at the end.")
        elif not event.value and block in body:
            area.text = body.replace("\n" + block, "").replace(block, "")
            self._error("Your edits are kept; the internal notes were taken out.")

    @on(Input.Changed, "#ticket-email")
    def _email_typed(self, event: Input.Changed) -> None:
        if event.value != self.refused_email:  # the message stays until the address changes
            self._email_error("")

    def _email_error(self, text: str) -> None:
        label = self.query_one("#ticket-email-error", Label)
        label.update(text)
        label.set_class(bool(text), "-shown")

    def _error(self, text: str) -> None:
        self.query_one("#ticket-error", Label).update(text)

    def _refuse(self, field: str, text: str) -> None:
        """Show why nothing was saved next to the field at fault, and go there."""
        target = self.query_one(f"#ticket-{field}")
        if field == "email":
            self._email_error(text)
            self._error("")
        else:
            self._error(text)
        target.focus()
        target.scroll_visible()

    @on(Button.Pressed, "#ticket-save-button")
    def action_save(self) -> None:
        if self.saving or self.closing:
            return
        name = self.query_one("#ticket-name", Input).value.strip()
        email = self.query_one("#ticket-email", Input).value.strip()
        subject = self.query_one("#ticket-subject", Input).value.strip()
        body = self.query_one("#ticket-body", TextArea).text
        self.refused_email = self.query_one("#ticket-email", Input).value
        if not name:
            self._refuse("name", "The patron's name is required.")
        elif not email:
            self._refuse("email", "An e-mail address is required: the ticket is answered by e-mail.")
        elif not is_valid_email(email):
            self._refuse("email", f"'{clean(email, single_line=True, max_len=80)}' is not a valid "
                                  "e-mail address (like name@example.edu). Nothing was saved.")
        elif not subject:
            self._refuse("subject", "A subject is required.")
        elif self.fetching:
            self._error("The transcript is still loading; try again in a moment.")
        elif len(body) > LIMITS["body"]:
            self._refuse("body", f"The body is {len(body):,} characters; the limit is "
                                 f"{LIMITS['body']:,}.")
        else:
            self.saving = True
            self._error("Saving…")
            self.run_worker(self._save(name, email, subject, body), group="ticket", exit_on_error=False)

    async def _save(self, name: str, email: str, subject: str, body: str) -> None:
        to = clean(email, single_line=True, max_len=80)
        result = await self.save_once(f"ticket:{self.chat.id}", "create_ticket",
                                      done=f"Ticket created for {to}", chat_id=self.chat.id,
                                      name=name, email=email, subject=subject, body=body)
        if result is None:
            self.saving = False
            self._error("Not saved (the desk's reason is in the message).")
            return
        if isinstance(result, dict):
            ticket_id = int(result["ticket"]["id"])
            self.app.notify(f"Ticket #{ticket_id} created for {to}", markup=False)
            self.close_once(ticket_id)

    @on(Button.Pressed, "#ticket-cancel-button")
    def action_cancel(self) -> None:
        if self.saving or self.closing:
            return
        fields = self._fields()
        if fields[:3] == self.initial[:3] and fields[3] in ("", self.generated):
            self.close_once(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.close_once(None)

        self.app.push_screen(Confirm("Throw this ticket away? (y/n)"), answered)
