"""The canned-message picker (ctrl+k): type part of a name, enter inserts, esc cancels.

Names match fuzzily, scored as the command palette scores (`widgets.composer.rank`); each
line shows the name with the matched letters reversed, as the palette shows them, and the
start of the text; the highlighted line is bold and underlined (not colour alone). The
list follows the team's edits while it is open (`canned` events). The last line, or
ctrl+e, opens the editor instead. Returns what was picked; the dashboard
expands it into the composer, where it is edited and sent (or not) as any message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...sanitize import clean
from ..messages import DeskChanged
from ..widgets.composer import highlight, rank

if TYPE_CHECKING:
    from ..app import LibChatApp

#: How much of a name and its text's start a line shows (one line at 80 columns).
PREVIEW = 68
#: The option that opens the editor (canned messages' options are numbered).
EDIT = "edit"


@dataclass(frozen=True, slots=True)
class Picked:
    """Insert the canned message `name`, or (`edit`) open the editor instead."""

    name: str | None = None
    edit: bool = False


class CannedPicker(ModalScreen[Picked | None]):
    """The team's canned messages, filtered as you type."""

    CSS_PATH = "../canned.tcss"
    AUTO_FOCUS = "#canned-filter"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="canned-cancel"),
        Binding("down", "move(1)", "Next", show=False, id="canned-next"),
        Binding("up", "move(-1)", "Previous", show=False, id="canned-previous"),
        # ctrl+e is the filter's "end of line" too: the editor matters more here.
        Binding("ctrl+e", "edit", "Edit canned messages", priority=True, id="canned-edit"),
    ]

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []  # names, in the order of the options

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-picker-box", classes="dialog"):
            yield Label("Canned messages", markup=False, classes="dialog-title")
            yield Input(placeholder="Type part of a name", id="canned-filter", max_length=40)
            yield OptionList(id="canned-options")
            yield Static("↑↓ choose · enter inserts into the reply (not sent) · ctrl+e edits the list · "
                         "esc cancels", markup=False, classes="dialog-hint")

    def on_mount(self) -> None:
        self.refill()

    @property
    def options(self) -> OptionList:
        return self.query_one("#canned-options", OptionList)

    def refill(self, *, keep: bool = False) -> None:
        """List what matches the filter now: the best match first and highlighted, or (`keep`)
        the highlight stays on the same name (a colleague's edit moves nothing)."""
        query = self.query_one("#canned-filter", Input).value.strip()
        messages: list[dict[str, Any]] = self.app.model.canned
        texts = {str(m.get("name", "")): str(m.get("text", "")) for m in messages}
        options = self.options
        before = options.highlighted
        kept = self.shown[before] if before is not None and before < len(self.shown) else None
        self.shown = rank(query, list(texts))
        listed: list[Option] = []
        for number, name in enumerate(self.shown):
            preview = clean(texts[name], single_line=True, max_len=max(20, PREVIEW - len(name)))
            listed.append(Option(Content.assemble(highlight(name, query), "  ", (preview, "dim")),
                                 id=str(number)))
        empty = "No canned messages yet. " if not texts else "None match. " if not self.shown else ""
        listed.append(Option(Content(f"{empty}✎ Edit canned messages… (ctrl+e)"), id=EDIT))
        options.clear_options()
        options.add_options(listed)
        options.highlighted = self.shown.index(kept) if keep and kept in self.shown else 0

    @on(Input.Changed, "#canned-filter")
    def _filter(self) -> None:
        self.refill()

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        if event.changes.canned:
            self.refill(keep=True)

    def action_move(self, step: int) -> None:
        options = self.options
        count = options.option_count
        if count:
            options.highlighted = ((options.highlighted or 0) + step) % count

    @on(Input.Submitted, "#canned-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick(self.options.highlighted)

    @on(OptionList.OptionSelected, "#canned-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option_index)

    def pick(self, index: int | None) -> None:
        if index is None:
            return
        if index >= len(self.shown):
            self.dismiss(Picked(edit=True))
        else:
            self.dismiss(Picked(name=self.shown[index]))

    def action_edit(self) -> None:
        self.dismiss(Picked(edit=True))

    def action_cancel(self) -> None:
        self.dismiss(None)
