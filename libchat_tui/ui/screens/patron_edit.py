"""Correct the patron's name and e-mail on a chat (a typo, a nickname, a missing address).

Anyone on the desk may (after-chat work); the desk checks the e-mail as it checks the
patron's own (`p.is_valid_email`), so the dialog checks it the same way first and says
what is wrong beside the field. Saved with `edit_patron`: the transcript gets a line
saying who changed what, and every console's list and header follow the `chat` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...domain import Chat
from ...protocol import LIMITS, is_valid_email
from ...sanitize import clean, clean_name
from ..messages import ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from .dialog import SavesOnce

if TYPE_CHECKING:
    from ..app import LibChatApp


def problems(name: str, email: str) -> tuple[str, str]:
    """What is wrong with the name and with the e-mail, as the desk would say it ("" if fine)."""
    name_problem = email_problem = ""
    if not name.strip():
        name_problem = "The name cannot be empty."
    elif len(name) > LIMITS["name"]:
        name_problem = f"The name is {len(name)} characters; the limit is {LIMITS['name']}."
    address = email.strip()
    if address and not is_valid_email(address):
        email_problem = f"'{clean(address, single_line=True, max_len=60)}' is not an e-mail address " \
                        "(like maya@example.edu). Leave it empty if there is none."
    return name_problem, email_problem


class PatronEditScreen(ReportsWorkerFailures, SavesOnce, ModalScreen[bool]):
    """Name and e-mail of one chat's patron; dismisses True once the desk has stored them."""

    CSS_PATH = "../patron_info.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="patron-edit-save"),
        Binding("escape", "cancel", "Cancel", id="patron-edit-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.key = f"patron:{chat.id}"
        self.begin_once()

    def compose(self) -> ComposeResult:
        chat = self.chat
        with VerticalScroll(id="patron-edit-box", classes="dialog"):
            yield Label(f"Correct the patron's details — chat #{chat.id}", markup=False,
                        classes="dialog-title")
            yield Static("Everyone on the desk sees the change; the transcript notes who made it. "
                         "The patron is not told.", markup=False, classes="dialog-hint")
            yield Label("Name *", markup=False, classes="field-label")
            yield Input(clean_name(chat.patron_name, LIMITS["name"]), id="patron-edit-name",
                        max_length=LIMITS["name"])
            yield Static("", id="patron-edit-name-error", markup=False, classes="field-error")
            yield Label("E-mail (empty: none)", markup=False, classes="field-label")
            yield Input(clean(chat.patron_email or "", single_line=True), id="patron-edit-email",
                        placeholder="e.g. maya@example.edu", max_length=LIMITS["email"])
            yield Static("", id="patron-edit-email-error", markup=False, classes="field-error")
            yield Static("", id="patron-edit-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save  ctrl+s", id="patron-edit-save-button", variant="primary")
                yield Button("Cancel  esc", id="patron-edit-cancel-button")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#patron-edit-name", Input).focus()
        self.replay_early_keys()

    def _field_error(self, field: str, text: str) -> None:
        label = self.query_one(f"#patron-edit-{field}-error", Static)
        label.update(text)
        label.set_class(bool(text), "-shown")

    @on(Input.Submitted)
    @on(Button.Pressed, "#patron-edit-save-button")
    def action_save(self) -> None:
        if self.saving or self.closing:
            return
        name = self.query_one("#patron-edit-name", Input).value
        email = self.query_one("#patron-edit-email", Input).value
        name_problem, email_problem = problems(name, email)
        self._field_error("name", name_problem)
        self._field_error("email", email_problem)
        if name_problem or email_problem:
            self.query_one("#patron-edit-name" if name_problem else "#patron-edit-email", Input).focus()
            return
        self.saving = True
        self.query_one("#patron-edit-error", Static).update("Saving…")
        self.run_worker(self._save(" ".join(name.split()), email.strip() or None), group="patron-edit",
                        exit_on_error=False)

    async def _save(self, name: str, email: str | None) -> None:
        result = await self.save_once(self.key, "edit_patron", done="Patron's details corrected",
                                      chat_id=self.chat.id, name=name, email=email)
        if result is None:
            self.saving = False
            self.query_one("#patron-edit-error", Static).update(
                "Not saved (the desk's reason is in the message).")
            return
        if result != "queued":
            self.app.notify("Patron's details corrected", markup=False)
            self.close_once(True)

    @on(Button.Pressed, "#patron-edit-cancel-button")
    def action_cancel(self) -> None:
        if not self.saving:
            self.close_once(False)
