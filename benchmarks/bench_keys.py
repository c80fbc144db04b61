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

Each repeat runs one app (ours or bare, alternating) through both schedules and reports
its p50 / p99 and its longest collector pause; 5 repeats each in a full run.
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

from .common import REPEATS, FrameClock, GcTimer, Mode, Samples, alternate, median, mode_from_argv, pct
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


async def _ours(moves: int, steps: int, chats: int, lines: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            app.feed(snapshot(chats))
            app.flush()
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            # Each chat the keys reach has a loaded transcript of its own (a pane shows only its
            # chat's lines): from the first row to the last one the single steps reach.
            for chat_id in [chat.id for chat in app.model.listed()[:moves + steps + 2]]:
                app.model.transcripts[chat_id] = messages(lines, chat_id)
            screen._open(screen.chat_list.chat_id or 1)
            await pilot.pause(0.3)
            chat_list = screen.chat_list
            order = chat_list._order

            def highlighted() -> int:
                return chat_list.highlighted or 0

            def shown() -> int:
                chat = screen.pane.chat
                view = screen.pane.transcript
                if chat is None or view.entry_count != lines:
                    return -1
                return order.index(chat.id) if order[chat_list.highlighted or 0] == chat.id else -1

            moved, _ = await _drive(app, highlighted, lambda: -1, moves, 1 / 30, highlighted(), False)
            await pilot.pause(0.3)
            step_moved, switched = await _drive(app, highlighted, shown, steps, 0.3, highlighted())
    return {"repeat": moved, "step": step_moved, "switch": switched}


async def _bare(moves: int, steps: int, chats: int, lines: int) -> dict[str, list[float]]:
    app = BareKeys()
    app.lines = [bare_line(m) for m in messages(lines)]
    async with running(app) as pilot:
        set_rows(app, chats)
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


#: mode -> (moves at 30/s, single steps, chats, transcript lines). Smoke: tiny, same keys.
SIZES = {"smoke": (8, 2, 50, 200), "quick": (100, 12, CHATS, LINES), "full": (90, 12, CHATS, LINES)}


def _figures(got: dict[str, list[float]], prefix: str) -> dict[str, float]:
    out = {f"key_{prefix}gc_max_ms": max(GC_PAUSES, default=float("nan"))}
    for key in ("repeat", "step", "switch"):
        out[f"key_{key}_{prefix}p50_ms"] = median(got[key])
        out[f"key_{key}_{prefix}p99_ms"] = pct(got[key], 0.99)
        out[f"key_{key}_{prefix}count"] = len(got[key])
    return out


async def run(mode: Mode) -> Samples:
    """Per repeat, one app each: p50 / p99 over that run's keys; ours and bare alternately."""
    moves, steps, chats, lines = SIZES[mode]
    samples = Samples()

    async def ours() -> dict[str, float]:
        GC_PAUSES.clear()
        return _figures(await _ours(moves, steps, chats, lines), "")

    async def bare() -> dict[str, float]:
        GC_PAUSES.clear()
        return _figures(await _bare(moves, steps, chats, lines), "bare_")

    await alternate(REPEATS[mode], ours, bare, samples)
    return samples


if __name__ == "__main__":
    asyncio.run(run(mode_from_argv())).emit()
