"""Many patrons on one `libchat-tui serve` pinned to one core; clients in another process.

The server runs as `taskset -c 0 libchat-tui serve` (when taskset exists) and the load
(`benchmarks.load_clients`: 10 librarians, then N patrons from 127.0.0.2, .3, ... at
most 20 per address, each sending a typing signal and a message every ~10 s like the
simulator's patrons) runs as `taskset -c 1 python -m benchmarks.load_clients`.
Reported: connections held, server RSS per patron connection (RSS with everyone
connected minus RSS with the librarians only, divided by patrons held), and patron →
librarian latency in the steady state after every patron has joined.

Baseline, same clients, same pinning: a raw `websockets` relay
(`python -m benchmarks.bench_connections relay`) that acks a join and `broadcast()`s
each patron message to the librarians, with no validation, store or desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import REPEATS, Mode, Samples, alternate, mode_from_argv, rss_mb

ROOT = Path(__file__).resolve().parent.parent


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pinned(core: int, cmd: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > core:
        return ["taskset", "-c", str(core), *cmd]
    return cmd


async def _start(kind: str, tmp: Path) -> tuple[asyncio.subprocess.Process, str, str]:
    if kind == "ours":
        cmd = [sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0", "--data-dir", str(tmp / "d")]
    else:
        cmd = [sys.executable, "-m", "benchmarks.bench_connections", "relay"]
    proc = await asyncio.create_subprocess_exec(
        *_pinned(0, cmd), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        env={**os.environ, "LIBCHAT_CONFIG": str(tmp / "config.toml")})
    assert proc.stdout is not None
    while True:
        line = (await proc.stdout.readline()).decode()
        found = re.search(r"(?:desk|relay) at (ws://\S+?)\s", line)
        if found:
            token = (tmp / "token").read_text().strip() if kind == "ours" else "raw"
            return proc, found.group(1), token
        if not line:
            raise RuntimeError(f"{kind} server did not start")


async def hold(kind: str, patrons: int, seconds: float, period: float = 10.0) -> dict[str, Any]:
    """One run: start the server, connect the load, hold for `seconds`, read the figures,
    then kill both (a benchmark's data directory needs no clean shutdown)."""
    with tempfile.TemporaryDirectory() as tmp:
        server, url, token = await _start(kind, Path(tmp))
        load = await asyncio.create_subprocess_exec(
            *_pinned(1, [sys.executable, "-m", "benchmarks.load_clients", url, token, str(patrons),
                         str(seconds), str(period)]),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
        assert load.stdout is not None and load.stdin is not None
        try:
            await load.stdout.readline()  # librarians connected
            base = rss_mb(server.pid)
            load.stdin.write(b"\n")
            await asyncio.wait_for(load.stdout.readline(), 180)  # every patron has joined
            cpu_start, wall_start = _cpu_seconds(server.pid), time.perf_counter()
            load.stdin.write(b"\n")
            done = json.loads(await asyncio.wait_for(load.stdout.readline(), seconds + 60))
            cpu = (_cpu_seconds(server.pid) - cpu_start) / (time.perf_counter() - wall_start)
            rss = rss_mb(server.pid)
        finally:
            await _stop(load, kill=True)
            await _stop(server, kill=True)
    done["rss_kb_per_conn"] = (rss - base) * 1024 / max(1, done["held"])
    done["server_cpu_pct"] = cpu * 100
    done["server_rss_mb"] = rss
    return done


async def _stop(proc: asyncio.subprocess.Process, *, kill: bool) -> None:
    """End a child (SIGTERM lets serve shut down cleanly), never waiting forever."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill() if kill else proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


async def bounded_hold(kind: str, patrons: int, seconds: float, period: float = 10.0) -> dict[str, Any]:
    """`hold`, but a run that hangs is reported (with a stack dump on stderr) and skipped."""
    limit = seconds + 300
    faulthandler.dump_traceback_later(limit - 5, exit=False)
    try:
        return await asyncio.wait_for(hold(kind, patrons, seconds, period), limit)
    except Exception as exc:  # one failed run must not take the suite down
        print(f"connections: {kind} with {patrons} patrons failed: {exc!r}", file=sys.stderr)
        return {}
    finally:
        faulthandler.cancel_dump_traceback_later()


#: mode -> (patrons, steady seconds, message period in seconds) for each size. The smoke
#: run's patrons talk every 0.3 s so that a few messages land while the others join.
SIZES: dict[str, tuple[tuple[int, int, float, float], ...]] = {
    "smoke": ((100, 100, 1.0, 0.3),),  # reported under every size's keys: see `run`
    "quick": ((100, 100, 3.0, 10.0), (1000, 1000, 4.0, 10.0), (5000, 5000, 5.0, 10.0)),
    "full": ((100, 100, 3.0, 10.0), (1000, 1000, 5.0, 10.0), (5000, 5000, 6.0, 10.0)),
}
FIGURES = ("held", "failed", "messages", "p50_ms", "p99_ms", "join_p99_ms", "all_p99_ms", "join_messages",
           "client_lag_p99_ms", "client_lag_max_ms", "server_cpu_pct", "rss_kb_per_conn")


async def run(mode: Mode) -> Samples:
    """Each size: ours and the raw relay alternately, `REPEATS[mode]` times.

    The smoke run measures 100 patrons once and reports them under every size's keys
    (the code path is the same; only the count differs): it checks that the figures come
    out, not what they are.
    """
    samples = Samples()
    for name, patrons, seconds, period in SIZES[mode]:
        async def ours(n: int = patrons, s: float = seconds, p: float = period) -> dict[str, float]:
            return _figures(await bounded_hold("ours", n, s, p))

        async def raw(n: int = patrons, s: float = seconds, p: float = period) -> dict[str, float]:
            return _figures(await bounded_hold("raw", n, s, p))

        per_size = Samples()
        await alternate(REPEATS[mode], ours, raw, per_size, "raw_")
        for size in (100, 1000, 5000) if mode == "smoke" else (name,):
            for key, values in per_size.values.items():
                samples.values[f"conn_{size}_{key}"] = values
    return samples


def _figures(got: dict[str, Any]) -> dict[str, float]:
    return {key: float("nan") if got.get(key) is None else float(got[key]) for key in FIGURES}


# --- the raw websockets relay (baseline server) -------------------------------------------

async def relay() -> None:
    """Ack joins, broadcast patron messages to librarians; nothing else."""
    from websockets.asyncio.server import broadcast, serve

    librarians: set[Any] = set()

    async def handler(ws: Any) -> None:
        if ws.request.path.startswith("/librarian"):
            await ws.recv()
            await ws.send(json.dumps({"type": "synced", "seq": 0}))
            librarians.add(ws)
            try:
                await ws.wait_closed()
            finally:
                librarians.discard(ws)
            return
        n = 0
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "join":
                await ws.send(json.dumps({"type": "ack", "id": frame["id"], "result": {"chat_id": 1}}))
            elif frame.get("type") == "message":
                n += 1
                broadcast(librarians, json.dumps({"type": "message", "seq": n, "message": {
                    "id": n, "chat_id": 1, "sender": "patron", "author": "P", "text": frame["text"]}}))
                await ws.send(json.dumps({"type": "ack", "id": frame["id"], "result": {"message_id": n}}))
            elif frame.get("type") == "typing":
                broadcast(librarians, json.dumps({"type": "typing", "chat_id": 1, "who": "patron"}))

    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=64) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"relay at ws://127.0.0.1:{port} ", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"]:
        asyncio.run(relay())
    else:
        asyncio.run(run(mode_from_argv())).emit()
