"""Snapshots of the dashboard at 120x40 with fixed patrons and a fixed clock.

`snap_compare` runs the app in its own event loop, so the backend (and its patrons) run
in another thread with theirs; the two talk over a real loopback socket as usual.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from ui_support import make_app, screen_text, wait_until
from wire import join

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.widgets.chat_list import ChatList

T = TypeVar("T")


class ThreadedDesk:
    """A Backend with a FakeClock on an event loop in a thread of its own."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clock = FakeClock()
        self.backend = Backend(data_dir=data_dir, clock=self.clock, token="snap")
        self.run(self.backend.start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def later(self, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.run(self.backend.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedDesk]:
    monkeypatch.setenv("TZ", "UTC")  # times are shown in local time
    time.tzset()
    threaded = ThreadedDesk(tmp_path / "data")
    yield threaded
    threaded.close()


async def _patrons(clock: FakeClock, url: str) -> None:
    await join(url, name="Maya Lin", question="Can I get a book from another library?",
               email="maya@example.edu")
    await clock.advance(60)
    await join(url, name="Omar Haddad", question="How do I cite a dataset in APA 7?")
    await clock.advance(45)
    await join(url, name="[bold]Eve[/] \x1b[2J",
               question="[@click=app.quit]Free books[/] \x1b]52;c;ZXZpbA==\x07")
    await clock.advance(30)


def test_dashboard_with_an_open_chat(snap_compare, desk: ThreadedDesk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk.run(_patrons(desk.clock, desk.backend.url))
    app = make_app(desk.backend, desk.clock, tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: len(app.model.chats) == 3, "three chats")
        await pilot.press("enter")  # accept Maya (longest waiting)
        await wait_until(pilot, lambda: app.model.chats[1].state.value == "active")
        await pilot.press(*"Yes - interlibrary loan. What is the title?", "enter")
        await wait_until(pilot, lambda: app.model.chats[1].message_count >= 3)
        await wait_until(pilot, lambda: app.screen.query_one("#transcript").entry_count >= 3)
        await wait_until(pilot, lambda: "Yes - interlibrary loan." in screen_text(app), "the answer drawn")
        await pilot.press("escape")  # focus the list: no blinking cursor in the picture
        await wait_until(pilot, lambda: isinstance(app.focused, ChatList), "the list focused")
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_dashboard_ended_chat(snap_compare, desk: ThreadedDesk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk.run(_patrons(desk.clock, desk.backend.url))
    app = make_app(desk.backend, desk.clock, tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: len(app.model.chats) == 3, "three chats")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.model.chats[1].state.value == "active")
        await pilot.press("ctrl+e", "y")
        await wait_until(pilot, lambda: app.model.chats[1].state.value == "ended")
        await wait_until(pilot, lambda: "■ ENDED" in screen_text(app) and "Chat ended by you" in
                         screen_text(app), "the ended chat drawn")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.focused, ChatList), "the list focused")
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
