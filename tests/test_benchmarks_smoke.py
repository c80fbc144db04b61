"""The benchmarks never rot: `python -m benchmarks --smoke` runs every benchmark once, at
tiny sizes, and each must still report every figure as a number.

Never a time bound: the smoke run says that each figure comes out, not what it is
(docs/performance.md has the figures, from a full run).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The figures issue 18 asks for, by key: removing one from the suite fails this test too.
ISSUE_18 = [
    "key_step_p50_ms", "key_step_bare_p50_ms", "key_step_p99_ms", "key_step_bare_p99_ms",
    "key_switch_p99_ms", "key_switch_bare_p99_ms",
    "chats_5000_ms", "chats_5000_bare_ms",
    "startup_s", "startup_bare_s",
    "fanout_10_msgs_per_s", "fanout_10_raw_msgs_per_s",
    "conn_5000_p99_ms", "conn_5000_join_p99_ms", "conn_5000_all_p99_ms",
    "idle_cpu_pct", "idle_bare_cpu_pct",
    "shift_rss_mb", "shift_bare_rss_mb",
    "search_p95_ms", "search_doc_p95_ms",
]


def test_every_benchmark_reports_every_figure() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.figures import expected_keys

    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    figures = report["figures"]
    assert report["missing"] == [], proc.stderr[-3000:]
    for key in [*expected_keys(), *ISSUE_18]:
        assert key in figures, f"{key} was not reported"
        value = figures[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{key} = {value!r}"
        assert math.isfinite(value), f"{key} = {value!r}"
    assert proc.returncode == 0, proc.stderr[-3000:]
