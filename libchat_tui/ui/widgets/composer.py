"""The line where the librarian types to the patron (enter sends)."""

from __future__ import annotations

from textual.widgets import Input

from ...protocol import LIMITS


class Composer(Input):
    """The message input of the chat pane; its draft is kept per chat by the pane."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Message the patron — enter sends", id=id,
                         max_length=LIMITS["message"])
