"""Live desk events, open loop, through the console's `_on_frame` — vs a bare Textual app.

A busy desk of 500 chats (100 waiting, 400 active) with one active chat open. Events are
generated up front as the JSON text the desk sends: 60% patron messages (one in ten to
the open chat, the rest spread over active chats, each moving its chat to the top),
20% chat status changes in a cycle that keeps the desk at 500 chats (a new chat
arrives, a waiting chat is accepted, an active chat ends, an ended chat is closed), and
20% typing signals. Each event has a scheduled time (open loop: the sender never waits
for the app); at its time it is decoded (into a typed frame, as the desk client does;
the bare app uses `json.loads`) and handed to `app._on_frame`. Its latency runs from its
scheduled time to the end of the first frame written after the batch holding it was applied (`FrameDriver`).

The bare baseline gets the same frames: every 50 ms it re-sorts its chat dicts, rebuilds
its OptionList rows (`set_options`) and writes the open chat's new lines to a Log.

Also measured: a 5,000-event burst handed over at once, until the frame that shows it.
Garbage-collector pauses are summed with `gc.callbacks`.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.timer import Timer
from textual.widgets import Log, OptionList
from textual.widgets.option_list import Option

from libchat_tui.ui.screens.dashboard import DashboardScreen

from .common import REPEATS, FrameClock, GcTimer, Mode, Samples, alternate, median, mode_from_argv, pct
from .console_support import T0, TEXT, BareDesk, bare_row, chat_wire, console_app, decode, messages, running

CHATS = 500
WAITING = 100
OPEN_CHAT = WAITING + 1  # the first active chat


def desk_snapshot() -> dict[str, Any]:
    chats = [chat_wire(i, "waiting" if i <= WAITING else "active") for i in range(1, CHATS + 1)]
    return {"type": "snapshot", "seq": 1, "chats": chats}


def make_events(total: int, seed: int = 7) -> list[str]:
    """`total` desk frames as JSON text, each carrying its index in `_i`."""
    rng = random.Random(seed)
    waiting = list(range(1, WAITING + 1))
    active = list(range(WAITING + 1, CHATS + 1))
    ended: list[int] = []
    next_id = CHATS + 1
    out = []
    for i in range(total):
        at = (T0 + timedelta(hours=1, milliseconds=i)).isoformat()
        kind = i % 10
        frame: dict[str, Any]
        if kind < 6:
            chat_id = OPEN_CHAT if kind == 0 else rng.choice(active)
            frame = {"type": "message", "message": {
                "id": 1_000_000 + i, "chat_id": chat_id, "sender": "patron", "author": f"Patron {chat_id}",
                "text": f"{i}: {TEXT}", "at": at}, "message_count": 2 + i}
        elif kind < 8:
            step = (i // 10 * 2 + kind - 6) % 4
            if step == 0:
                chat_id, state = next_id, "waiting"
                next_id += 1
                waiting.append(chat_id)
            elif step == 1:
                chat_id, state = waiting.pop(0), "active"
                active.append(chat_id)
            elif step == 2:
                chat_id, state = active.pop(rng.randrange(1, len(active))), "ended"
                ended.append(chat_id)
            else:
                chat_id, state = ended.pop(0), "closed"
            changed = T0 + timedelta(hours=1, milliseconds=i)
            frame = {"type": "chat", "chat": chat_wire(chat_id, state, changed)}
        else:
            frame = {"type": "typing", "chat_id": rng.choice(active), "who": "patron"}
        if frame["type"] != "typing":
            frame["seq"] = i + 2
        frame["_i"] = i
        out.append(json.dumps(frame))
    return out


class BareLive(BareDesk):
    """Baseline: batches frames every 50 ms; re-sorts, rebuilds rows, appends log lines."""

    def on_mount(self) -> None:
        super().on_mount()
        self.chats: dict[int, dict[str, Any]] = {}
        self.inbox: list[dict[str, Any]] = []
        self.timer: Timer | None = None
        self.after_flush: Callable[[list[dict[str, Any]]], None] = lambda frames: None

    def on_frame(self, frame: dict[str, Any]) -> None:
        self.inbox.append(frame)
        if self.timer is None:
            self.timer = self.set_timer(0.05, self.flush)

    def flush(self) -> None:
        self.timer = None
        frames, self.inbox = self.inbox, []
        lines = []
        for frame in frames:
            if frame["type"] == "snapshot":
                self.chats = {c["id"]: c for c in frame["chats"]}
            elif frame["type"] == "chat":
                chat = frame["chat"]
                if chat["state"] == "closed":
                    self.chats.pop(chat["id"], None)
                else:
                    self.chats[chat["id"]] = chat
            elif frame["type"] == "message":
                message = frame["message"]
                chat = self.chats.get(message["chat_id"])
                if chat is not None:
                    chat["last_activity"] = message["at"]
                if message["chat_id"] == OPEN_CHAT:
                    lines.append(f"{message['at'][11:16]} {message['author'] + ':':16}{message['text']}")
        rank = {"waiting": 0, "active": 1, "ended": 2}
        ordered = sorted(self.chats.values(), key=lambda c: (rank.get(c["state"], 3), c["last_activity"]))
        option_list = self.query_one(OptionList)
        highlighted = option_list.highlighted
        option_list.set_options([Option(bare_row(c["id"]), id=str(c["id"])) for c in ordered])
        option_list.highlighted = highlighted
        if lines:
            self.query_one(Log).write_lines(lines)
        self.after_flush(frames)


async def _feed(deliver: Callable[[int, str], None], events: list[str], rate: float,
                begin: float) -> None:
    """Hand each event over at its scheduled time (in a batch if the loop was late)."""
    i = 0
    total = len(events)
    while i < total:
        now = time.perf_counter()
        while i < total and begin + i / rate <= now:
            deliver(i, events[i])
            i += 1
        if i < total:
            await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))


class Meter:
    """Turns 'applied in a flush' + 'next frame ended' into per-event latencies."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.begin = 0.0
        self.applied: list[int] = []
        self.latencies: list[float] = []
        self.events_applied = 0
        self.index: dict[int, int] = {}  # id(frame) -> event index, while the frame is queued

    def delivered(self, index: int, frame: Any) -> Any:
        self.index[id(frame)] = index
        return frame

    def on_applied(self, frames: list[Any]) -> None:
        for frame in frames:
            index = self.index.pop(id(frame), None)
            if index is not None:
                self.applied.append(index)

    def on_frame(self, now: float) -> None:
        for index in self.applied:
            due = self.begin + (index / self.rate if self.rate else 0.0)
            self.latencies.append((now - due) * 1000)
        self.events_applied += len(self.applied)
        self.applied = []


