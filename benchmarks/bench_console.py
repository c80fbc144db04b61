"""Console renders against a bare Textual app doing the same screen work, at 120x40.

"Time until rendered" runs from handing the app the data (as it arrives from the desk)
to the end of the first frame written after it (`FrameDriver`, full rendering), so it
includes turning wire dicts into domain objects, building rows, layout and the frame.

- N chats on the desk: a `snapshot` frame through `_on_frame` + `flush()`, vs the bare
  app's `OptionList.set_options` with equivalent two-line rows built from the same data.
- Open a chat with N messages: the transcript command's result through
  `DeskModel.load_transcript` and `ChatPane.show` (what the dashboard does when the desk
  answers), vs the bare app's `Log.clear()` + `Log.write_lines` of the same messages.
- Memory, each figure in a fresh process (`python -m benchmarks.bench_console memory ...`):
  RSS growth for 5,000 chats and for opening a 50k-message transcript, and the whole
  process with 500 chats and a 50k-message transcript open; the bare app likewise with
  OptionList rows and Log lines.
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

from .common import FrameClock, median, rss_mb, settle_memory
from .console_support import BareDesk, chat_wire, console_app, messages, running, set_rows, snapshot


async def _ours_chats(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            frame = snapshot(n)
            with FrameClock() as clock:
                start = time.perf_counter()
                app._on_frame(frame)
                app.flush()
                done = await clock.frame_where(lambda: True)
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
            app._on_frame(snapshot(20))
            app.flush()
            await pilot.pause(0.2)  # the pane has followed the highlight to chat 1
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            with FrameClock() as clock:
                start = time.perf_counter()
                entries = app.model.load_transcript(result)
                screen.pane.show(app.model.chats[1], app.now(), entries)
                done = await clock.frame_where(lambda: True)
            assert screen.query_one(TranscriptView).entry_count == n
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


async def _compare(name: str, ours_fn: Any, bare_fn: Any, n: int, runs: int) -> dict[str, float]:
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(runs):  # alternate, so drift in machine speed hits both alike
        ours.append(await ours_fn(n))
        bare.append(await bare_fn(n))
    return {f"{name}_{n}_ms": median(ours), f"{name}_{n}_bare_ms": median(bare),
            f"{name}_{n}_max_ms": max(ours)}


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
                    app._on_frame(snapshot(chats))
                    app.flush()
                else:
                    set_rows(app, chats)
                await pilot.pause(0.2)
            settle_memory()
            before = rss_mb()
            if scenario == "chats":
                if ours:
                    app._on_frame(snapshot(n))
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


def memory() -> dict[str, float]:
    """RSS growth for 5,000 chats and a 50k transcript, and the whole console with 500 chats
    and a 50k transcript open; ours and bare, each in a fresh process."""
    out: dict[str, float] = {}
    for scenario, n, key in (("chats", 5000, "chats_5000_{}rss_mb"),
                             ("transcript", 50_000, "transcript_50000_{}rss_mb"),
                             ("desk", 50_000, "memory_500_50k_{}mb")):
        for kind in ("ours", "bare"):
            name = key.format("" if kind == "ours" else "bare_")
            proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_console", "memory", kind, scenario,
                                   str(n)], capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-2000:])
            before, after = json.loads(proc.stdout.strip().splitlines()[-1])
            out[name] = after if scenario == "desk" else after - before
    return out


async def run(quick: bool) -> dict[str, float]:
    runs = 2 if quick else 5
    results: dict[str, float] = {}
    for n in (1000, 5000):
        results.update(await _compare("chats", _ours_chats, _bare_chats, n, runs))
    for n in (10_000, 50_000):
        results.update(await _compare("transcript", _ours_transcript, _bare_transcript, n,
                                      runs if n == 10_000 else max(1, runs - 2)))
    results.update(memory())
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        print(json.dumps(asyncio.run(_memory(sys.argv[2], sys.argv[3], int(sys.argv[4])))))
    else:
        print(json.dumps(asyncio.run(run("--quick" in sys.argv)), indent=2))
