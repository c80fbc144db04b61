"""Internal note: a text box with Save (ctrl+s) and Cancel (escape). Never sent to the patron.

What the librarian types is kept in the drafts file under ``note:<chat id>`` as they
type, so a crash or a closed terminal loses nothing: reopening the note brings it back.
A note saved while the desk is unreachable waits in the client's outbox; reopening the
note shows it, and "Throw this note away?" takes it back if it has not left yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea

from ...domain import Chat
from ...protocol import LIMITS
from ...sanitize import clean_name
from ..messages import ReportsWorkerFailures
from ..submit import withdraw
from ..widgets.footer import KeyFooter
from .confirm import Confirm
from .dialog import SavesOnce

if TYPE_CHECKING:
    from ..app import LibChatApp


def draft_key(chat_id: int) -> str:
    """Where a chat's unsaved note lives in the drafts file."""
    return f"note:{chat_id}"


class NoteScreen(ReportsWorkerFailures, SavesOnce, ModalScreen[bool]):
    """Write an internal note for one chat; dismisses True once the desk has stored it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save note", id="note-save"),
        Binding("escape", "cancel", "Cancel", tooltip="Cancel (asks before throwing a draft away)",
                id="note-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.key = draft_key(chat.id)
        self.begin_once()
        queued = self.app.submissions.get(self.key)
        self.queued = queued if queued is not None and queued.pending else None
        self.refused: str | None = None  # the text last refused: its message stays until it changes

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="note-box", classes="dialog"):
            yield Label(f"Internal note — chat #{self.chat.id} with "
                        f"{clean_name(self.chat.patron_name, 40)}", markup=False, classes="dialog-title")
            yield Label("Stored with the chat for librarians only; never sent to the patron.",
                        markup=False, classes="dialog-hint")
            text = self.queued.shown if self.queued is not None else self.app.drafts.get(self.key)
            yield TextArea(text, id="note-text", soft_wrap=True, read_only=self.queued is not None)
            yield Label("" if self.queued is None else
                        "This note is queued: it will be saved when the desk is back. "
                        "esc asks whether to throw it away.",
                        id="note-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save  ctrl+s", id="note-save-button", variant="primary")
                yield Button("Cancel  esc", id="note-cancel-button")
        yield KeyFooter()

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)
        self.replay_early_keys()

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
        if self.queued is not None:
            self._error("This note is already queued; it will be saved once, when the desk is back.")
            return
        if self.saving or self.closing:
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
        self._error("Saving…")
        self.run_worker(self._save(text), group="note", exit_on_error=False)

    async def _save(self, text: str) -> None:
        result = await self.save_once(self.key, "note", done="Internal note saved", shown=text,
                                      chat_id=self.chat.id, text=text)
        if result is None:
            self.saving = False
            self._error("Not saved (the desk's reason is in the message). Your text is kept.")
            return
        if self.app.drafts.get(self.key) == text:  # the outbox keeps a queued note
            self.app.drafts.set(self.key, "")
        if result != "queued":
            self.app.notify("Internal note saved", markup=False)
            self.close_once(True)

    @on(Button.Pressed, "#note-cancel-button")
    def action_cancel(self) -> None:
        if self.closing:
            return
        if self.saving:  # on its way to the desk: it cannot be taken back from here
            return
        if self.queued is not None:
            self.app.push_screen(Confirm("Throw this note away? It is queued, not yet saved. (y/n)"),
                                 self._withdraw)
            return
        if not self.text.strip():
            self.app.drafts.set(self.key, "")
            self.close_once(False)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.app.drafts.set(self.key, "")
                self.close_once(False)
            else:
                self.query_one(TextArea).focus()

        self.app.push_screen(Confirm("Throw this note away? (y/n)"), answered)

    def _withdraw(self, discard: bool | None) -> None:
        if not discard or self.queued is None:
            return
        if withdraw(self.app, self.queued):
            self.app.notify("Withdrawn: the queued note will not be saved.", markup=False)
        else:
            self.app.notify("Too late to take it back: the note already left for the desk and "
                            "will be saved.", severity="warning", markup=False)
        self.close_once(False)
