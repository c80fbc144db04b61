"""The keyboard help screen (f1): every key, as currently mapped."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label


class KeyHelp(ModalScreen[None]):
    """A table of binding id, keys and what they do."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close", id="help-close"),
    ]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label("Keyboard reference — esc to close. Remap keys in config.toml [keys].",
                        markup=False, id="help-title")
            table: DataTable[str] = DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("Key", "Action", "Binding id")
            for key, description, binding_id in self.rows:
                table.add_row(key, description, binding_id)
            yield table
