"""Time for the desk: a real clock, and a fake one tests move by hand.

The reconnect timer lives in the backend; tests must never sleep for it, so the desk
asks a `Clock` for the time and for timers instead of calling asyncio or datetime.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the desk needs of time."""

    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle: ...


class RealClock:
    """Wall-clock time (UTC) and the running loop's timers."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        delay = max(0.0, (when - self.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, callback)


class _FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that stands still until a test calls `advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
        self._timers: list[tuple[datetime, int, _FakeHandle, Callable[[], None]]] = []
        self._counter = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        handle = _FakeHandle()
        heapq.heappush(self._timers, (when, next(self._counter), handle, callback))
        return handle

    async def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due, in order."""
        target = self._now + timedelta(seconds=seconds)
        while self._timers and self._timers[0][0] <= target:
            when, _, handle, callback = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if not handle.cancelled:
                callback()
            for _ in range(5):
                await asyncio.sleep(0)
        self._now = target
        for _ in range(5):
            await asyncio.sleep(0)

    @property
    def pending(self) -> int:
        return sum(1 for *_, h, _cb in self._timers if not h.cancelled)
