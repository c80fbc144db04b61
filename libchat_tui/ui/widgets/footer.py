"""The key footer, rebuilt only when the keys it shows change.

Textual's `Footer` recomposes (unmounts and mounts every key) on each
`refresh_bindings()`. The dashboard asks for that after every batch of desk events,
because which keys apply depends on the chat's state; but most batches (a patron's
message, a new waiting chat) leave the keys as they were. Rebuilding a dozen key
widgets each time cost about a tenth of start-up (17 rebuilds before the first
paint) and a frame on every patron message; this footer compares what it would
show and rebuilds only on a difference.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A `Footer` that skips rebuilding when its keys, labels and enabled states are unchanged."""

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._shown: tuple[tuple[str, str, bool, str], ...] | None = None

    def _keys(self, screen: Screen[object]) -> tuple[tuple[str, str, bool, str], ...]:
        return tuple((binding.key, binding.description, enabled, tooltip)
                     for _node, binding, enabled, tooltip in screen.active_bindings.values()
                     if binding.show)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._keys(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._shown is not None and screen is self.screen and self._keys(screen) == self._shown:
            return
        super().bindings_changed(screen)
