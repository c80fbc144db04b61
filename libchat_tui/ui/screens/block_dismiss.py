"""Dismiss a waiting chat (spam, a test): pick a reason, add details, done.

The reason is one of a few presets (1-4 choose, arrows and enter too) with optional
details, or the librarian's own words ("Other"). ctrl+s (or enter in the details)
dismisses; esc cancels. Returns the reason as it is stored ("Spam: links to a shop");
the dashboard sends the `dismiss` command.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet, Static

from ...domain import Chat
from ...sanitize import clean_name
from ...vocabulary import PRESETS
from ...vocabulary import dismiss_reason as reason
from ..widgets.footer import KeyFooter
from ..widgets.toggles import StateRadioButton
from .dialog import KeepsTypedKeys

#: The longest details the dialog takes (with the preset, within the desk's 500).
DETAILS_CHARS = 480


class DismissScreen(KeepsTypedKeys, ModalScreen[str | None]):
    """Why the chat is dismissed; returns the reason, or None if cancelled."""

    CSS_PATH = "../blocks.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "dismiss_chat", "Dismiss", tooltip="Dismiss the chat (it closes)",
                id="dismiss-save"),
        Binding("escape", "cancel", "Cancel", id="dismiss-cancel"),
    ]

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.answered = False
        self._chosen: int | None = None  # picked with enter, before the radio set says so

    def compose(self) -> ComposeResult:
        name = clean_name(self.chat.patron_name, 40)
        with VerticalScroll(id="dismiss-box", classes="dialog"):
            yield Label(f"Dismiss the chat from {name}", markup=False, classes="dialog-title")
            yield Static("It closes now and leaves the dashboard; History shows it as dismissed, with "
                         "the reason. The patron is told the library closed the chat.", markup=False,
                         classes="dialog-hint")
            yield Label("Reason (keys 1-4)", markup=False, classes="field-label")
            with RadioSet(id="dismiss-preset"):
                for index, preset in enumerate(PRESETS):
                    yield StateRadioButton(preset, value=index == 0)
            yield Label("Details (optional; needed for Other)", markup=False, classes="field-label")
            yield Input(id="dismiss-details", max_length=DETAILS_CHARS)
            yield Static("", id="dismiss-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Dismiss  ctrl+s", id="dismiss-button", variant="warning")
                yield Button("Cancel  esc", id="dismiss-cancel-button")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._error("")
        self.query_one(RadioSet).focus()

    def _error(self, text: str) -> None:
        error = self.query_one("#dismiss-error", Static)
        error.update(text)
        error.display = bool(text)

    @property
    def preset(self) -> str:
        index = self.query_one(RadioSet).pressed_index if self._chosen is None else self._chosen
        return PRESETS[max(index, 0)]

    @property
    def reason(self) -> str:
        return reason(self.preset, self.query_one(Input).value)

    def on_key(self, event: events.Key) -> None:
        """1-4 pick a reason from anywhere but the details; enter on the reasons picks the
        highlighted one and dismisses, as the guide says (the radio set would only tick it)."""
        radio = self.focused
        if event.key == "enter" and isinstance(radio, RadioSet):
            event.stop()
            event.prevent_default()
            buttons = list(radio.query(StateRadioButton))
            highlighted = next((i for i, b in enumerate(buttons) if b.has_class("-selected")), None)
            if highlighted is not None:
                buttons[highlighted].value = True
                self._chosen = highlighted  # the radio set learns it a message later
            self.action_dismiss_chat()
            return
        if self.keep_typed_key(event):
            return
        if isinstance(self.focused, Input) or not event.character or event.character not in "1234":
            return
        list(self.query(StateRadioButton))[int(event.character) - 1].value = True
        event.stop()

    @on(RadioSet.Changed)
    @on(Input.Changed)
    def _changed(self) -> None:
        self._chosen = None  # the radio set knows the choice now
        self._error("")

    @on(Input.Submitted)
    @on(Button.Pressed, "#dismiss-button")
    def action_dismiss_chat(self) -> None:
        if self.answered:
            return
        said = self.reason
        if not said:
            self._error("Say why in the details (or pick a reason).")
            self.query_one(Input).focus()
            return
        self.answered = True
        self.dismiss(said)

    @on(Button.Pressed, "#dismiss-cancel-button")
    def action_cancel(self) -> None:
        if not self.answered:
            self.answered = True
            self.dismiss(None)
