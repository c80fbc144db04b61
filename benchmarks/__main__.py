"""Run every benchmark, print a table, write benchmarks/results-<date>.json.

    python -m benchmarks                 # full: every figure 5 times, about 14 minutes on 2 cores
    python -m benchmarks --quick         # 3 times each, shorter runs
    python -m benchmarks --smoke         # once each at tiny sizes: checks every figure comes out
    python -m benchmarks --only console  # or: backend, connections, startup, idle, shift, keys, live
    python -m benchmarks --compare OLD.json [NEW.json]   # what changed (NEW: the newest results)
    python -m benchmarks --markdown results.json         # the table for docs/performance.md

Each figure is measured several times, ours and its baseline (bare Textual or raw
websockets doing the same work, in the same run) alternating, and reported as the median
of the per-repeat ratios ours / baseline with their spread (min-max). The results file
keeps every sample. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from .common import machine, median
from .figures import FIGURES, Figure, expected_keys

#: area -> module; each runs in a fresh process (`python -m benchmarks.<module> [--quick|--smoke]`,
#: last line of output: `{"samples": {key: [value per repeat]}}`), so one area's heap and
#: collector state cannot skew the next.
AREAS: dict[str, str] = {
    "backend": "bench_backend",
    "connections": "bench_connections",
    "startup": "bench_startup",
    "console": "bench_console",
    "idle": "bench_idle",
    "shift": "bench_shift",
    "keys": "bench_keys",
    "live": "bench_live",
}
ROOT = Path(__file__).resolve().parent.parent
Sampled = dict[str, list[float]]


def run_area(module: str, mode: str) -> Sampled:
    """One area in a fresh process; a failure is reported and yields no figures."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *([f"--{mode}"] if mode != "full" else [])]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as exc:
        print(f"{module}: no result after {exc.timeout:.0f} s", file=sys.stderr)
        return {}
    if proc.stderr.strip():
        print(proc.stderr[-3000:], file=sys.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{"samples"')]
    if proc.returncode != 0 or not lines:
        print(f"{module} failed (exit {proc.returncode})", file=sys.stderr)
        return {}
    raw = json.loads(lines[-1])["samples"]
    return {k: [math.nan if v is None else float(v) for v in vs] for k, vs in raw.items()}


# --- summaries ------------------------------------------------------------------------


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def summary(samples: Sampled, figure: Figure) -> dict[str, Any] | None:
    """Median, spread and per-repeat ratios of one figure; None if it was not measured."""
    ours = _finite(samples.get(figure.key, []))
    if not ours:
        return None
    out: dict[str, Any] = {"n": len(ours), "median": median(ours), "min": min(ours), "max": max(ours)}
    if figure.base:
        base = _finite(samples.get(figure.base, []))
        pairs = zip(samples.get(figure.key, []), samples.get(figure.base, []), strict=False)
        ratios = [a / b for a, b in pairs if not math.isnan(a) and not math.isnan(b) and b]
        if base:
            out.update(base_median=median(base), base_min=min(base), base_max=max(base))
        if ratios:
            out.update(ratio=median(ratios), ratio_min=min(ratios), ratio_max=max(ratios), ratios=ratios)
    return out


def summaries(samples: Sampled) -> dict[str, dict[str, Any]]:
    return {f.key: s for f in FIGURES if (s := summary(samples, f)) is not None}


def _spread(lo: float, hi: float, fmt: Any) -> str:
    return "" if lo == hi else f" ({fmt(lo)}-{fmt(hi)})"


def _ratio(value: float) -> str:
    return f"{value:.2f}x"

def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def table(samples: Sampled) -> tuple[list[list[str]], list[str]]:
    """Rows of [figure, ours, baseline, ratio, goal and verdict], and the missed goals.

    ours and baseline: median (min-max over repeats); ratio: median of the per-repeat
    ratios ours / baseline (min-max).
    """
    rows = []
    missed = []
    for figure in FIGURES:
        s = summary(samples, figure)
        if s is None:
            continue
        unit = figure.unit
        verdicts = []
        for op, goal, on in figure.targets:
            value = {"value": s["median"], "ratio": s.get("ratio"),
                     "every-ratio": s.get("ratio_max") if op == "<=" else s.get("ratio_min")}[on]
            if value is None:
                continue
            ok = value <= goal if op == "<=" else value >= goal
            what = f"{op} {goal:g}{' ' + unit if on == 'value' else 'x'}"
            what += " every run" if on == "every-ratio" else ""
            verdicts.append(f"{what} {'met' if ok else 'MISSED'}")
            if not ok:
                shown = f"{_num(value)} {unit}" if on == "value" else _ratio(value)
                missed.append(f"{figure.label}: {shown} ({what})")
        ours = f"{_num(s['median'])} {unit}".strip() + _spread(s["min"], s["max"], _num)
        base = f"{_num(s['base_median'])} {unit}".strip() if "base_median" in s else ""
        ratio = _ratio(s["ratio"]) + _spread(s["ratio_min"], s["ratio_max"], _ratio) if "ratio" in s else ""
        rows.append([figure.label, ours, base, ratio, "; ".join(verdicts), str(s["n"])])
    return rows, missed


def render(rows: list[list[str]]) -> str:
    head = ["figure", "ours (min-max)", "baseline", "ratio (min-max)", "goal", "n"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(6)]
    lines = ["  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                 strict=True)))
             for r in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown(rows: list[list[str]]) -> str:
    """The table as Markdown, for docs/performance.md."""
    out = ["| figure | ours: median (min-max) | baseline (same run) | ratio: median (min-max) | goal | n |",
           "|---|---|---|---|---|---|"]
    out += ["| " + " | ".join(c.replace("MISSED", "**missed**").replace("<=", "≤").replace(">=", "≥")
                              for c in r) + " |" for r in rows]
    return "\n".join(out)


# --- comparing two results files ----------------------------------------------------------


def load(path: Path) -> Sampled:
    """A results file's samples; an older file (medians only) counts as one sample each."""
    data = json.loads(path.read_text())
    if "samples" in data:
        return {k: [math.nan if v is None else float(v) for v in vs] for k, vs in data["samples"].items()}
    return {k: [float(v)] for k, v in data.get("results", {}).items() if isinstance(v, int | float)}


def compare(old: Sampled, new: Sampled) -> str:
    """Per figure: old → new median and ratio, and whether the change is beyond the spread.

    "changed" means the two runs' ranges of ratios (or of values, without a baseline) do
    not overlap; anything else is within this machine's noise.
    """
    head = ["figure", "old", "new", "change", "old ratio", "new ratio", "verdict"]
    rows = []
    for figure in FIGURES:
        a, b = summary(old, figure), summary(new, figure)
        if a is None and b is None:
            continue
        if a is None or b is None:
            rows.append([figure.label, "—" if a is None else _num(a["median"]),
                         "—" if b is None else _num(b["median"]), "", "", "", "new" if a is None else "gone"])
            continue
        change = (b["median"] - a["median"]) / a["median"] * 100 if a["median"] else math.nan
        if "ratio" in a and "ratio" in b:
            lo_a, hi_a, lo_b, hi_b = a["ratio_min"], a["ratio_max"], b["ratio_min"], b["ratio_max"]
            better = b["ratio"] < a["ratio"]
        else:
            lo_a, hi_a, lo_b, hi_b = a["min"], a["max"], b["min"], b["max"]
            better = b["median"] < a["median"]
        if figure.unit in ("msg/s", "/s", "") and figure.key.endswith(("per_s", "fps", "held", "applied")):
            better = not better  # more is better
        verdict = "within spread" if lo_b <= hi_a and lo_a <= hi_b else ("better" if better else "worse")
        rows.append([figure.label, f"{_num(a['median'])} {figure.unit}".strip(),
                     f"{_num(b['median'])} {figure.unit}".strip(), f"{change:+.0f} %",
                     _ratio(a["ratio"]) if "ratio" in a else "", _ratio(b["ratio"]) if "ratio" in b else "",
                     verdict])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i in (0, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                 strict=True)))
             for r in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def newest_results(exclude: Path) -> Path | None:
    files = [p for p in Path(__file__).parent.glob("results-*.json") if p.resolve() != exclude.resolve()
             and "smoke" not in p.name]
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


# --- running -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="3 repeats, shorter runs")
    size.add_argument("--smoke", action="store_true",
                      help="every benchmark once at tiny sizes; fails unless every figure is a number")
    parser.add_argument("--only", choices=sorted(AREAS), action="append", default=None,
                        help="run only this area (repeatable)")
    parser.add_argument("--markdown", type=Path, default=None, metavar="RESULTS_JSON",
                        help="print the table of a results file as Markdown, and exit")
    parser.add_argument("--compare", type=Path, nargs="+", default=None, metavar="RESULTS_JSON",
                        help="OLD [NEW]: what changed per figure (NEW: the newest results file), and exit")
    args = parser.parse_args()
    if args.markdown is not None:
        print(markdown(table(load(args.markdown))[0]))
        return 0
    if args.compare is not None:
        if len(args.compare) > 2:
            parser.error("--compare takes OLD.json and at most one NEW.json")
        new_path = args.compare[1] if len(args.compare) == 2 else newest_results(args.compare[0])
        if new_path is None:
            parser.error("no newer results file in benchmarks/; give NEW.json")
        print(f"{args.compare[0].name} → {new_path.name}\n")
        print(compare(load(args.compare[0]), load(new_path)))
        return 0
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    started = time.perf_counter()
    samples: Sampled = {}
    timings: dict[str, float] = {}
    areas = [a for a in AREAS if not args.only or a in args.only]

    def one(area: str) -> None:
        began = time.perf_counter()
        print(f"… {area}", file=sys.stderr, flush=True)
        samples.update(run_area(AREAS[area], mode))
        timings[area] = time.perf_counter() - began

    if mode == "smoke":  # no figure is read as a time, so areas may share the machine
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(one, areas))
    else:  # one at a time: each area's figures are its own
        for area in areas:
            one(area)
    rows, missed = table(samples)
    print(render(rows))
    seconds = time.perf_counter() - started
    if mode == "smoke":
        return smoke_report(samples, areas, seconds)
    if missed:
        print("\nMissed goals:\n  " + "\n  ".join(missed))
    suffix = ("-quick" if args.quick else "") + ("-" + "-".join(args.only) if args.only else "")
    out = Path(__file__).parent / f"results-{date.today().isoformat()}{suffix}.json"
    payload: dict[str, Any] = {
        "machine": machine(), "mode": mode, "seconds": seconds, "area_seconds": timings,
        "samples": {k: [None if math.isnan(v) else v for v in vs] for k, vs in samples.items()},
        "summary": summaries(samples), "table": rows, "missed": missed}
    out.write_text(json.dumps(payload, indent=1))
    print(f"\nwrote {out} in {seconds:.0f} s")
    return 0


def smoke_report(samples: Sampled, areas: list[str], seconds: float) -> int:
    """Every expected figure must be a finite number: a missing one means a benchmark rotted.

    The last line of output is JSON (`{"figures": {key: value}, "missing": [...]}`) for
    tests/test_benchmarks_smoke.py. Never a time bound: only that each figure came out.
    """
    figures: dict[str, float | None] = {}
    missing = []
    for key in expected_keys(areas):
        values = _finite(samples.get(key, []))
        figures[key] = values[0] if values else None
        if not values:
            missing.append(key)
    if missing:
        print(f"\nsmoke: {len(missing)} figures missing: {', '.join(missing)}", file=sys.stderr)
    print(f"\nsmoke: {len(figures) - len(missing)}/{len(figures)} figures in {seconds:.0f} s")
    print(json.dumps({"figures": figures, "missing": missing, "seconds": seconds}))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
