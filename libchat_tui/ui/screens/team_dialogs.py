"""The team desk's small dialogs: which departments I monitor, where a chat goes on
transfer, and the answer to a chat offered to me. Keyboard first; every choice shows its
state in glyphs and words; patron and colleague names are plain text."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...domain import Chat
from ...sanitize import clean, clean_name
from ..widgets.toggles import StateCheckbox

CSS = """
.team-box { width: 72; max-width: 100%; height: auto; max-height: 90%; padding: 1 2;
            background: $panel; border: thick $primary; }
.team-title { text-style: bold; margin-bottom: 1; }
.team-keys { color: $text-muted; margin-top: 1; }
.team-box OptionList { height: auto; max-height: 12; }
"""


class ChooseDepartments(ModalScreen[list[str] | None]):
    """Tick the departments whose waiting chats I take; ctrl+s saves, esc cancels."""

    DEFAULT_CSS = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="departments-save"),
        Binding("escape", "dismiss(None)", "Cancel", id="departments-cancel"),
    ]

    def __init__(self, departments: list[str], monitor: list[str]) -> None:
        super().__init__()
        self.departments = departments
        self.monitor = set(monitor or departments)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="team-box"):
            yield Label("Departments you monitor", classes="team-title", markup=False)
            yield Static("Waiting chats of the others are counted, not listed; ctrl+j takes the "
                         "first in line among yours.", markup=False)
            for number, name in enumerate(self.departments):
                yield StateCheckbox(clean_name(name, 60), name in self.monitor, id=f"department-{number}")
            yield Label("space ticks · ctrl+s saves · esc cancels", classes="team-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#department-0", StateCheckbox).focus()

    def chosen(self) -> list[str]:
        return [name for number, name in enumerate(self.departments)
                if self.query_one(f"#department-{number}", StateCheckbox).value]

    def action_save(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self.notify("Tick at least one department.", severity="warning", markup=False)
            return
        self.dismiss(chosen)


class TransferChat(ModalScreen[dict[str, Any] | None]):
    """Pick a colleague or a department, add an optional note; enter sends."""

    DEFAULT_CSS = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="transfer-cancel"),
    ]

    def __init__(self, chat: Chat, colleagues: list[dict[str, Any]], departments: list[str]) -> None:
        super().__init__()
        self.chat = chat
        self.targets: list[dict[str, Any]] = []
        for entry in colleagues:
            self.targets.append({"to_librarian": str(entry["id"]), "name": str(entry["name"]),
                                 "state": str(entry.get("state", "online"))})
        for name in departments:
            self.targets.append({"to_department": name, "name": name})

    def compose(self) -> ComposeResult:
        options = []
        for target in self.targets:
            if "to_librarian" in target:
                mark = "● online" if target["state"] == "online" else "◐ away"
                label = f"→ {clean_name(target['name'], 40)}  ({mark}; they must accept)"
            else:
                label = f"⇢ {clean_name(target['name'], 40)}  (department: back in its line, first)"
            options.append(Option(label))
        with Vertical(classes="team-box"):
            yield Label(f"Transfer the chat with {clean_name(self.chat.patron_name, 40)}",
                        classes="team-title", markup=False)
            if not any("to_librarian" in t for t in self.targets):
                yield Static("No colleague is on the desk now: a department's line is the way.",
                             markup=False)
            yield OptionList(*options, id="transfer-targets")
            yield Input(placeholder="Note for whoever takes it (optional; internal)", id="transfer-note",
                        max_length=500)
            yield Label("↑/↓ choose · tab to the note · enter transfers · esc cancels",
                        classes="team-keys", markup=False)

    def on_mount(self) -> None:
        targets = self.query_one(OptionList)
        targets.highlighted = 0 if self.targets else None
        targets.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._send()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._send()

    def _send(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.targets):
            self.notify("Choose a colleague or a department first.", severity="warning", markup=False)
            return
        choice = dict(self.targets[index])
        choice["note"] = self.query_one("#transfer-note", Input).value.strip()
        self.dismiss(choice)


class AnswerTransfer(ModalScreen[bool | None]):
    """A colleague offers me their chat: y takes it, n declines, esc decides later."""

    DEFAULT_CSS = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Take it", id="transfer-take"),
        Binding("n", "dismiss(False)", "Decline", id="transfer-decline"),
        Binding("escape", "dismiss(None)", "Later", id="transfer-later"),
    ]

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat

    def compose(self) -> ComposeResult:
        offer = self.chat.transfer
        sender = clean_name(offer.from_name, 40) if offer else "A colleague"
        with Vertical(classes="team-box"):
            yield Label(f"{sender} offers you the chat with {clean_name(self.chat.patron_name, 40)}",
                        classes="team-title", markup=False)
            yield Static(f"Question: {clean(self.chat.question, single_line=True, max_len=200)}",
                         markup=False)
            if offer and offer.note:
                yield Static(f"Note from {sender}: {clean(offer.note, max_len=500)}", markup=False)
            yield Label("y = take it (the patron is told you are chatting now) · n = decline · "
                        "esc = decide later", classes="team-keys", markup=False)
