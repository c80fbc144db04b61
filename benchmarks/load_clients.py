"""The client side of the connections benchmark, run as its own process.

    python -m benchmarks.load_clients URL TOKEN PATRONS SECONDS [PERIOD]

Connects 10 librarians, then PATRONS patrons (at most 20 per loopback source address,
the desk's limit: 127.0.0.2, 127.0.0.3, ...), each behaving like the simulator's patrons:
join, then every PERIOD (default 10 s, ±20 %) a typing signal and, a moment later, a
message whose text is its wall-clock send time. Librarian 0 turns every patron message
it receives into a patron → librarian latency. After SECONDS of steady state it prints
one JSON line: connections held, latencies (steady, during the joins, and over the whole
run), and how late this process's own event loop ran (so a saturated client can be told
apart from a slow server); then the parent ends it (no goodbye storm to wait for).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import sys
import time
from typing import Any

from websockets.asyncio.client import connect

PER_ADDRESS = 20


def source_address(index: int) -> str:
    """127.0.0.2 upwards, 20 patrons each (then 127.0.1.x, ...)."""
    slot = index // PER_ADDRESS
    return f"127.0.{slot // 250}.{2 + slot % 250}"


async def patron(url: str, index: int, stop: asyncio.Event, counts: dict[str, int],
                 period: float = 10.0) -> None:
    rng = random.Random(index)
    try:
        async with connect(f"{url}/patron", local_addr=(source_address(index), 0), open_timeout=60,
                           compression=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "join", "id": "j", "name": f"Patron {index}",
                                      "question": "Is the library open on Sunday?"}))
            while json.loads(await ws.recv()).get("id") != "j":
                pass
            counts["joined"] += 1
            reader = asyncio.create_task(_drain(ws))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(0, period))
            n = 0
            while not stop.is_set():
                n += 1
                await ws.send(json.dumps({"type": "typing"}))
                await asyncio.sleep(rng.uniform(0.02, 0.1) * period)
                await ws.send(json.dumps({"type": "message", "id": f"m{n}", "text": f"t={time.time():.6f}"}))
                counts["sent"] += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rng.uniform(0.8, 1.2) * period)
            reader.cancel()
    except Exception:
        counts["failed"] += 1


async def _drain(ws: Any) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


async def librarian(url: str, token: str, name: str, latencies: list[float] | None) -> None:
    """Read every frame until cancelled; with `latencies`, time each patron message."""
    async with connect(f"{url}/librarian", additional_headers={"Authorization": f"Bearer {token}"},
                       max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "id": "h", "protocol": 1, "librarian_id": name,
                                  "name": name, "since": None}))
        async for raw in ws:
            if latencies is not None and '"t=' in raw:
                frame: dict[str, Any] = json.loads(raw)
                text = frame.get("message", {}).get("text", "")
                if text.startswith("t="):
                    latencies.append((time.time() - float(text[2:])) * 1000)


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late a 10 ms sleep wakes up: this process's own saturation."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - start - 0.01) * 1000)


def _p99(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else None


async def main(url: str, token: str, patrons: int, seconds: float, period: float = 10.0) -> None:
    stop = asyncio.Event()
    latencies: list[float] = []
    lags: list[float] = []
    counts = {"joined": 0, "sent": 0, "failed": 0}
    # The load is the measuring instrument: keep its own collector out of the figures.
    gc.set_threshold(100_000, 50, 1000)
    _librarians = [asyncio.create_task(librarian(url, token, f"lib{i}", latencies if i == 0 else None))
            for i in range(10)]
    await asyncio.sleep(0.5 if period >= 1 else 0.2)
    print(json.dumps({"phase": "librarians"}), flush=True)
    sys.stdin.readline()  # the parent has read the server's RSS with librarians only
    tasks = []
    for i in range(patrons):
        tasks.append(asyncio.create_task(patron(url, i, stop, counts, period)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    deadline = time.perf_counter() + 120
    while counts["joined"] + counts["failed"] < patrons and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    if period < 1:  # the smoke run: a tiny join burst must still time at least one message
        deadline = time.perf_counter() + 5
        while not latencies and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    gc.freeze()
    joining = sorted(latencies)
    latencies.clear()  # measure the steady state, not the join burst
    print(json.dumps({"phase": "steady"}), flush=True)
    sys.stdin.readline()  # the parent has read the server's CPU time
    lagger = asyncio.create_task(loop_lag(stop, lags))
    await asyncio.sleep(seconds)
    held = sum(1 for t in tasks if not t.done())
    lat = sorted(latencies)  # the steady state only: not the joins, not the goodbyes
    lagger.cancel()
    lags.sort()
    figures = {"phase": "held", "held": held, "joined": counts["joined"], "failed": counts["failed"],
               "messages": len(lat), "p50_ms": lat[len(lat) // 2] if lat else None,
               "p99_ms": _p99(lat), "join_p99_ms": _p99(joining), "all_p99_ms": _p99(joining + lat),
               "join_messages": len(joining), "client_lag_p99_ms": _p99(lags),
               "client_lag_max_ms": lags[-1] if lags else None}
    print(json.dumps(figures), flush=True)
    sys.stdin.readline()  # the parent has read the server's RSS
    os._exit(0)  # no goodbyes: closing thousands of sockets one by one only slows the suite


if __name__ == "__main__":
    url, token, patrons, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    period = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0
    asyncio.run(main(url, token, patrons, seconds, period))
