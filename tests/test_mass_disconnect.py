"""Cutting two thousand held patron sockets at once does not stall librarians.

An outside probe held 2,000 patron sockets, each in a chat, and cut them all at
once: librarians' commands stalled for up to 2.8 s. Here the patrons run in another
process, from several loopback addresses, each joined to a chat (every drop then
starts a reconnect timer and writes a state change that five librarians' consoles
are sent); they all abort their sockets at the same moment while a librarian sends
a command every 20 ms. The librarian's round trip (timed from when each command was
due, so a command queued behind a stall counts its wait) stays short, the desk
writes a few log lines at most, and every dropped chat reaches `reconnecting`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import warnings

from wire import Peer, librarian

from libchat_tui.backend.runtime import Backend
from libchat_tui.domain import ChatState

PATRONS = 2_000
ADDRESSES = [f"127.0.0.{n}" for n in range(2, 6)]
CONSOLES = 5  # librarians' consoles that are sent every chat's state change
EVERY = 0.02  # a librarian command is due this often

PATRONS_SCRIPT = r"""
import asyncio, json, os, sys
from websockets.asyncio.client import connect

url, addresses, count = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
held, gate = [], asyncio.Semaphore(100)

async def drain(ws):
    try:
        async for _ in ws:
            pass
    except Exception:
        pass

async def patron(n):
    async with gate:
        ws = await connect(url, local_addr=(addresses[n % len(addresses)], 0), ping_interval=None,
                           open_timeout=30)
        await ws.send(json.dumps({"type": "join", "id": "j", "name": f"P{n}", "question": "Where?"}))
        while json.loads(await ws.recv()).get("id") != "j":
            pass
    held.append(ws)
    asyncio.create_task(drain(ws))

async def main():
    await asyncio.gather(*(patron(n) for n in range(count)))
    print("joined", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for ws in held:  # every socket cut at once, no closing handshake
        ws.transport.abort()
    os._exit(0)

asyncio.run(main())
"""


class _Records(logging.Handler):
    """Every warning (or worse) any logger writes: asyncio's, websockets' and the desk's."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _paced(lib: Peer, stop: asyncio.Event) -> list[float]:
    """Send `tickets` every EVERY seconds until `stop`: each round trip, timed from when it was due."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    late: list[float] = []

    async def one(due: float) -> None:
        await lib.ok("tickets", status="open")
        late.append(loop.time() - due)

    tasks = []
    for i in range(10**6):
        due = start + i * EVERY
        await asyncio.sleep(max(0.0, due - loop.time()))
        if stop.is_set():
            break
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return sorted(late)


async def _quiet(lib: Peer, seconds: float) -> list[float]:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await _paced(lib, stop)


async def test_cutting_many_patron_sockets_at_once_keeps_librarians_quick_and_logs_little(
        backend: Backend) -> None:
    desk = backend.desk
    lib, _hello = await librarian(backend.url, "test-token")
    others = [(await librarian(backend.url, "test-token", name=f"L{n}"))[0] for n in range(CONSOLES - 1)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PATRONS_SCRIPT, f"{backend.url}/patron", ",".join(ADDRESSES), str(PATRONS),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            assert (await proc.stdout.readline()).strip() == b"joined"
        chats = [c.id for c in desk.chats.values() if c.state is ChatState.WAITING]
        assert len(chats) == PATRONS

        quiet = await _quiet(lib, 0.5)  # the same desk, nothing happening

        handler = _Records()
        logging.getLogger().addHandler(handler)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stop = asyncio.Event()
                pacer = asyncio.create_task(_paced(lib, stop))
                await asyncio.sleep(0.2)
                cut_at = time.monotonic()
                proc.stdin.write(b"cut\n")
                await proc.stdin.drain()
                async with asyncio.timeout(20):
                    while any(desk.chats[c].state is not ChatState.RECONNECTING for c in chats):
                        await asyncio.sleep(0.02)
                settled = time.monotonic() - cut_at
                await asyncio.sleep(0.3)
                stop.set()
                during = await pacer
        finally:
            logging.getLogger().removeHandler(handler)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await lib.close()
        for other in others:
            await other.close()

    lines = [f"{r.name}: {r.getMessage()}" for r in handler.records]
    print(f"quiet max {quiet[-1] * 1000:.1f} ms; cut of {PATRONS}: max {during[-1] * 1000:.1f} ms, "
          f"p50 {during[len(during) // 2] * 1000:.1f} ms over {len(during)} commands; all reconnecting "
          f"{settled:.2f} s after the cut; {len(lines)} log records, {len(caught)} warnings")
    # Nothing lost: every dropped chat is waiting for its patron to come back.
    assert all(desk.chats[c].state is ChatState.RECONNECTING for c in chats)
    assert len(lines) <= 10, lines[:20]
    assert len(caught) <= 10, [str(w.message) for w in caught[:20]]
    # The probe saw 2.8 s. Measured here (2 cores): before batching the drops, the median
    # command waited 23-39 ms for the whole second the desk took to move the chats, and
    # the worst 0.31-0.36 s; after, 3-5 ms and about 0.17 s. What remains is asyncio and
    # websockets tearing down 2,000 sockets (about 80 us each, in three or four loop
    # turns in a row) and, at times, one full garbage collection (0.1 s): the bound on the
    # worst allows for both; the median shows whether librarians queue behind the drops.
    median = during[len(during) // 2]
    assert median < 0.010 + 5 * quiet[len(quiet) // 2], (median, quiet[len(quiet) // 2])
    assert during[-1] < 0.3, (during[-10:], quiet[-1])
