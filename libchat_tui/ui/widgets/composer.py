"""The line where the librarian types to the patron (enter sends).

It only ever messages the patron: internal notes are written in their own dialog,
titled "Internal note". Its border title says so in words, and stays while text is typed (the
placeholder does not).
"""

from __future__ import annotations

from textual.widgets import Input

from ...protocol import LIMITS

#: The composer's title: what enter does with its text, in words.
TITLE = "Reply to the patron (enter sends)"


class Composer(Input):
    """The message input of the chat pane; its draft is kept per chat by the pane."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Message the patron — enter sends", id=id,
                         max_length=LIMITS["message"])
        self.border_title = TITLE

    def on_mount(self) -> None:
        # Reduce motion: a blinking cursor is motion too.
        self.cursor_blink = self.app.animation_level != "none"
