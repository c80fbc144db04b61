"""Run every benchmark, print a table, write benchmarks/results-<date>.json.

    python -m benchmarks            # full: about 3-5 minutes on 2 cores
    python -m benchmarks --quick    # under 2 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import textual
import websockets

from . import bench_backend, bench_connections, bench_console, bench_startup

#: figure -> (target, lower is better)
TARGETS = {
    "startup_200_chats_s": (0.5, True),
    "startup_ratio": (1.8, True),
    "ack_p99_ms": (5.0, True),
    "conn_1000_latency_p99_ms": (50.0, True),
    "fanout_ratio": (0.3, False),
    "search_p95_ms": (50.0, True),
    "chats_5000_ms": (400.0, True),
    "chats_5000_rss_mb": (30.0, True),
    "transcript_10000_ms": (200.0, True),
    "key_p99_ms": (20.0, True),
    "live_1000_p99_ms": (150.0, True),
}


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "textual": textual.__version__, "websockets": websockets.__version__,
            "date": date.today().isoformat()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    parser.add_argument("--only", choices=("backend", "console"), default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, float] = {}
    if args.only in (None, "backend"):
        results.update(asyncio.run(bench_backend.run(args.quick)))
        results.update(asyncio.run(bench_connections.run(args.quick)))
    if args.only in (None, "console"):
        results.update(bench_startup.run(args.quick))
        results.update(asyncio.run(bench_console.run(args.quick)))
    print(f"{'figure':32} {'value':>12}  target")
    for key, value in results.items():
        target = TARGETS.get(key)
        mark = ""
        if target is not None:
            goal, lower = target
            ok = value <= goal if lower else value >= goal
            mark = f"{'≤' if lower else '≥'} {goal:g}  {'met' if ok else 'MISSED'}"
        print(f"{key:32} {value:12.2f}  {mark}")
    out = Path(__file__).parent / f"results-{date.today().isoformat()}.json"
    out.write_text(json.dumps({"machine": machine(), "quick": args.quick, "results": results,
                               "seconds": time.perf_counter() - started}, indent=2))
    print(f"\nwrote {out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
