"""Shared helpers: percentiles, RSS, GC timing, and a driver that renders every frame.

Textual's own headless driver makes `App._display` skip turning the compositor's update
into terminal bytes (`render_segments`), which is a real part of every frame's cost. The
`FrameDriver` here reports `is_headless = False`, so the app renders frames exactly as it
would to a terminal, and throws the bytes away. Its `flush()` is called once at the end of
every frame the app writes; that instant is what "on screen" means in these benchmarks.

Use it in-process with `run_test(headless=False, size=SIZE)` after setting
`app.driver_class = FrameDriver`, or in a subprocess with
`TEXTUAL_DRIVER=benchmarks.common:FrameDriver`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver

SIZE = (120, 40)


Mode = Literal["smoke", "quick", "full"]

#: How many times each figure is measured (ours and the baseline alternating).
REPEATS: dict[str, int] = {"smoke": 1, "quick": 3, "full": 5}


def mode_from_argv(argv: list[str] | None = None) -> Mode:
    """`--smoke` or `--quick` on an area's command line; full otherwise."""
    args = sys.argv[1:] if argv is None else argv
    if "--smoke" in args:
        return "smoke"
    return "quick" if "--quick" in args else "full"


class Samples:
    """Every repeat's figures: key -> one value per repeat, in the order measured.

    An area adds one dict of figures per run; ours and the baseline of the same repeat
    share an index, so `__main__` can pair them into per-repeat ratios.
    """

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add(self, figures: dict[str, Any], prefix: str = "") -> None:
        for key, value in figures.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            self.values.setdefault(prefix + key, []).append(float(value))

    def emit(self) -> None:
        """The area's output: one JSON line on stdout (NaN written as null)."""
        clean = {k: [None if math.isnan(v) else v for v in vs] for k, vs in self.values.items()}
        print(json.dumps({"samples": clean}))


async def alternate(repeats: int, ours: Callable[[], Awaitable[dict[str, float]]],
                    bare: Callable[[], Awaitable[dict[str, float]]], samples: Samples,
                    bare_prefix: str = "") -> None:
    """Run ours and the baseline `repeats` times each, swapping which goes first each repeat,
    so drift in machine speed (other work on the box) hits both alike."""
    for i in range(repeats):
        pair = [(ours, ""), (bare, bare_prefix)]
        for fn, prefix in pair if i % 2 == 0 else pair[::-1]:
            samples.add(await fn(), prefix)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process (this one by default), in MiB."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settle_memory() -> None:
    """Collect garbage so RSS readings compare like with like."""
    gc.collect()


class FrameDriver(HeadlessDriver):
    """A headless driver that makes the app render full frames (bytes discarded).

    `on_frame` callbacks receive `time.perf_counter()` at the end of each frame.
    """

    frame_listeners: list[Callable[[float], None]] = []  # class-wide: one app at a time
    quit_after_frame: Callable[[], bool] | None = None  # for the start-up benchmark

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        # Known from the start, as a real terminal's size is (else the app lays out at
        # Rich's 80x25 fallback first, then again at SIZE).
        self._size = self._size or SIZE
        self.bytes_written = 0
        self.frames = 0

    @property
    def is_headless(self) -> bool:
        return False

    def _get_terminal_size(self) -> tuple[int, int]:
        return self._size or SIZE

    def write(self, data: str) -> None:
        self.bytes_written += len(data)

    def flush(self) -> None:
        now = time.perf_counter()
        self.frames += 1
        for listener in list(FrameDriver.frame_listeners):
            listener(now)
        if FrameDriver.quit_after_frame is not None and FrameDriver.quit_after_frame():
            FrameDriver.quit_after_frame = None
            print(f"PAINTED {time.time():.6f}", file=sys.__stdout__, flush=True)
            os._exit(0)  # the figure is taken; skip tear-down


def startup_probe() -> None:
    """Print the first frame that shows a dashboard whose list holds $BENCH_CHATS chats."""
    wanted = int(os.environ.get("BENCH_CHATS", "0"))

    def painted() -> bool:
        from textual._context import active_app

        try:
            app = active_app.get()
        except LookupError:
            return False
        if wanted == 0:
            return True
        try:
            from textual.widgets import OptionList

            return app.screen.query_one(OptionList).option_count >= wanted
        except Exception:
            return False

    FrameDriver.quit_after_frame = painted


if os.environ.get("BENCH_PROBE") == "1":
    startup_probe()
    if "libchat_tui.ui.app" in sys.modules:  # never import the console into the bare app
        from .proposals import apply

        apply()


class FrameClock:
    """Frame-end timestamps of the running app, with a way to wait for the next one."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
        self.on_frame: list[Callable[[float], None]] = []

    def __enter__(self) -> FrameClock:
        FrameDriver.frame_listeners.append(self._frame)
        return self

    def __exit__(self, *exc: object) -> None:
        FrameDriver.frame_listeners.remove(self._frame)

    def _frame(self, now: float) -> None:
        self.times.append(now)
        for callback in self.on_frame:
            callback(now)
        keep = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            if predicate():
                future.set_result(now)
            else:
                keep.append((predicate, future))
        self._waiters = keep

    async def frame_where(self, predicate: Callable[[], bool], timeout: float = 10.0) -> float:
        """The end time of the first frame after now for which predicate() holds."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, timeout)


class GcTimer:
    """Sum and maximum of garbage-collector pauses while active (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.longest = 0.0
        self.collections = [0, 0, 0]
        self.longest_by_generation = [0.0, 0.0, 0.0]
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            pause = time.perf_counter() - self._start
            self.total += pause
            self.longest = max(self.longest, pause)
            generation = info["generation"]
            self.collections[generation] += 1
            self.longest_by_generation[generation] = max(self.longest_by_generation[generation], pause)

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def machine() -> dict[str, str]:
    """The machine and versions, for the results file and the docs."""
    import platform
    from datetime import date

    import textual
    import websockets

    cpu = "?"
    mem = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    import sqlite3

    return {"cpus": str(os.cpu_count()), "cpu": cpu, "ram": mem, "python": platform.python_version(),
            "textual": textual.__version__, "websockets": websockets.__version__,
            "sqlite": sqlite3.sqlite_version, "date": date.today().isoformat()}
