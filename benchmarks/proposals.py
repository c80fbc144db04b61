"""Proposed fixes in files this suite does not own, applied as patches for measurement.

    BENCH_PROPOSALS=all python -m benchmarks --only keys --only live --only startup
    BENCH_PROPOSALS=bindings,gc python -m benchmarks --only live

Nothing here runs unless $BENCH_PROPOSALS names it. Each patch is the smallest form of a
change described in docs/performance.md ("Proposed next"), so its effect can be measured
in the same harness before anyone edits the app:

- `bindings` (ui/screens/dashboard.py): `apply_changes` calls `refresh_bindings()` on
  every batch, and every call makes Textual's Footer recompose (a dozen FooterKey
  widgets mounted and thrown away: cyclic garbage for the collector). Refresh only
  when the set of applicable actions actually changed.
- `gc` (ui/app.py): young-generation threshold 20,000 instead of 50,000: a collection
  then pauses ~6 ms instead of ~30 ms on this machine, for about the same total.
- `snapshot` (ui/app.py): apply a `snapshot` frame at once instead of after the 50 ms
  batching timer (start-up paints ~45 ms sooner).
- `statics` (ui/widgets/chat_header.py, ui/screens/dashboard.py): the desk bar, the
  banner and the chat header are `Static.update`d on every batch and every second tick,
  identical or not, and `Static.update` defaults to `layout=True`: a whole-screen layout
  pass each time. Update only when the content changed, and skip the layout when the
  number of lines did not change.
"""

from __future__ import annotations

import gc
import os
from typing import Any

ALL = "bindings,gc,snapshot,statics"
ACTIVE = frozenset(filter(None, os.environ.get("BENCH_PROPOSALS", "").replace("all", ALL).split(",")))


def apply() -> None:
    """Patch the console classes with every proposal named in $BENCH_PROPOSALS."""
    if not ACTIVE:
        return
    from libchat_tui.ui.app import LibChatApp
    from libchat_tui.ui.screens.dashboard import DashboardScreen

    if "bindings" in ACTIVE:
        refresh = DashboardScreen.refresh_bindings

        def refresh_if_changed(self: DashboardScreen) -> None:
            actions = tuple(getattr(b, "action", "") for b in DashboardScreen.BINDINGS)
            focused = self.focused
            state = (focused.id if focused is not None else None,
                     tuple(self.check_action(a, ()) for a in actions))
            if getattr(self, "_bench_bindings", None) != state:
                self._bench_bindings = state  # type: ignore[attr-defined]
                refresh(self)

        DashboardScreen.refresh_bindings = refresh_if_changed  # type: ignore[method-assign]

    if "gc" in ACTIVE:
        mount = LibChatApp.on_mount

        def on_mount(self: LibChatApp) -> None:
            mount(self)
            gc.set_threshold(20_000, 50, 1_000)

        LibChatApp.on_mount = on_mount  # type: ignore[method-assign]

    if "statics" in ACTIVE:
        from textual.widgets import Static

        from libchat_tui.ui.widgets.chat_header import ChatHeader

        update = Static.update

        def update_if_changed(self: Static, content: Any = "", *, layout: bool = True) -> None:
            if not (isinstance(self, ChatHeader) or self.id in ("desk-bar", "banner")):
                update(self, content, layout=layout)
                return
            previous = getattr(self, "_bench_content", None)
            if previous is not None and type(previous) is type(content) and previous == content:
                return
            lines = str(content).count("\n")
            same_height = previous is not None and str(previous).count("\n") == lines
            self._bench_content = content  # type: ignore[attr-defined]
            update(self, content, layout=layout and not same_height)

        Static.update = update_if_changed  # type: ignore[method-assign]

    if "snapshot" in ACTIVE:
        on_frame = LibChatApp._on_frame

        from libchat_tui import protocol as p

        def on_frame_now(self: LibChatApp, frame: p.Frame) -> None:
            on_frame(self, frame)
            if isinstance(frame, p.Snapshot):
                self.apply_now()

        LibChatApp._on_frame = on_frame_now  # type: ignore[method-assign]
