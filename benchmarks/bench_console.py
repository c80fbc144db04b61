"""Console figures, each against a bare Textual app doing the same screen work at 120x40.

"Rendered" means: the work is done and the app has processed everything that followed
it, including the refresh (`pilot.pause()` after the call, which waits for the app to be
idle). Keys are not sent through `pilot.press` (which waits for idle twice): the
binding's action is called directly and timed to idle.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Log, OptionList
from textual.widgets.option_list import Option

from libchat_tui.config import load_settings
from libchat_tui.domain import Message, Sender
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.widgets.chat_list import ChatList
from libchat_tui.ui.widgets.transcript_view import TranscriptView

SIZE = (120, 40)
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def chat_wire(i: int, state: str = "waiting") -> dict[str, Any]:
    at = (T0 + timedelta(seconds=i)).isoformat()
    return {"id": i, "patron": {"name": f"Patron {i}", "email": None},
            "question": f"Question {i} about interlibrary loans and theses", "state": state,
            "created_at": at, "last_activity": at, "message_count": 1}


def messages(n: int) -> list[Message]:
    return [Message(i, 1, Sender.PATRON if i % 2 else Sender.LIBRARIAN, "Maya" if i % 2 else "Ana",
                    f"Message {i}: could you check whether the library has this in print?",
                    T0 + timedelta(seconds=i)) for i in range(1, n + 1)]


def console_app(tmp: Path) -> LibChatApp:
    (tmp / "c.toml").write_text("[appearance]\nbell = false\n")
    return LibChatApp(load_settings(tmp / "c.toml"), librarian_id="ana", name="Ana",
                      url="ws://127.0.0.1:9", token="x", data_dir=tmp / "console", now=lambda: T0)


class BareList(App[None]):
    def compose(self) -> ComposeResult:
        yield OptionList()
        yield Log()


async def list_render(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            before = rss_mb()
            start = time.perf_counter()
            app._on_frame({"type": "snapshot", "seq": 1, "chats": [chat_wire(i) for i in range(1, n + 1)]})
            app.flush()
            await pilot.pause()
            ours = time.perf_counter() - start
            grown = rss_mb() - before
    bare = BareList()
    async with bare.run_test(size=SIZE) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        rows = [Option(Content.assemble(("● NEW", "bold $warning"), f" Patron {i}\n  Question {i}"),
                       id=str(i)) for i in range(n)]
        bare.query_one(OptionList).set_options(rows)
        await pilot.pause()
        base = time.perf_counter() - start
    return {f"chats_{n}_ms": ours * 1000, f"chats_{n}_bare_ms": base * 1000,
            f"chats_{n}_ratio": ours / base, f"chats_{n}_rss_mb": grown}


async def transcript_open(n: int) -> dict[str, float]:
    entries = messages(n)
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            view = app.screen.query_one(TranscriptView)
            before = rss_mb()
            start = time.perf_counter()
            view.set_entries(entries)
            await pilot.pause()
            ours = time.perf_counter() - start
            grown = rss_mb() - before
    bare = BareList()
    async with bare.run_test(size=SIZE) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        bare.query_one(Log).write_lines([f"14:02 {m.author}: {m.text}" for m in entries])
        await pilot.pause()
        base = time.perf_counter() - start
    return {f"transcript_{n}_ms": ours * 1000, f"transcript_{n}_bare_ms": base * 1000,
            f"transcript_{n}_ratio": ours / base, f"transcript_{n}_rss_mb": grown}


async def key_to_frame(chats: int = 1000, lines: int = 10_000, moves: int = 100) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with app.run_test(size=SIZE) as pilot:
            app._on_frame({"type": "snapshot", "seq": 1,
                           "chats": [chat_wire(i, "active") for i in range(1, chats + 1)]})
            app.flush()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            screen.query_one(TranscriptView).set_entries(messages(lines))
            await pilot.pause()
            chat_list = screen.query_one(ChatList)
            times = []
            for _ in range(moves):
                start = time.perf_counter()
                chat_list.action_cursor_down()
                await pilot.pause()
                times.append((time.perf_counter() - start) * 1000)
    bare = BareList()
    async with bare.run_test(size=SIZE) as pilot:
        bare.query_one(OptionList).set_options([Option(f"Patron {i}", id=str(i)) for i in range(chats)])
        bare.query_one(Log).write_lines([f"line {i}" for i in range(lines)])
        await pilot.pause()
        option_list = bare.query_one(OptionList)
        base = []
        for _ in range(moves):
            start = time.perf_counter()
            option_list.action_cursor_down()
            await pilot.pause()
            base.append((time.perf_counter() - start) * 1000)
    return {"key_p50_ms": statistics.median(times), "key_p99_ms": pct(times, 0.99),
            "key_bare_p50_ms": statistics.median(base), "key_bare_p99_ms": pct(base, 0.99)}


async def live_events(rate: int, seconds: float = 3.0) -> dict[str, float]:
    """Open loop: events stamped with their scheduled time, fed through the app's inbox."""
    import asyncio

    gc_time = [0.0]
    gc_start = [0.0]

    def on_gc(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - gc_start[0]

    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with app.run_test(size=SIZE) as pilot:
            app._on_frame({"type": "snapshot", "seq": 1,
                           "chats": [chat_wire(i, "active") for i in range(1, 201)]})
            app.flush()
            await pilot.pause()
            latencies: list[float] = []
            original = app.flush

            def timed_flush() -> None:
                stamps = [f["_t"] for f in app._inbox if "_t" in f]
                original()
                done = time.perf_counter()
                latencies.extend((done - t) * 1000 for t in stamps)

            app.flush = timed_flush  # type: ignore[method-assign]
            total = int(rate * seconds)
            gc.callbacks.append(on_gc)
            begin = time.perf_counter()
            for i in range(total):
                due = begin + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                chat_id = 1 + i % 200
                frame: dict[str, Any] = {"type": "message", "seq": i + 2, "_t": due, "message": {
                    "id": i + 10, "chat_id": chat_id, "sender": "patron", "author": "P",
                    "text": f"event {i}", "at": T0.isoformat()}}
                if i % 2:
                    frame = {"type": "chat", "seq": i + 2, "_t": due, "chat": chat_wire(chat_id, "active")}
                app._on_frame(frame)
            await pilot.pause(0.3)
            gc.callbacks.remove(on_gc)
            elapsed = time.perf_counter() - begin
    return {f"live_{rate}_applied": len(latencies), f"live_{rate}_sent": total,
            f"live_{rate}_p50_ms": statistics.median(latencies), f"live_{rate}_p99_ms": pct(latencies, 0.99),
            f"live_{rate}_gc_ms": gc_time[0] * 1000, f"live_{rate}_seconds": elapsed}


async def run(quick: bool) -> dict[str, float]:
    results: dict[str, float] = {}
    for n in (1000, 5000):
        results.update(await list_render(n))
    for n in (10_000,) if quick else (10_000, 50_000):
        results.update(await transcript_open(n))
    results.update(await key_to_frame(moves=40 if quick else 150))
    for rate in (100, 1000) if quick else (100, 1000, 5000):
        results.update(await live_events(rate, 2.0 if quick else 4.0))
    return results
