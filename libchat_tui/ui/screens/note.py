"""Internal note: a text box with Save (ctrl+s) and Cancel (escape). Never sent to the patron.

What the librarian types is kept in the drafts file under ``note:<chat id>`` as they
type, so a crash or a closed terminal loses nothing: reopening the note brings it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, TextArea

from ...domain import Chat
from ...protocol import LIMITS
from ...sanitize import clean_name
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp


def draft_key(chat_id: int) -> str:
    """Where a chat's unsaved note lives in the drafts file."""
    return f"note:{chat_id}"


class NoteScreen(ModalScreen[bool]):
    """Write an internal note for one chat; dismisses True once the desk has stored it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save note", priority=True, id="note-save"),
        Binding("escape", "cancel", "Cancel", tooltip="Cancel (asks before throwing a draft away)",
                id="note-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.key = draft_key(chat.id)
        self.saving = False
        self.refused: str | None = None  # the text last refused: its message stays until it changes

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="note-box", classes="dialog"):
            yield Label(f"Internal note — chat #{self.chat.id} with "
                        f"{clean_name(self.chat.patron_name, 40)}", markup=False, classes="dialog-title")
            yield Label("Stored with the chat for librarians only; never sent to the patron.",
                        markup=False, classes="dialog-hint")
            yield TextArea(self.app.drafts.get(self.key), id="note-text", soft_wrap=True)
            yield Label("", id="note-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save  ctrl+s", id="note-save-button", variant="primary")
                yield Button("Cancel  esc", id="note-cancel-button")
        yield Footer()

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    @on(TextArea.Changed)
    def _typed(self, event: TextArea.Changed) -> None:
        self.app.drafts.set(self.key, event.text_area.text)
        if not self.saving and event.text_area.text != self.refused:
            self._error("")

    def _error(self, text: str) -> None:
        self.query_one("#note-error", Label).update(text)

    @on(Button.Pressed, "#note-save-button")
    def action_save(self) -> None:
        if self.saving:
            return
        text = self.refused = self.text
        if not text.strip():
            self._error("The note is empty: write something, or press esc to cancel.")
            self.query_one(TextArea).focus()
            return
        if len(text) > LIMITS["note"]:
            self._error(f"The note is {len(text):,} characters; the limit is {LIMITS['note']:,}. "
                        "Nothing was saved.")
            return
        self.saving = True
        offline = self.app.status.state != "online"
        self._error("Offline: queued until the desk is back (esc leaves it queued)." if offline
                    else "Saving…")
        self.run_worker(self._save(text), group="note", exclusive=True)

    async def _save(self, text: str) -> None:
        try:
            result = await self.app.request("note", chat_id=self.chat.id, text=text)
        finally:
            self.saving = False
        if result is None:
            self._error("Not saved (the desk's reason is in the message). Your text is kept.")
            return
        if self.app.drafts.get(self.key) == text:
            self.app.drafts.set(self.key, "")
        self.app.notify("Internal note saved", markup=False)
        self.dismiss(True)

    @on(Button.Pressed, "#note-cancel-button")
    def action_cancel(self) -> None:
        if self.saving:  # queued while offline: the client's outbox keeps it until the desk has it
            self.app.drafts.set(self.key, "")
            self.app.notify("The note is queued and will be stored when the desk answers.", markup=False)
            self.dismiss(False)
            return
        if not self.text.strip():
            self.app.drafts.set(self.key, "")
            self.dismiss(False)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.app.drafts.set(self.key, "")
                self.dismiss(False)
            else:
                self.query_one(TextArea).focus()

        self.app.push_screen(Confirm("Throw this note away? (y/n)"), answered)
