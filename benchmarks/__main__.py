"""Run every benchmark, print a table, write benchmarks/results-<date>.json.

    python -m benchmarks                 # full: about 8 minutes on 2 cores
    python -m benchmarks --quick         # under 2 minutes
    python -m benchmarks --only console  # or: backend, connections, startup, keys, live

Each figure is printed beside its baseline from the same run (bare Textual or raw
websockets doing the same work) and the ratio ours / baseline. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from .common import machine

#: area -> module; each runs in a fresh process (`python -m benchmarks.<module> [--quick]`,
#: last line of output: JSON), so one area's heap and collector state cannot skew the next.
AREAS: dict[str, str] = {
    "backend": "bench_backend",
    "connections": "bench_connections",
    "startup": "bench_startup",
    "console": "bench_console",
    "keys": "bench_keys",
    "live": "bench_live",
}
ROOT = Path(__file__).resolve().parent.parent


def run_area(module: str, quick: bool) -> dict[str, float]:
    """One area in a fresh process; a failure is reported and yields no figures."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *(["--quick"] if quick else [])]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        print(f"{module}: no result after {exc.timeout:.0f} s", file=sys.stderr)
        return {}
    if proc.stderr.strip():
        print(proc.stderr[-3000:], file=sys.stderr)
    if proc.returncode != 0 or "{" not in proc.stdout:
        print(f"{module} failed (exit {proc.returncode})", file=sys.stderr)
        return {}
    text = proc.stdout.strip()
    return dict(json.loads(text[text.index("{"):]))

Target = tuple[str, float, str]  # (op "<=" or ">=", goal, "value" or "ratio")

#: (label, our key, baseline key or None, unit, targets)
ROWS: list[tuple[str, str, str | None, str, tuple[Target, ...]]] = [
    ("send → ack (persisted) p50", "ack_p50_ms", "store_write_p50_ms", "ms", ()),
    ("send → ack (persisted) p99", "ack_p99_ms", "store_write_p99_ms", "ms", (("<=", 5, "value"),)),
    *[(f"fan-out to 10 librarians, {n} chats", f"fanout_msgs_per_s_{n}_chats",
       f"raw_broadcast_msgs_per_s_{n}_chats", "msg/s", ((">=", 0.3, "ratio"),)) for n in (10, 100)],
    *[row for n in (100, 1000, 5000) for row in (
        (f"{n} patrons: held", f"conn_{n}_held", f"conn_{n}_raw_held", "", ()),
        (f"{n} patrons: RSS per connection", f"conn_{n}_rss_kb_per_conn", f"conn_{n}_raw_rss_kb_per_conn",
         "KB", ()),
        (f"{n} patrons: patron → librarian p50", f"conn_{n}_p50_ms", f"conn_{n}_raw_p50_ms", "ms", ()),
        (f"{n} patrons: patron → librarian p99", f"conn_{n}_p99_ms", f"conn_{n}_raw_p99_ms", "ms",
         (("<=", 50, "value"),) if n == 1000 else ()),
        (f"{n} patrons: p99 during the join burst", f"conn_{n}_join_p99_ms", f"conn_{n}_raw_join_p99_ms",
         "ms", ()),
        (f"{n} patrons: server CPU, steady state", f"conn_{n}_server_cpu_pct", f"conn_{n}_raw_server_cpu_pct",
         "%", ()),
    )],
    ("history search p50 (500k messages)", "search_p50_ms", None, "ms", ()),
    ("history search p95 (500k messages)", "search_p95_ms", None, "ms", (("<=", 50, "value"),)),
    ("start → first paint, 200 chats", "startup_s", "startup_bare_s", "s",
     (("<=", 0.5, "value"), ("<=", 1.8, "ratio"))),
    ("1,000 chats → rendered", "chats_1000_ms", "chats_1000_bare_ms", "ms", ()),
    ("5,000 chats → rendered", "chats_5000_ms", "chats_5000_bare_ms", "ms", (("<=", 400, "value"),)),
    ("5,000 chats: RSS growth", "chats_5000_rss_mb", "chats_5000_bare_rss_mb", "MB", (("<=", 30, "value"),)),
    ("open 10k-message transcript", "transcript_10000_ms", "transcript_10000_bare_ms", "ms",
     (("<=", 200, "value"),)),
    ("open 50k-message transcript", "transcript_50000_ms", "transcript_50000_bare_ms", "ms", ()),
    ("50k transcript: RSS growth", "transcript_50000_rss_mb", "transcript_50000_bare_rss_mb", "MB", ()),
    ("RSS, 500 chats + 50k lines open", "memory_500_50k_mb", "memory_500_50k_bare_mb", "MB",
     (("<=", 150, "value"),)),
    *[row for kind, label in (("repeat", "key repeat 30/s"), ("step", "single key")) for row in (
        (f"key → frame p50 ({label})", f"key_{kind}_p50_ms", f"key_{kind}_bare_p50_ms", "ms", ()),
        (f"key → frame p99 ({label})", f"key_{kind}_p99_ms", f"key_{kind}_bare_p99_ms", "ms",
         (("<=", 20, "value"),)),
    )],
    ("keys: longest GC pause", "key_gc_max_ms", "key_bare_gc_max_ms", "ms", ()),
    ("key → pane switched p50 (10k transcript)", "key_switch_p50_ms", "key_switch_bare_p50_ms", "ms", ()),
    ("key → pane switched p99 (10k transcript)", "key_switch_p99_ms", "key_switch_bare_p99_ms", "ms", ()),
    *[row for rate in (100, 1000, 5000) for row in (
        (f"live {rate}/s: events applied", f"live_{rate}_applied", f"live_{rate}_sent", "", ()),
        (f"live {rate}/s: event → screen p50", f"live_{rate}_p50_ms", f"live_{rate}_bare_p50_ms", "ms", ()),
        (f"live {rate}/s: event → screen p99", f"live_{rate}_p99_ms", f"live_{rate}_bare_p99_ms", "ms",
         (("<=", 150, "value"),) if rate == 1000 else ()),
        (f"live {rate}/s: frames/s", f"live_{rate}_fps", f"live_{rate}_bare_fps", "/s", ()),
        (f"live {rate}/s: GC pauses (total)", f"live_{rate}_gc_ms", f"live_{rate}_bare_gc_ms", "ms", ()),
        (f"live {rate}/s: longest GC pause", f"live_{rate}_gc_max_ms", f"live_{rate}_bare_gc_max_ms", "ms",
         ()),
    )],
    ("5,000-event burst → drained", "burst_5000_drain_ms", "burst_5000_bare_drain_ms", "ms",
     (("<=", 1000, "value"),)),
]


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def table(results: dict[str, float]) -> tuple[list[list[str]], list[str]]:
    """Rows of [figure, ours, baseline, ratio, target, verdict], and the missed targets."""
    rows = []
    missed = []
    for label, key, base_key, unit, targets in ROWS:
        if key not in results:
            continue
        ours = results[key]
        if math.isnan(ours):
            continue  # e.g. no message was sent during a join burst of 100
        base = results.get(base_key) if base_key else None
        ratio = ours / base if base and not math.isnan(base) and not math.isnan(ours) else None
        verdicts = []
        for op, goal, on in targets:
            value = ratio if on == "ratio" else ours
            if value is None or math.isnan(value):
                continue
            ok = value <= goal if op == "<=" else value >= goal
            what = f"{op} {goal:g}{'x' if on == 'ratio' else ' ' + unit}"
            verdicts.append(f"{what} {'met' if ok else 'MISSED'}")
            if not ok:
                missed.append(f"{label}: {_num(value)}{'x' if on == 'ratio' else ' ' + unit} ({what})")
        shown_base = f"{_num(base)} {unit}".strip() if base_key else ""
        rows.append([label, f"{_num(ours)} {unit}".strip(), shown_base, f"{ratio:.2f}x" if ratio else "",
                     "; ".join(verdicts)])
    return rows, missed


