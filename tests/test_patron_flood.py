"""A patron flood from several addresses never takes the desk away from its librarians.

Load test over real sockets: the desk runs here on port 0; twenty flooding patron
connections from five loopback addresses (127.0.0.2-6) run in a separate process, so the
flood competes with the desk for the CPU as a real one would, not for this event loop.
Each flooder sends garbage, typing signals and unknown commands as fast as its socket
takes them, and reconnects whenever it is closed. While it floods, a librarian's command
round trip is measured against the same round trip measured before the flood, a console
started during the flood gets online, and both consoles stay online afterwards.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from desk_ids import desk_id
from wire import Peer, join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.limits import Limits
from libchat_tui.backend.runtime import Backend

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
        assert backend.server.librarians_online() == 2
    finally:
        if proc is not None:
            proc.kill()
            await proc.wait()
        await backend.stop()
