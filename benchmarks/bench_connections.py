"""Many patrons on one `libchat-tui serve` (pinned to one core), clients in this process.

Holds N patron connections (from several loopback source addresses: the desk allows 20
per address), each sending a message every ~10 s like a chatting patron, with 10
librarians connected. Reports RSS per connection of the serve process and patron →
librarian latency (the patron stamps its wall-clock send time into the text).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _serve(tmp: Path) -> tuple[asyncio.subprocess.Process, str, str]:
    cmd = [sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0", "--data-dir", str(tmp / "d")]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "LIBCHAT_CONFIG": str(tmp / "config.toml")})
    assert proc.stdout is not None
    while True:
        line = (await proc.stdout.readline()).decode()
        found = re.search(r"desk at (ws://\S+?)\s", line)
        if found:
            return proc, found.group(1), (tmp / "token").read_text().strip()
        if not line:
            raise RuntimeError("serve did not start")


async def _patron(url: str, index: int, stop: asyncio.Event, sent: list[int]) -> None:
    address = f"127.0.{1 + index // 5000}.{2 + (index // 20) % 250}"
    async with connect(f"{url}/patron", local_addr=(address, 0), open_timeout=30) as ws:
        await ws.send(json.dumps({"type": "join", "id": "j", "name": f"P{index}", "question": "q"}))
        await ws.recv()
        n = 0
        await asyncio.sleep(random.uniform(0, 10))
        while not stop.is_set():
            n += 1
            await ws.send(json.dumps({"type": "message", "id": f"m{n}", "text": f"t={time.time():.6f}"}))
            sent[0] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), random.uniform(8, 12))


async def _librarian(url: str, token: str, name: str, latencies: list[float] | None,
                     stop: asyncio.Event) -> None:
    async with connect(f"{url}/librarian", additional_headers={"Authorization": f"Bearer {token}"},
                       max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "id": "h", "protocol": 1, "librarian_id": name,
                                  "name": name, "since": None}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if latencies is not None and '"sender":"patron"' in raw and "t=" in raw:
                frame: dict[str, Any] = json.loads(raw)
                text = frame["message"]["text"]
                if text.startswith("t="):
                    latencies.append((time.time() - float(text[2:])) * 1000)


async def hold(patrons: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, token = await _serve(Path(tmp))
        try:
            base = _rss_kb(proc.pid)
            stop = asyncio.Event()
            latencies: list[float] = []
            libs = [asyncio.create_task(
                _librarian(url, token, f"lib{i}", latencies if i == 0 else None, stop)) for i in range(10)]
            sent = [0]
            tasks = []
            for i in range(patrons):
                tasks.append(asyncio.create_task(_patron(url, i, stop, sent)))
                if i % 50 == 49:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(seconds)
            held = sum(1 for t in tasks if not t.done())
            rss = _rss_kb(proc.pid)
            stop.set()
            await asyncio.gather(*tasks, *libs, return_exceptions=True)
        finally:
            proc.terminate()
            await proc.wait()
    lat = sorted(latencies) or [float("nan")]
    return {f"conn_{patrons}_held": held, f"conn_{patrons}_rss_kb_per_conn": (rss - base) / max(1, held),
            f"conn_{patrons}_latency_p50_ms": statistics.median(lat),
            f"conn_{patrons}_latency_p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            f"conn_{patrons}_messages": float(len(latencies))}


async def run(quick: bool) -> dict[str, float]:
    results: dict[str, float] = {}
    for n in (100, 1000) if quick else (100, 1000, 5000):
        results.update(await hold(n, 15 if quick else 25))
    return results
