"""Key → frame with 1,000 chats on the desk and a 10,000-message transcript open.

Keys are posted through the driver (`driver.send_message(events.Key(...))`, the path a
real terminal's keys take) on a fixed schedule, never with `pilot.press` (which waits
for idle twice). A key's latency runs from the moment it was posted to the end of the
first frame (`FrameDriver.flush`) in which the list's highlight has reached it.

Two schedules:
- *repeat*: `down` held, one key every 33 ms (a terminal's key repeat). The pane does
  not follow while the highlight keeps moving (it waits for the highlight to rest
  60 ms), so this is the list alone.
- *step*: one `down` every 300 ms. Each key gives two figures: key → frame with the
  highlight moved, and key → frame with the pane *switched* to that chat, its 10k
  transcript loaded (from the console's cache; the desk round trip is not included).
  The switch includes the deliberate 60 ms rest.

The baseline is a bare Textual app with an OptionList of 1,000 two-line rows and a Log of
10,000 lines, which, 60 ms after the highlight rests, refills the Log with 10,000 lines.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.timer import Timer
from textual.widgets import Log, OptionList

from libchat_tui.ui.screens.dashboard import DashboardScreen

from .common import FrameClock, GcTimer, median, pct
from .console_support import BareDesk, bare_line, console_app, messages, running, set_rows, snapshot

CHATS = 1000
LINES = 10_000
GC_PAUSES: list[float] = []  # the longest collector pause of each run


class BareKeys(BareDesk):
    """The baseline: the Log follows the highlight after it rests 60 ms."""

    shown = 0
    _timer: Timer | None = None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self._timer is not None:
            self._timer.stop()
        index = event.option_index
        self._timer = self.set_timer(0.06, lambda: self._follow(index))

    def _follow(self, index: int) -> None:
        log = self.query_one(Log)
        log.clear()
        log.write_lines(self.lines)
        self.shown = index

    lines: list[str] = []


def _post_down(app: App[Any]) -> None:
    key = events.Key("down", None)
    key.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(key)


async def _drive(app: App[Any], highlighted: Any, shown: Any, moves: int, gap: float,
                 start_index: int, track_switch: bool = True) -> tuple[list[float], list[float]]:
    """Post `moves` downs `gap` apart; return key → highlight frame and key → switch frame (ms)."""
    pending: list[tuple[int, float]] = []  # (index the key moves to, time posted)
    switching: list[tuple[int, float]] = []
    moved: list[float] = []
    switched: list[float] = []

    def on_frame(now: float) -> None:
        at = highlighted()
        while pending and pending[0][0] <= at:
            moved.append((now - pending.pop(0)[1]) * 1000)
        now_shown = shown()
        while switching and switching[0][0] <= now_shown:
            switched.append((now - switching.pop(0)[1]) * 1000)

    with FrameClock() as clock, GcTimer() as gc_timer:
        clock.on_frame.append(on_frame)
        begin = time.perf_counter()
        for i in range(moves):
            due = begin + i * gap
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            posted = time.perf_counter()
            pending.append((start_index + i + 1, posted))
            if track_switch:
                switching.append((start_index + i + 1, posted))
            _post_down(app)
        deadline = time.perf_counter() + 5
        while (pending or switching) and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
    GC_PAUSES.append(gc_timer.longest * 1000)
    return moved, switched


async def _ours(moves: int, steps: int) -> dict[str, list[float]]:
    entries = messages(LINES)
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            app._on_frame(snapshot(CHATS))
            app.flush()
            for chat_id in app.model.chats:
                app.model.transcripts[chat_id] = entries
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            screen._open(screen.chat_list.chat_id or 1)
            await pilot.pause(0.3)
            chat_list = screen.chat_list
            order = chat_list._order

            def highlighted() -> int:
                return chat_list.highlighted or 0

            def shown() -> int:
                chat = screen.pane.chat
                view = screen.pane.transcript
                if chat is None or view.entry_count != LINES:
                    return -1
                return order.index(chat.id) if order[chat_list.highlighted or 0] == chat.id else -1

            moved, _ = await _drive(app, highlighted, lambda: -1, moves, 1 / 30, highlighted(), False)
            await pilot.pause(0.3)
            step_moved, switched = await _drive(app, highlighted, shown, steps, 0.3, highlighted())
    return {"repeat": moved, "step": step_moved, "switch": switched}


async def _bare(moves: int, steps: int) -> dict[str, list[float]]:
    app = BareKeys()
    app.lines = [bare_line(m) for m in messages(LINES)]
    async with running(app) as pilot:
        set_rows(app, CHATS)
        app.query_one(Log).write_lines(app.lines)
        option_list = app.query_one(OptionList)
        option_list.highlighted = 0
        await pilot.pause(0.3)

        def highlighted() -> int:
            return option_list.highlighted or 0

        moved, _ = await _drive(app, highlighted, lambda: -1, moves, 1 / 30, highlighted(), False)
        await pilot.pause(0.3)
        step_moved, switched = await _drive(app, highlighted, lambda: app.shown, steps, 0.3, highlighted())
    return {"repeat": moved, "step": step_moved, "switch": switched}


async def run(quick: bool) -> dict[str, float]:
    rounds = 1 if quick else 3
    moves, steps = (100, 12) if quick else (150, 25)
    ours: dict[str, list[float]] = {"repeat": [], "step": [], "switch": []}
    bare: dict[str, list[float]] = {"repeat": [], "step": [], "switch": []}
    gc_ours: list[float] = []
    gc_bare: list[float] = []
    for _ in range(rounds):
        GC_PAUSES.clear()
        for key, values in (await _ours(moves, steps)).items():
            ours[key].extend(values)
        gc_ours.extend(GC_PAUSES)
        GC_PAUSES.clear()
        for key, values in (await _bare(moves, steps)).items():
            bare[key].extend(values)
        gc_bare.extend(GC_PAUSES)
    results: dict[str, float] = {"key_gc_max_ms": max(gc_ours, default=float("nan")),
                                 "key_bare_gc_max_ms": max(gc_bare, default=float("nan"))}
    for key in ("repeat", "step", "switch"):
        results[f"key_{key}_p50_ms"] = median(ours[key])
        results[f"key_{key}_p99_ms"] = pct(ours[key], 0.99)
        results[f"key_{key}_bare_p50_ms"] = median(bare[key])
        results[f"key_{key}_bare_p99_ms"] = pct(bare[key], 0.99)
        results[f"key_{key}_count"] = len(ours[key])
    return results


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(asyncio.run(run("--quick" in sys.argv)), indent=2))
