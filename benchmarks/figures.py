"""Every figure the suite reports: its area, label, keys, unit and goals.

One list, used by the table, `--compare`, `--smoke` (every key here must come back as a
number) and tests/test_benchmarks_smoke.py. Goals marked "issue 18" are that round's;
the others are the first round's targets that still apply.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (op, goal, on): op "<=" or ">="; on "value" (our median), "ratio" (median ratio), or
#: "every-ratio" (the worst repeat's ratio: "every run").
Target = tuple[str, float, str]


@dataclass(frozen=True)
class Figure:
    area: str
    label: str
    key: str
    base: str | None
    unit: str
    targets: tuple[Target, ...] = ()


def _backend() -> list[Figure]:
    rows = [
        Figure("backend", "send → ack (persisted) p50", "ack_p50_ms", "store_write_p50_ms", "ms"),
        Figure("backend", "send → ack (persisted) p99", "ack_p99_ms", "store_write_p99_ms", "ms",
               (("<=", 5, "value"),)),
    ]
    rows += [Figure("backend", f"fan-out to 10 librarians, {n} chats", f"fanout_{n}_msgs_per_s",
                    f"fanout_{n}_raw_msgs_per_s", "msg/s", ((">=", 0.5, "ratio"),)) for n in (10, 100)]
    rows += [Figure("backend", f"floor: the same messages stored, no librarian, {n} chats",
                    f"stored_{n}_msgs_per_s", f"floor_fanout_{n}_raw_msgs_per_s", "msg/s")
             for n in (10, 100)]
    rows += [
        Figure("backend", "history search p50, chat as a document (product)", "search_p50_ms",
               "search_raw_p50_ms", "ms"),
        Figure("backend", "history search p95, chat as a document (product)", "search_p95_ms",
               "search_raw_p95_ms", "ms", (("<=", 50, "value"),)),
        Figure("backend", "history search p95, one FTS row per chat (alternative)", "search_doc_p95_ms",
               "search_raw_p95_ms", "ms", (("<=", 50, "value"),)),
    ]
    return rows


def _connections() -> list[Figure]:
    rows = []
    for n in (100, 1000, 5000):
        goal: tuple[Target, ...] = (("<=", 100, "value"),) if n == 5000 else \
            (("<=", 50, "value"),) if n == 1000 else ()
        rows += [
            Figure("connections", f"{n} patrons: held", f"conn_{n}_held", f"conn_{n}_raw_held", ""),
            Figure("connections", f"{n} patrons: RSS per connection", f"conn_{n}_rss_kb_per_conn",
                   f"conn_{n}_raw_rss_kb_per_conn", "KB"),
            Figure("connections", f"{n} patrons: patron → librarian p50", f"conn_{n}_p50_ms",
                   f"conn_{n}_raw_p50_ms", "ms"),
            Figure("connections", f"{n} patrons: patron → librarian p99, steady", f"conn_{n}_p99_ms",
                   f"conn_{n}_raw_p99_ms", "ms", goal),
            Figure("connections", f"{n} patrons: p99 during the join burst", f"conn_{n}_join_p99_ms",
                   f"conn_{n}_raw_join_p99_ms", "ms", goal if n == 5000 else ()),
            Figure("connections", f"{n} patrons: p99, whole run incl. joins", f"conn_{n}_all_p99_ms",
                   f"conn_{n}_raw_all_p99_ms", "ms", goal if n == 5000 else ()),
            Figure("connections", f"{n} patrons: server CPU, steady state", f"conn_{n}_server_cpu_pct",
                   f"conn_{n}_raw_server_cpu_pct", "%"),
        ]
    return rows


def _console() -> list[Figure]:
    return [
        Figure("startup", "start → first paint, 200 chats", "startup_s", "startup_bare_s", "s",
               (("<=", 1.3, "ratio"),)),
        Figure("console", "1,000 chats → rendered", "chats_1000_ms", "chats_1000_bare_ms", "ms"),
        Figure("console", "5,000 chats → rendered", "chats_5000_ms", "chats_5000_bare_ms", "ms",
               (("<=", 0.5, "every-ratio"),)),
        Figure("console", "5,000 chats: RSS growth", "chats_5000_rss_mb", "chats_5000_bare_rss_mb", "MB",
               (("<=", 30, "value"),)),
        Figure("console", "open 10k-message transcript", "transcript_10000_ms", "transcript_10000_bare_ms",
               "ms", (("<=", 200, "value"),)),
        Figure("console", "open 50k-message transcript", "transcript_50000_ms", "transcript_50000_bare_ms",
               "ms"),
        Figure("console", "50k transcript: RSS growth", "transcript_50000_rss_mb",
               "transcript_50000_bare_rss_mb", "MB"),
        Figure("console", "RSS, 500 chats + 50k lines open", "memory_500_50k_mb", "memory_500_50k_bare_mb",
               "MB", (("<=", 150, "value"),)),
        Figure("idle", "idle, 50 chats on screen, no events: CPU", "idle_cpu_pct", "idle_bare_cpu_pct",
               "% core", (("<=", 1, "value"),)),
        Figure("idle", "idle: frames/s", "idle_fps", "idle_bare_fps", "/s"),
        Figure("shift", "2,000 chats through the desk and closed: RSS growth", "shift_rss_mb",
               "shift_bare_rss_mb", "MB", (("<=", 20, "value"),)),
        Figure("shift", "after the shift: chats still held by the model", "shift_model_chats", None, ""),
        Figure("shift", "after the shift: transcripts cached", "shift_transcripts", None, ""),
        Figure("shift", "after the shift: typing marks kept", "shift_typing", None, ""),
        Figure("shift", "after the shift: chat-list rows cached", "shift_rows", None, ""),
    ]


def _keys() -> list[Figure]:
    rows = []
    for kind, label in (("repeat", "key → frame, key repeat 30/s"), ("step", "key → frame, single key"),
                        ("switch", "key → pane switched (10k transcript)")):
        rows += [
            Figure("keys", f"{label} p50", f"key_{kind}_p50_ms", f"key_{kind}_bare_p50_ms", "ms",
                   (("<=", 1.1, "ratio"),)),
            Figure("keys", f"{label} p99", f"key_{kind}_p99_ms", f"key_{kind}_bare_p99_ms", "ms",
                   (("<=", 1.2, "ratio"),)),
        ]
    rows.append(Figure("keys", "keys: longest GC pause", "key_gc_max_ms", "key_bare_gc_max_ms", "ms"))
    return rows


def _live() -> list[Figure]:
    rows = []
    for rate in (100, 1000, 5000):
        rows += [
            Figure("live", f"live {rate}/s: events applied", f"live_{rate}_applied", f"live_{rate}_sent", ""),
            Figure("live", f"live {rate}/s: event → screen p50", f"live_{rate}_p50_ms",
                   f"live_{rate}_bare_p50_ms", "ms"),
            Figure("live", f"live {rate}/s: event → screen p99", f"live_{rate}_p99_ms",
                   f"live_{rate}_bare_p99_ms", "ms", (("<=", 150, "value"),) if rate == 1000 else ()),
            Figure("live", f"live {rate}/s: frames/s", f"live_{rate}_fps", f"live_{rate}_bare_fps", "/s"),
            Figure("live", f"live {rate}/s: GC pauses (total)", f"live_{rate}_gc_ms",
                   f"live_{rate}_bare_gc_ms", "ms"),
            Figure("live", f"live {rate}/s: longest GC pause", f"live_{rate}_gc_max_ms",
                   f"live_{rate}_bare_gc_max_ms", "ms"),
        ]
    rows.append(Figure("live", "5,000-event burst → drained", "burst_5000_drain_ms",
                       "burst_5000_bare_drain_ms", "ms", (("<=", 1000, "value"),)))
    return rows


FIGURES: list[Figure] = [*_backend(), *_connections(), *_console(), *_keys(), *_live()]


def expected_keys(areas: list[str] | None = None) -> list[str]:
    """Every key (ours and baseline) the given areas (all by default) must report."""
    keys: list[str] = []
    for f in FIGURES:
        if areas is None or f.area in areas:
            keys += [f.key] + ([f.base] if f.base else [])
    return list(dict.fromkeys(keys))
