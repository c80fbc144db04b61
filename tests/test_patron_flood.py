"""Patrons, flooding or merely busy, never take the desk away from its librarians.

Load tests over real sockets on port 0, the patrons in a separate process (so they
compete with the desk for the CPU as real ones would, not for this event loop), from
several loopback addresses (127.0.0.2 ...):

- a flood: twenty connections from five addresses send garbage, typing signals and
  unknown commands as fast as their sockets take them, reconnecting whenever they are
  closed. A librarian's command round trip is measured against the same round trip
  before the flood, a console started during the flood gets online, and both consoles
  stay online afterwards;
- patrons at the permitted rate: two hundred patrons from ten addresses (the most the
  limits let in), their chats taken by a librarian, each send the longest messages
  allowed, and now and then ask for their transcript, at just under 5 commands a second.
  The desk (`libchat-tui serve`, in its own process) cannot keep up with all that; a
  librarian's command must still not queue behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import string
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from desk_ids import desk_id
from wire import Peer, join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.limits import Limits
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits as Settings

ADDRESSES = [f"127.0.0.{n}" for n in range(2, 7)]
PER_ADDRESS = 4  # 20 flooding connections in all
ROUND_TRIPS = 40
#: The flood may make a librarian's median round trip this many times slower, no more.
#: (Unthrottled, a flood like this one made it several hundred times slower.)
SLOWDOWN_ALLOWED = 10

FLOODER = r"""
import asyncio, json, os, sys
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

url, addresses, per_address = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
GARBAGE = ["{not json", b"\x00\xff", '{"type": "typing"}', '{"type": "fly", "id": "x"}', "[]"]
stats = {"opened": 0, "refused": 0, "closed_1008": 0, "sent": 0, "replies": 0}
ready = asyncio.Event()
opened_first = 0

async def drain(ws):
    async for _ in ws:
        stats["replies"] += 1

async def flood(address):
    global opened_first
    first = True
    while True:
        try:
            async with connect(url, local_addr=(address, 0), open_timeout=10, max_queue=4) as ws:
                stats["opened"] += 1
                reader = asyncio.create_task(drain(ws))
                if first:
                    first = False
                    opened_first += 1
                    if opened_first == len(addresses) * per_address:
                        ready.set()
                try:
                    i = 0
                    while True:
                        await ws.send(GARBAGE[i % len(GARBAGE)])
                        stats["sent"] += 1
                        i += 1
                        if i % 16 == 0:  # let the other flooders (and the reader) run too
                            await asyncio.sleep(0)
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and exc.rcvd.code == 1008:
                        stats["closed_1008"] += 1
                        if stats["closed_1008"] == 2 * len(addresses) * per_address:
                            print("cut off twice", flush=True)
                finally:
                    reader.cancel()
        except InvalidStatus:
            stats["refused"] += 1
            await asyncio.sleep(0.05)
        except (OSError, TimeoutError, ConnectionClosed):
            await asyncio.sleep(0.05)

async def main():
    tasks = [asyncio.create_task(flood(a)) for a in addresses for _ in range(per_address)]
    await ready.wait()
    print("flooding", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps(stats), flush=True)
    os._exit(0)  # no closing handshakes: an attacker just goes away

