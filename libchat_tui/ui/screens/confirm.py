"""A one-key yes/no question (End Chat asks one).

The question is a `Static`, not a `Label`: it wraps inside the box instead of being cut
off at its edge ("Close 7 missed chats? They leave the dashboard; they stay in History.").
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class Confirm(ModalScreen[bool]):
    """Returns True for y, False for n or escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, markup=False, id="confirm-question")
            yield Label("y = yes    n / esc = no", markup=False, id="confirm-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