async def _run(app: Any, deliver: Callable[[int, str], None], pilot: Any, events: list[str],
               rate: float, meter: Meter) -> dict[str, float]:
    await pilot.pause(0.3)
    with FrameClock() as clock, GcTimer() as gc_timer:
        clock.on_frame.append(meter.on_frame)
        meter.begin = time.perf_counter()
        if rate:
            await _feed(deliver, events, rate, meter.begin)
        else:  # a burst: everything at once
            for i, raw in enumerate(events):
                deliver(i, raw)
        sent_by = time.perf_counter()
        deadline = sent_by + 5
        while meter.events_applied < len(events) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        drained = (clock.times[-1] if clock.times else time.perf_counter()) - meter.begin
        window = [t for t in clock.times if meter.begin <= t <= sent_by]
    seconds = max(1e-9, sent_by - meter.begin)
    return {"applied": meter.events_applied, "sent": len(events),
            "p50_ms": median(meter.latencies), "p99_ms": pct(meter.latencies, 0.99),
            "max_ms": max(meter.latencies, default=float("nan")),
            "fps": len(window) / seconds if rate else float("nan"), "drain_s": drained,
            "gc_ms": gc_timer.total * 1000, "gc_max_ms": gc_timer.longest * 1000,
            "gc_gen2": gc_timer.collections[2],
            "gc_counts": list(gc_timer.collections),
            "gc_max_by_gen_ms": [round(x * 1000, 1) for x in gc_timer.longest_by_generation]}


async def _ours(events: list[str], rate: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            app.feed(desk_snapshot())
            app.flush()
            app.model.transcripts[OPEN_CHAT] = list(messages(1000, OPEN_CHAT))
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            screen.chat_list.select_chat(OPEN_CHAT)
            screen._open(OPEN_CHAT)
            meter = Meter(rate)
            original = app.flush

            def timed_flush() -> None:
                frames = app._inbox
                original()
                meter.on_applied(frames)

            app.flush = timed_flush  # type: ignore[method-assign]
            def deliver(i: int, raw: str) -> None:
                app._on_frame(meter.delivered(i, decode(raw)))

            return await _run(app, deliver, pilot, events, rate, meter)


async def _bare(events: list[str], rate: float) -> dict[str, float]:
    app = BareLive()
    async with running(app) as pilot:
        app.on_frame(desk_snapshot())
        app.flush()
        app.query_one(Log).write_lines([f"14:02 {m.author}: {m.text}" for m in messages(1000, OPEN_CHAT)])
        meter = Meter(rate)
        app.after_flush = meter.on_applied

        def deliver(i: int, raw: str) -> None:
            app.on_frame(meter.delivered(i, json.loads(raw)))

        return await _run(app, deliver, pilot, events, rate, meter)


#: mode -> (seconds at each rate, burst size); the smoke run reports under the same keys.
SIZES = {"smoke": (0.3, 200), "quick": (1.5, 5000), "full": (2.0, 5000)}
KEYS = ("applied", "sent", "p50_ms", "p99_ms", "max_ms", "fps", "gc_ms", "gc_max_ms")


async def run(mode: Mode) -> Samples:
    """Each rate, then the burst: ours and the bare app alternately, `REPEATS[mode]` times."""
    seconds, burst_size = SIZES[mode]
    samples = Samples()
    for rate in (100, 1000, 5000):
        events = make_events(int(rate * seconds))

        async def ours(events: list[str] = events, rate: int = rate) -> dict[str, float]:
            got = await _ours(events, rate)
            return {f"live_{rate}_{key}": got[key] for key in KEYS}

        async def bare(events: list[str] = events, rate: int = rate) -> dict[str, float]:
            got = await _bare(events, rate)
            return {f"live_{rate}_bare_{key}": got[key] for key in KEYS if key != "sent"}

        await alternate(REPEATS[mode], ours, bare, samples)
    burst = make_events(burst_size, seed=11)

    async def ours_burst() -> dict[str, float]:
        got = await _ours(burst, 0)
        return {"burst_5000_drain_ms": got["drain_s"] * 1000, "burst_5000_applied": got["applied"],
                "burst_5000_gc_ms": got["gc_ms"]}

    async def bare_burst() -> dict[str, float]:
        got = await _bare(burst, 0)
        return {"burst_5000_bare_drain_ms": got["drain_s"] * 1000, "burst_5000_bare_applied": got["applied"],
                "burst_5000_bare_gc_ms": got["gc_ms"]}

    await alternate(REPEATS[mode], ours_burst, bare_burst, samples)
    return samples


if __name__ == "__main__":
    asyncio.run(run(mode_from_argv())).emit()