asyncio.run(main())
"""


async def _round_trips(lib: Peer, chat_id: int, count: int,
                       until: asyncio.Future[Any] | None = None) -> list[float]:
    """A librarian's command round trips, in seconds: the transcript of an open chat.

    At least `count` of them, and on until `until` is done.
    """
    times: list[float] = []
    while len(times) < count or (until is not None and not until.done()):
        start = time.perf_counter()
        await lib.ok("transcript", chat_id=chat_id)
        times.append(time.perf_counter() - start)
    return times


async def _start_flood(url: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FLOODER, f"{url}/patron", ",".join(ADDRESSES), str(PER_ADDRESS),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    assert line.strip() == b"flooding", line
    return proc


async def _stop_flood(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"stop\n")
    await proc.stdin.drain()
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    await asyncio.wait_for(proc.wait(), 20)
    return dict(json.loads(line))


async def test_librarians_stay_online_and_quick_while_patrons_flood(tmp_path: Path) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=FakeClock(), token="t")
    backend.server.limits = Limits()  # the documented defaults
    await backend.start()
    proc: asyncio.subprocess.Process | None = None
    try:
        ana, _ = await librarian(backend.url, "t", "Ana")
        _pat, joined = await join(backend.url)
        chat_id = desk_id(backend, joined)
        await ana.ok("accept", chat_id=chat_id)
        await _round_trips(ana, chat_id, 5)  # warm up
        quiet = statistics.median(await _round_trips(ana, chat_id, ROUND_TRIPS))

        proc = await _start_flood(backend.url)
        assert proc.stdout is not None
        # Measured through the whole flood: its first burst, every flooder cut off and
        # reconnecting, and cut off again.
        cut_off = asyncio.ensure_future(asyncio.wait_for(proc.stdout.readline(), 30))
        samples = await _round_trips(ana, chat_id, ROUND_TRIPS, until=cut_off)
        assert (await cut_off).strip() == b"cut off twice"
        flooded = statistics.median(samples)
        # A console started in the middle of the flood gets online.
        ben, _ = await librarian(backend.url, "t", "Ben")
        stats = await _stop_flood(proc)
        proc = None

        print(f"\nlibrarian round trip p50: {quiet * 1000:.2f} ms quiet, {flooded * 1000:.2f} ms "
              f"under flood ({len(samples)} samples, worst {max(samples) * 1000:.1f} ms); flood: {stats}")
        assert flooded < SLOWDOWN_ALLOWED * quiet, (quiet, flooded, stats)
        # The flood was real, and the desk cut it off rather than answering it all.
        assert stats["closed_1008"] >= len(ADDRESSES) * PER_ADDRESS
        assert stats["replies"] < stats["sent"]
        # Both consoles are still online and working.
        for console in (ana, ben):
            assert (await console.ok("transcript", chat_id=chat_id))["chat"]["id"] == chat_id
        assert backend.server.librarians_online(backend.desk.team.default_department) == 2
    finally:
        if proc is not None:
            proc.kill()
            await proc.wait()
        await backend.stop()


# --- patrons at the permitted rate ---------------------------------------------------------

BUSY_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 12)]
BUSY_PER_ADDRESS = 20  # the most open connections, and new chats, one address may have
BUSY_SECONDS = 8

BUSY = r"""
import asyncio, json, os, sys, time
from websockets.asyncio.client import connect

url, addresses, per_address = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
TEXT = sys.stdin.readline().rstrip("\n")
stats = {"joined": 0, "acks": 0, "errors": {}}
go = asyncio.Event()

async def read(ws):
    async for raw in ws:
        frame = json.loads(raw)
        if frame["type"] == "ack":
            stats["acks"] += 1
        elif frame["type"] == "error":
            stats["errors"][frame["code"]] = stats["errors"].get(frame["code"], 0) + 1

async def patron(address, n):
    async with connect(url, local_addr=(address, 0), ping_interval=None, max_size=None) as ws:
        await ws.send(json.dumps({"type": "join", "id": "j", "name": f"P{n}", "question": "Where?"}))
        while json.loads(await ws.recv()).get("id") != "j":
            pass
        stats["joined"] += 1
        if stats["joined"] == len(addresses) * per_address:
            print("joined", flush=True)
        reader = asyncio.create_task(read(ws))
        await go.wait()
        start = time.monotonic() + n * 0.004
        for i in range(1, 10**9):  # just under the 5 commands a second each may send
            await asyncio.sleep(max(0.0, start + i / 4.9 - time.monotonic()))
            command = {"type": "transcript"} if i % 5 == 0 else {"type": "message", "text": TEXT}
            await ws.send(json.dumps({**command, "id": f"c{i}"}))

async def main():
    tasks = [asyncio.create_task(patron(a, n)) for n, a in enumerate(
        a for a in addresses for _ in range(per_address))]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    go.set()
    await loop.run_in_executor(None, sys.stdin.readline)
    print(json.dumps(stats), flush=True)
    os._exit(0)

asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def _serve(tmp: Path) -> AsyncIterator[tuple[str, str]]:
    """`libchat-tui serve` on port 0 with the default limits, in its own process: (url, token)."""
    env = {**os.environ, "LIBCHAT_CONFIG": str(tmp / "config.toml")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0", "--data-dir", str(tmp / "data"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            while not (found := re.search(r"desk at (ws://\S+?)\s", (await proc.stdout.readline()).decode())):
                assert proc.returncode is None, "serve exited before printing its URL"
        yield found.group(1), (tmp / "token").read_text().strip()
    finally:
        proc.terminate()
        await proc.wait()


def _longest_message() -> str:
    """A message as long as allowed (4,000 characters), in words as varied as a person's:
    each word is a search term the desk indexes, which is most of what a message costs it."""
    rng = random.Random(7)
    vocabulary = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
                  for _ in range(5000)]
    return " ".join(rng.choice(vocabulary) for _ in range(800))[:4000]


async def _sends(lib: Peer, chat_id: int, count: int) -> list[float]:
    """A librarian's `send` round trips (a write, like most of a librarian's commands)."""
    return [await _timed(lib.ok("send", chat_id=chat_id, text="Let me check that for you."))
            for _ in range(count)]


async def _paced_sends(lib: Peer, chat_id: int, seconds: float, every: float = 0.25) -> list[float]:
    """`send` round trips, one started every `every` s whether or not the last has come back.

    Timed from when each was due, so a command stuck behind a stall counts as long as the
    librarian would wait: a stall of a second shows as four slow commands, not one.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    due = [start + n * every for n in range(int(seconds / every))]

    async def one(at: float) -> float:
        await asyncio.sleep(max(0.0, at - loop.time()))  # the librarian's pace, not a wait for the desk
        with contextlib.suppress(TimeoutError):  # no answer within wire.TIMEOUT: as long as it waited
            await lib.ok("send", chat_id=chat_id, text="Let me check that for you.")
        return loop.time() - at

    return list(await asyncio.gather(*(one(at) for at in due)))


async def test_patrons_at_the_permitted_rate_never_queue_in_front_of_a_librarian(tmp_path: Path) -> None:
    at_once = Settings().patron_commands_at_once
    text = _longest_message()
    async with _serve(tmp_path) as (url, token):
        ana, _ = await librarian(url, token, "Ana")
        pat, _ = await join(url)
        chat_id = (await ana.next_event("chat"))["chat"]["id"]
        await ana.ok("accept", chat_id=chat_id)
        await _sends(ana, chat_id, 10)  # warm up
        quiet = statistics.median(await _sends(ana, chat_id, 40))
        # What one patron command of the load costs the desk, when it has nothing else to do.
        patron_command = statistics.median([await _timed(pat.ok("message", text=text)) for _ in range(8)])
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BUSY, f"{url}/patron", ",".join(BUSY_ADDRESSES), str(BUSY_PER_ADDRESS),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(text.encode() + b"\n")
            await proc.stdin.drain()
            assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"joined"
            # Ana takes every chat, as a desk does: their lines go to her console.
            for _ in range(len(BUSY_ADDRESSES) * BUSY_PER_ADDRESS):
                await ana.ok("accept", chat_id=(await ana.next_event("chat", state="waiting"))["chat"]["id"])
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
            busy = sorted(await _paced_sends(ana, chat_id, BUSY_SECONDS))
            proc.stdin.write(b"stop\n")
            await proc.stdin.drain()
            stats = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
            await asyncio.wait_for(proc.wait(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        loaded, p90 = statistics.median(busy), busy[int(len(busy) * 0.9)]
        # A librarian's command waits, at worst, for the patron commands the desk has already
        # started (at most `at_once` of them), then for its own: not for every patron's. (Each
        # costs more under load than quiet, with the patrons' own traffic on the same CPU.)
        allowed = 5 * (quiet + at_once * patron_command)
        print(f"\nlibrarian command p50 {quiet * 1000:.2f} ms quiet; with "
              f"{len(BUSY_ADDRESSES) * BUSY_PER_ADDRESS} patrons at the permitted rate p50 "
              f"{loaded * 1000:.2f} ms, p90 {p90 * 1000:.1f} ms, max {busy[-1] * 1000:.1f} ms "
              f"({len(busy)} commands, one every 250 ms for {BUSY_SECONDS} s; allowed p50 "
              f"{allowed * 1000:.1f} ms; one patron message, quiet: {patron_command * 1000:.2f} ms); "
              f"patrons: {stats}")
        assert stats["acks"] >= 400, stats  # the patrons really kept the desk busy
        assert loaded < allowed and p90 < 2 * allowed, (quiet, loaded, p90, allowed)
        assert (await ana.ok("transcript", chat_id=chat_id))["chat"]["id"] == chat_id


async def _timed(request: Any) -> float:
    start = time.perf_counter()
    await request
    return time.perf_counter() - start
