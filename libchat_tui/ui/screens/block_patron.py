"""Block a patron: how long, why, and what will happen, said before it happens.

The dialog is the confirmation: it asks "Block Maya for 1 day? Their chat ends now, and
new chats from the same browser or address are refused until 14:05 tomorrow." and
changes the question as the duration changes. ctrl+s (or enter in the reason) blocks;
esc cancels. Returns (minutes, reason); the dashboard sends the `block` command.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet, Static

from ...domain import Chat
from ...sanitize import clean_name
from ...vocabulary import DURATIONS, until_text
from ..widgets.footer import KeyFooter
from ..widgets.toggles import StateRadioButton
from .dialog import KeepsTypedKeys

if TYPE_CHECKING:
    from ..app import LibChatApp

DEFAULT_DURATION = 1  # 1 day
#: The longest reason the dialog takes (the desk's limit is 500).
REASON_CHARS = 500


def question(name: str, minutes: int, words: str, now: datetime) -> str:
    """What the dialog asks, with the end of the block in local time."""
    until = until_text(now + timedelta(minutes=minutes), now)
    return (f"Block {name} for {words}? Their chat ends now, and new chats from the same browser "
            f"or address are refused until {until}.")


class BlockScreen(KeepsTypedKeys, ModalScreen[tuple[int, str] | None]):
    """How long and why; returns (minutes, reason), or None if cancelled."""

    CSS_PATH = "../blocks.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "block", "Block", tooltip="Block the patron (ends the chat)",
                id="block-save"),
        Binding("escape", "cancel", "Cancel", id="block-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat) -> None:
        super().__init__()
        self.chat = chat
        self.name_shown = clean_name(chat.patron_name, 40)
        self.answered = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="block-box", classes="dialog"):
            yield Label(f"Block {self.name_shown}", markup=False, classes="dialog-title")
            yield Label("For how long (keys 1-4)", markup=False, classes="field-label")
            with RadioSet(id="block-duration"):
                for index, (_minutes, words) in enumerate(DURATIONS):
                    yield StateRadioButton(words, value=index == DEFAULT_DURATION)
            yield Label("Why (kept with the block; librarians see it, the patron does not)", markup=False,
                        classes="field-label")
            yield Input(id="block-reason", max_length=REASON_CHARS, placeholder="e.g. abusive language")
            yield Static("", id="block-error", markup=False, classes="dialog-error")
            yield Static("", id="block-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Block  ctrl+s", id="block-button", variant="error")
                yield Button("Cancel  esc", id="block-cancel-button")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._error("")
        self._ask()
        self.query_one(RadioSet).focus()

    @property
    def minutes(self) -> tuple[int, str]:
        """The chosen duration: (minutes, in words)."""
        index = self.query_one(RadioSet).pressed_index
        return DURATIONS[index if index >= 0 else DEFAULT_DURATION]

    @property
    def reason(self) -> str:
        return " ".join(self.query_one("#block-reason", Input).value.split())

    @property
    def question(self) -> str:
        minutes, words = self.minutes
        return question(self.name_shown, minutes, words, self.app.now())

    @on(RadioSet.Changed)
    def _ask(self) -> None:
        self.query_one("#block-question", Static).update(self.question)

    def on_key(self, event: events.Key) -> None:
        """1-4 pick a duration from anywhere but the reason; a key meant for the reason that
        reached the screen while the focus moved there is typed into it."""
        if self.keep_typed_key(event):
            return
        if isinstance(self.focused, Input) or not event.character or event.character not in "1234":
            return
        buttons = list(self.query(StateRadioButton))
        buttons[int(event.character) - 1].value = True
        event.stop()

    def _error(self, text: str) -> None:
        error = self.query_one("#block-error", Static)
        error.update(text)
        error.display = bool(text)

    @on(Input.Changed)
    def _typed(self) -> None:
        self._error("")

    @on(Input.Submitted)
    @on(Button.Pressed, "#block-button")
    def action_block(self) -> None:
        if self.answered:
            return
        reason = self.reason
        if not reason:
            self._error("Say why: the reason is kept with the block.")
            self.query_one("#block-reason", Input).focus()
            return
        self.answered = True
        self.dismiss((self.minutes[0], reason))

    @on(Button.Pressed, "#block-cancel-button")
    def action_cancel(self) -> None:
        if not self.answered:
            self.answered = True
            self.dismiss(None)
