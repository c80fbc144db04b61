"""Internal note: a text box with Save (ctrl+s) and Cancel (escape). Never sent to the patron."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, TextArea

from ...domain import Chat
from ...protocol import LIMITS
from ...sanitize import clean_name
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp


class NoteScreen(ModalScreen[bool]):
    """Write an internal note for one chat; dismisses True once the desk saved it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, id="note-save"),
        Binding("escape", "cancel", "Cancel", id="note-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.key = f"note:{chat.id}"

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box", classes="dialog"):
            yield Label(f"Internal note — chat #{self.chat.id} with "
                        f"{clean_name(self.chat.patron_name, 40)} (never shown to the patron)",
                        markup=False, classes="dialog-title")
            yield TextArea(self.app.drafts.get(self.key), id="note-text", soft_wrap=True)
            yield Label("", id="note-error", markup=False, classes="dialog-error")
            yield Label("ctrl+s save · esc cancel", markup=False, classes="dialog-keys")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.app.drafts.set(self.key, event.text_area.text)

    def _error(self, text: str) -> None:
        self.query_one("#note-error", Label).update(text)

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if not text.strip():
            self._error("The note is empty; write something or press esc to cancel.")
            return
        if len(text) > LIMITS["note"]:
            self._error(f"The note is {len(text)} characters; the limit is {LIMITS['note']}.")
            return
        self.run_worker(self._save(text), group="note")

    async def _save(self, text: str) -> None:
        result = await self.app.request("note", chat_id=self.chat.id, text=text)
        if result is None:
            self._error("Not saved (see the message). Your text is kept.")
            return
        self.app.drafts.set(self.key, "")
        self.app.notify("Internal note saved.", markup=False)
        self.dismiss(True)

    def action_cancel(self) -> None:
        if not self.query_one(TextArea).text.strip():
            self.app.drafts.set(self.key, "")
            self.dismiss(False)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.app.drafts.set(self.key, "")
                self.dismiss(False)

        self.app.push_screen(Confirm("Throw this note away?"), answered)
