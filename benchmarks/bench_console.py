"""Console renders against a bare Textual app doing the same screen work, at 120x40.

"Time until rendered" runs from handing the app the data (as it arrives from the desk)
to the end of the first frame written after it (`FrameDriver`, full rendering), so it
includes turning wire dicts into domain objects, building rows, layout and the frame.

- N chats on the desk: a `snapshot` frame's JSON text decoded (as the desk client does),
  through `_on_frame` + `flush()`, until the first frame whose list holds the N chats; vs
  the bare app's `OptionList.set_options` with equivalent two-line rows.
- Open a chat with N messages: the transcript command's result through
  `DeskModel.load_transcript` and `ChatPane.show` (what the dashboard does when the desk
  answers), vs the bare app's `Log.clear()` + `Log.write_lines` of the same messages.
- Memory, each figure in a fresh process (`python -m benchmarks.bench_console memory ...`):
  RSS growth for 5,000 chats and for opening a 50k-message transcript, and the whole
  process with 500 chats and a 50k-message transcript open; the bare app likewise with
  OptionList rows and Log lines.

Every figure: ours and the bare app alternately, `REPEATS[mode]` times (5 in a full run).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.widgets import Log

from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.widgets.transcript_view import TranscriptView

from .common import REPEATS, FrameClock, Mode, Samples, alternate, mode_from_argv, rss_mb, settle_memory
from .console_support import BareDesk, chat_wire, console_app, messages, running, set_rows, snapshot


async def _ours_chats(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            text = json.dumps(snapshot(n))
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            with FrameClock() as clock:
                start = time.perf_counter()
                app.feed(text)
                app.flush()
                done = await clock.frame_where(lambda: screen.chat_list.option_count == n)
            await pilot.pause()
            return (done - start) * 1000


async def _bare_chats(n: int) -> float:
    app = BareDesk()
    async with running(app) as pilot:
        with FrameClock() as clock:
            start = time.perf_counter()
            set_rows(app, n)
            done = await clock.frame_where(lambda: True)
        await pilot.pause()
        return (done - start) * 1000


def transcript_result(n: int) -> dict[str, Any]:
    """What the desk answers to `transcript` for a chat with n messages."""
    return {"chat": chat_wire(1), "messages": [m.to_wire() for m in messages(n)], "notes": []}


async def _ours_transcript(n: int) -> float:
    result = transcript_result(n)
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            app.feed(snapshot(20))
            app.flush()
            app.model.transcripts[1] = []  # so the pane opens chat 1 without asking the (absent) desk
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            for _ in range(500):  # the pane has followed the highlight to chat 1 (bounded: 10 s)
                if screen.pane.chat is not None and screen.pane.chat.id == 1:
                    break
                await pilot.pause(0.02)
            await pilot.pause(0.1)  # and settled: no follow timer is left to move it
            with FrameClock() as clock:
                start = time.perf_counter()
                entries = app.model.load_transcript(result)
                screen.pane.show(app.model.chats[1], app.now(), entries)
                view = screen.query_one(TranscriptView)
                done = await clock.frame_where(lambda: view.entry_count == n)
            await pilot.pause()
            return (done - start) * 1000


async def _bare_transcript(n: int) -> float:
    result = transcript_result(n)
    app = BareDesk()
    async with running(app) as pilot:
        set_rows(app, 20)
        await pilot.pause()
        with FrameClock() as clock:
            start = time.perf_counter()
            log = app.query_one(Log)
            log.clear()
            log.write_lines([f"{m['at'][11:16]} {m['author'] + ':':16}{m['text']}"
                             for m in result["messages"]])
            done = await clock.frame_where(lambda: True)
        await pilot.pause()
        return (done - start) * 1000


async def _compare(name: str, ours_fn: Any, bare_fn: Any, n: int, key_n: int, runs: int,
                   samples: Samples) -> None:
    """`runs` alternating measurements of ours and the bare app, under `{name}_{key_n}_*`."""
    async def ours() -> dict[str, float]:
        return {f"{name}_{key_n}_ms": await ours_fn(n)}

    async def bare() -> dict[str, float]:
        return {f"{name}_{key_n}_bare_ms": await bare_fn(n)}

    await alternate(runs, ours, bare, samples)


# --- memory, each figure in a fresh process ------------------------------------------------

async def _memory(kind: str, scenario: str, n: int) -> tuple[float, float]:
    """(RSS before, RSS after) the scenario's work, in MiB, in this (fresh) process."""
    ours = kind == "ours"
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp)) if ours else BareDesk()
        async with running(app) as pilot:
            if scenario == "transcript" or scenario == "desk":
                chats = 500 if scenario == "desk" else 20
                if ours:
                    app.feed(snapshot(chats))
                    app.flush()
                else:
                    set_rows(app, chats)
                await pilot.pause(0.2)
            settle_memory()
            before = rss_mb()
            if scenario == "chats":
                if ours:
                    app.feed(snapshot(n))
                    app.flush()
                else:
                    set_rows(app, n)
            elif ours:
                screen = app.screen
                assert isinstance(screen, DashboardScreen)
                entries = app.model.load_transcript(transcript_result(n))
                screen.pane.show(app.model.chats[1], app.now(), entries)
            else:
                app.query_one(Log).write_lines([f"14:02 {m.author}: {m.text}" for m in messages(n)])
            await pilot.pause(0.3)
            settle_memory()
            return before, rss_mb()