def render(rows: list[list[str]]) -> str:
    head = ["figure", "ours", "baseline", "ratio", "target"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                 strict=True)))
             for r in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown(rows: list[list[str]]) -> str:
    """The table as Markdown, for docs/performance.md."""
    out = ["| figure | ours | baseline (same run) | ratio | target |", "|---|---|---|---|---|"]
    out += ["| " + " | ".join(c.replace("MISSED", "**missed**").replace("<=", "≤").replace(">=", "≥")
                              for c in r) + " |" for r in rows]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer repeats (< 2 minutes)")
    parser.add_argument("--only", choices=sorted(AREAS), action="append", default=None,
                        help="run only this area (repeatable)")
    parser.add_argument("--markdown", type=Path, default=None, metavar="RESULTS_JSON",
                        help="print the table of a results file as Markdown, and exit")
    args = parser.parse_args()
    if args.markdown is not None:
        print(markdown(table(json.loads(args.markdown.read_text())["results"])[0]))
        return 0
    started = time.perf_counter()
    results: dict[str, float] = {}
    timings: dict[str, float] = {}
    for area, module in AREAS.items():
        if args.only and area not in args.only:
            continue
        began = time.perf_counter()
        print(f"… {area}", file=sys.stderr, flush=True)
        results.update(run_area(module, args.quick))
        timings[area] = time.perf_counter() - began
    rows, missed = table(results)
    print(render(rows))
    if missed:
        print("\nMissed targets:\n  " + "\n  ".join(missed))
    seconds = time.perf_counter() - started
    suffix = ("-quick" if args.quick else "") + ("-" + "-".join(args.only) if args.only else "")
    out = Path(__file__).parent / f"results-{date.today().isoformat()}{suffix}.json"
    payload: dict[str, Any] = {"machine": machine(), "quick": args.quick, "seconds": seconds,
                               "area_seconds": timings, "results": results, "table": rows, "missed": missed}
    out.write_text(json.dumps(payload, indent=2, default=float))
    print(f"\nwrote {out} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
