"""Export a chat's transcript to a file: patron copy or librarian copy, Markdown or text.

The document comes from `exports.transcript_document` over the stored transcript (the
`transcript` command), the same function `libchat-tui export transcript` uses, so a file
written here and one written from the shell are identical.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet

from ...domain import Chat
from ...exports import transcript_document
from ...files import write_atomic
from ...sanitize import clean_name
from ..messages import ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from ..widgets.toggles import StateRadioButton
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp

COPIES = ("patron", "librarian")
FORMATS = ("md", "txt")


def default_folder() -> Path:
    return Path.home() / "libchat-exports"


class ExportScreen(ReportsWorkerFailures, ModalScreen[Path | None]):
    """Returns the written file's path, or None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Write file", id="export-save"),
        Binding("escape", "cancel", "Cancel", id="export-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat, folder: Path | None = None) -> None:
        super().__init__()
        self.chat = chat
        self.folder = folder or default_folder()
        self.suggested = self.default_path("patron", "md")
        self.saving = False
        self.refused: str | None = None

    def default_path(self, copy: str, fmt: str) -> Path:
        return self.folder / f"chat-{self.chat.id}-{copy}.{fmt}"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="export-box", classes="dialog"):
            yield Label(f"Export chat #{self.chat.id} with {clean_name(self.chat.patron_name, 40)}",
                        markup=False, classes="dialog-title")
            yield Label("Copy", markup=False, classes="field-label")
            with RadioSet(id="export-copy"):
                yield StateRadioButton("Patron copy — messages only: no internal notes, no system events",
                                  value=True, id="export-copy-patron")
                yield StateRadioButton("Librarian copy — everything: notes, system events, e-mail",
                                  id="export-copy-librarian")
            yield Label("Format", markup=False, classes="field-label")
            with RadioSet(id="export-format"):
                yield StateRadioButton("Markdown (.md)", value=True, id="export-format-md")
                yield StateRadioButton("Plain text (.txt)", id="export-format-txt")
            yield Label("File (~ is your home folder; missing folders are created)", markup=False,
                        classes="field-label")
            yield Input(str(self.suggested), id="export-path")
            yield Label("", id="export-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write file  ctrl+s", id="export-save-button", variant="primary")
                yield Button("Cancel  esc", id="export-cancel-button")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#export-copy").focus()

    def choice(self) -> tuple[str, str]:
        """(copy, format) as chosen."""
        copy = COPIES[max(0, self.query_one("#export-copy", RadioSet).pressed_index)]
        fmt = FORMATS[max(0, self.query_one("#export-format", RadioSet).pressed_index)]
        return copy, fmt

    @on(RadioSet.Changed)
    def _chosen(self) -> None:
        """Follow the choice in the file name, unless the librarian typed a path of their own."""
        path = self.query_one("#export-path", Input)
        if Path(path.value).expanduser() == self.suggested:
            self.suggested = self.default_path(*self.choice())
            path.value = str(self.suggested)

    def _error(self, text: str) -> None:
        self.query_one("#export-error", Label).update(text)

    @on(Input.Changed, "#export-path")
    def _path_typed(self, event: Input.Changed) -> None:
        if event.value != self.refused:  # a refusal stays until the path changes
            self._error("")

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-save-button")
    def action_save(self) -> None:
        if self.saving:
            return
        self.refused = self.query_one("#export-path", Input).value
        text = self.refused.strip()
        if not text:
            self._error("Type the file to write, e.g. ~/libchat-exports/chat.md")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            example = path / self.default_path(*self.choice()).name
            self._error(f"{path} is a folder; add a file name, e.g. {example}")
            return
        if path.exists():
            def answered(replace: bool | None) -> None:
                if replace:
                    self._start(path)

            self.app.push_screen(Confirm(f"{path.name} exists. Replace it? (y/n)"), answered)
            return
        self._start(path)

    def _start(self, path: Path) -> None:
        self.saving = True
        self._error("Writing…")
        self.run_worker(self._write(path, *self.choice()), group="export", exclusive=True,
                        exit_on_error=False)

    async def _write(self, path: Path, copy: str, fmt: str) -> None:
        data = await self.app.request("transcript", chat_id=self.chat.id)
        if data is None:
            self.saving = False
            self._error("Nothing written: the transcript could not be loaded (see the message).")
            return
        document = transcript_document(data, copy=copy, fmt=fmt)
        try:  # never a half-written export under the real name
            await asyncio.to_thread(write_atomic, path, document)  # owner-only: patron data
        except OSError as exc:
            self.saving = False
            self._error(f"Could not write {path}: {exc.strerror or exc}")
            return
        # `saving` stays set: the dialog closes once, however often ctrl+s was pressed.
        self.app.notify(f"Exported the {copy} copy to {path}", markup=False)
        self.dismiss(path)

    @on(Button.Pressed, "#export-cancel-button")
    def action_cancel(self) -> None:
        if not self.saving:
            self.dismiss(None)
