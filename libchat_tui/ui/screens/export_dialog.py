"""Export a chat's transcript to a file: patron copy or librarian copy, Markdown or text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, RadioButton, RadioSet

from ...domain import Chat
from ...exports import transcript_document

if TYPE_CHECKING:
    from ..app import LibChatApp


class ExportScreen(ModalScreen[Path | None]):
    """Returns the written file's path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Write file", priority=True, id="export-save"),
        Binding("escape", "dismiss(None)", "Cancel", id="export-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat, folder: Path | None = None) -> None:
        super().__init__()
        self.chat = chat
        self.folder = folder or Path.home() / "libchat-exports"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog"):
            yield Label(f"Export chat #{self.chat.id}", markup=False, classes="dialog-title")
            with RadioSet(id="export-copy"):
                yield RadioButton("Patron copy (no internal notes, no system events)", value=True)
                yield RadioButton("Librarian copy (everything)")
            with RadioSet(id="export-format"):
                yield RadioButton("Markdown", value=True)
                yield RadioButton("Plain text")
            yield Label("File", markup=False)
            yield Input(str(self._path()), id="export-path")
            yield Label("", id="export-error", markup=False, classes="dialog-error")
        yield Footer()

    def _choice(self) -> tuple[str, str]:
        copy = "patron" if self.query_one("#export-copy", RadioSet).pressed_index == 0 else "librarian"
        fmt = "md" if self.query_one("#export-format", RadioSet).pressed_index == 0 else "txt"
        return copy, fmt

    def _path(self, copy: str = "patron", fmt: str = "md") -> Path:
        return self.folder / f"chat-{self.chat.id}-{copy}.{fmt}"

    def on_radio_set_changed(self, _event: RadioSet.Changed) -> None:
        self.query_one("#export-path", Input).value = str(self._path(*self._choice()))

    def action_save(self) -> None:
        self.run_worker(self._save(), group="export")

    async def _save(self) -> None:
        copy, fmt = self._choice()
        path = Path(self.query_one("#export-path", Input).value).expanduser()
        data = await self.app.request("transcript", chat_id=self.chat.id)
        if data is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(transcript_document(data, copy=copy, fmt=fmt), encoding="utf-8")
        except OSError as exc:
            self.query_one("#export-error", Label).update(f"Could not write {path}: {exc.strerror or exc}")
            return
        self.app.notify(f"Wrote {path}", markup=False)
        self.dismiss(path)