def _memory_run(kind: str, scenario: str, n: int) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "benchmarks.bench_console", "memory", kind, scenario, str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    return before, after


async def memory(sizes: dict[str, int], runs: int, samples: Samples) -> None:
    """RSS growth for N chats and an N-message transcript, and the whole console with 500
    chats and a transcript open; ours and bare alternately, each in a fresh process."""
    for scenario, key in (("chats", "chats_5000_{}rss_mb"), ("transcript", "transcript_50000_{}rss_mb"),
                          ("desk", "memory_500_50k_{}mb")):
        n = sizes[scenario]

        async def one(kind: str, scenario: str = scenario, key: str = key, n: int = n) -> dict[str, float]:
            before, after = _memory_run(kind, scenario, n)
            value = after if scenario == "desk" else after - before
            return {key.format("" if kind == "ours" else "bare_"): value}

        await alternate(runs, lambda: one("ours"), lambda: one("bare"), samples)


#: mode -> sizes measured under the 1,000 / 5,000 chats and 10k / 50k transcript keys
#: (the smoke run checks that each figure comes out, at tiny sizes).
SIZES = {"smoke": {"chats_1000": 50, "chats_5000": 100, "transcript_10000": 100, "transcript_50000": 200,
                   "chats": 100, "transcript": 200, "desk": 200},
         "quick": {"chats_1000": 1000, "chats_5000": 5000, "transcript_10000": 10_000,
                   "transcript_50000": 50_000, "chats": 5000, "transcript": 50_000, "desk": 50_000},
         "full": {"chats_1000": 1000, "chats_5000": 5000, "transcript_10000": 10_000,
                  "transcript_50000": 50_000, "chats": 5000, "transcript": 50_000, "desk": 50_000}}


async def run(mode: Mode) -> Samples:
    runs = REPEATS[mode]
    sizes = SIZES[mode]
    samples = Samples()
    for key_n in (1000, 5000):
        await _compare("chats", _ours_chats, _bare_chats, sizes[f"chats_{key_n}"], key_n, runs, samples)
    for key_n in (10_000, 50_000):
        await _compare("transcript", _ours_transcript, _bare_transcript, sizes[f"transcript_{key_n}"], key_n,
                       runs, samples)
    await memory(sizes, runs, samples)
    return samples


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        print(json.dumps(asyncio.run(_memory(sys.argv[2], sys.argv[3], int(sys.argv[4])))))
    else:
        asyncio.run(run(mode_from_argv())).emit()
