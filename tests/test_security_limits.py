"""The limits that keep anonymous patrons from taking the desk away from librarians.

Over real sockets on port 0, with clients bound to several loopback addresses
(127.0.0.2, 127.0.0.3 ...) so per-address limits are seen from outside as an attacker
sees them; the pure helpers of limits.py are checked with a fake clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from desk_ids import desk_id
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wire import Peer, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.limits import (
    Holdings,
    Limits,
    LogThrottle,
    SlidingWindow,
    TokenBucket,
    client_address,
    proxy_networks,
)
from libchat_tui.backend.runtime import Backend

QUESTION = "Is the library open on Sunday?"


@asynccontextmanager
async def desk(tmp_path: Path, **limits: Any) -> AsyncIterator[Backend]:
    """A backend on port 0 with these limits (the rest at their defaults)."""
    backend = Backend(data_dir=tmp_path / "data", clock=FakeClock(), token="test-token")
    backend.server.limits = Limits(**limits)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.stop()


async def open_from(backend: Backend, address: str, path: str = "/patron",
                    headers: dict[str, str] | None = None) -> ClientConnection:
    return await connect(f"{backend.url}{path}", local_addr=(address, 0), additional_headers=headers)


async def patron_from(backend: Backend, address: str, path: str = "/patron",
                      headers: dict[str, str] | None = None) -> Peer:
    return Peer(await open_from(backend, address, path, headers))


async def refused(backend: Backend, address: str, path: str = "/patron",
                  headers: dict[str, str] | None = None) -> int:
    """The HTTP status a connection from `address` is refused with."""
    with pytest.raises(InvalidStatus) as info:
        await open_from(backend, address, path, headers)
    return info.value.response.status_code


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Read until the desk closes the connection; its close code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


async def until(condition: Any) -> None:
    """Wait (bounded) for a condition the desk reaches on its own."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


# --- new chats per address and per browser ----------------------------------------------


async def test_new_chats_per_address_are_bounded_and_refused_politely(tmp_path: Path) -> None:
    async with desk(tmp_path, new_chats_per_address=3) as backend:
        lib, _ = await librarian(backend.url, backend.token)
        for _ in range(3):  # connect, join, drop: the attack that made 836 chats a second
            pat = await patron_from(backend, "127.0.0.2")
            await pat.ok("join", name="M", question=QUESTION)
            await pat.close()
        pat = await patron_from(backend, "127.0.0.2")
        reply = await pat.request("join", name="M", question=QUESTION)
        assert reply["code"] == "rate_limited"
        assert reply["message"] == ("Too many new chats from your network; please wait a few minutes "
                                    "or call the library.")
        offline = await pat.request("offline_ticket", name="M", email="m@example.edu", question=QUESTION)
        assert offline["code"] == "rate_limited"
        # Another address is not affected, and the librarian saw only the chats allowed.
        other = await patron_from(backend, "127.0.0.3")
        joined = await other.ok("join", name="S", question=QUESTION)
        await lib.next_event("chat", id=desk_id(backend, joined))
        assert len(backend.desk.chats) == 4


async def test_new_chats_per_browser_are_bounded_across_addresses(tmp_path: Path) -> None:
    async with desk(tmp_path, new_chats_per_client=2, new_chats_per_address=100) as backend:
        browser = "/patron?client=browser-4f9c2a"
        for address in ("127.0.0.2", "127.0.0.3"):
            pat = await patron_from(backend, address, browser)
            await pat.ok("join", name="M", question=QUESTION)
            await pat.close()
        again = await patron_from(backend, "127.0.0.4", browser)
        reply = await again.request("join", name="M", question=QUESTION)
        assert reply["code"] == "rate_limited" and "this browser" in reply["message"]
        # Without that browser id, the same address may still start a chat.
        fresh = await patron_from(backend, "127.0.0.4")
        await fresh.ok("join", name="S", question=QUESTION)


# --- every frame paid for; garbage closes the connection -----------------------------------


async def test_a_connection_that_keeps_sending_garbage_is_closed_1008(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with desk(tmp_path, patron_invalid_frames=5) as backend:
        ws = await open_from(backend, "127.0.0.2")
        for _ in range(4):
            await ws.send("{not json")
            assert json.loads(await ws.recv())["code"] == "bad_json"
        for _ in range(200):  # the fifth closes it; the rest are never answered
            await ws.send(b"\x00garbage")
        assert await closed_with(ws) == (1008, "too many invalid frames")
        lines = [r.getMessage() for r in caplog.records if "invalid frames" in r.getMessage()]
        assert lines == ["closed a patron connection from 127.0.0.2: 5 invalid frames"]
        # The desk still serves that address.
        pat = await patron_from(backend, "127.0.0.2")
        await pat.ok("status")


async def test_every_patron_frame_is_rate_limited_typing_and_garbage_included(tmp_path: Path) -> None:
    rate, burst = 20.0, 5
    async with desk(tmp_path, patron_frames_per_second=rate, patron_frame_burst=burst,
                    patron_invalid_frames=1_000) as backend:
        ws = await open_from(backend, "127.0.0.2")
        await ws.send(json.dumps({"type": "status", "id": "s"}))
        await ws.recv()
        start = time.monotonic()
        for _ in range(10):
            await ws.send(json.dumps({"type": "typing"}))
        for _ in range(10):
            await ws.send("{not json")
        for _ in range(10):
            assert json.loads(await ws.recv())["code"] == "bad_json"
        # 21 frames, burst 5: the last could not be read before 16 more were earned.
        assert time.monotonic() - start >= 0.9 * (21 - burst) / rate


async def test_patron_bytes_are_rate_limited(tmp_path: Path) -> None:
    rate, burst = 40_000, 10_000
    async with desk(tmp_path, patron_bytes_per_second=rate, patron_byte_burst=burst,
                    patron_invalid_frames=1_000) as backend:
        ws = await open_from(backend, "127.0.0.2")
        start = time.monotonic()
        for _ in range(5):
            await ws.send("x" * 10_000)
        for _ in range(5):
            assert json.loads(await ws.recv())["code"] == "bad_json"
        assert time.monotonic() - start >= 0.9 * (50_000 - burst) / rate


# --- nesting, and frames that outgrow a client --------------------------------------------------


def _deep(levels: int) -> str:
    """A command whose `name` nests `levels` lists: `levels + 1` deep with the frame's own
    object (1,000 levels: 6 KB)."""
    return '{"type": "join", "id": "deep", "name": ' + "[" * levels + "]" * levels + "}"


async def test_deeply_nested_json_gets_an_error_and_one_log_line_per_address(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    too_deep = "The frame nests objects and lists too deeply (at most 32 levels)."
    async with desk(tmp_path) as backend:
        lib, _ = await librarian(backend.url, backend.token)
        for address in ("127.0.0.2", "127.0.0.3"):
            ws = await open_from(backend, address)
            for frame in (_deep(1_000), _deep(5_000), "[" * 6_000, '{"a":' * 1_500, _deep(32)):
                await ws.send(frame)
                reply = json.loads(await ws.recv())
                assert (reply["type"], reply["code"], reply["message"]) == ("error", "too_deep", too_deep)
                assert reply["id"] == ("deep" if frame.startswith('{"type"') else None)
            # 32 levels are not too deep: answered as usual. The connection is still served.
            await ws.send(_deep(31))
            assert json.loads(await ws.recv())["code"] == "invalid_field"
            await ws.send(json.dumps({"type": "status", "id": "s"}))
            assert json.loads(await ws.recv())["type"] == "ack"
        # The same from a console: an error, and the console stays online.
        await lib.raw(_deep(1_000).replace('"join"', '"history"'))
        reply = await lib.orphan()
        assert (reply["id"], reply["code"]) == ("deep", "too_deep")
        await lib.ok("history")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    lines = [r.getMessage() for r in caplog.records if "nested deeper" in r.getMessage()]
    assert lines == [f"refused a patron frame from 127.0.0.{n}: nested deeper than 32 levels" for n in (2, 3)]


async def test_a_patron_transcript_always_fits_in_one_frame(tmp_path: Path) -> None:
    async with desk(tmp_path) as backend:
        lib, _ = await librarian(backend.url, backend.token)
        pat = await patron_from(backend, "127.0.0.2")
        joined = await pat.ok("join", name="M", question=QUESTION)
        chat_id = desk_id(backend, joined)
        await lib.ok("accept", chat_id=chat_id)
        line = "The census volumes are on the third floor. " * 90  # 3,960 characters
        for n in range(300):  # 1.2 MB of lines: more than a patron's client takes in one frame
            await lib.ok("send", chat_id=chat_id, text=f"{n}: {line}")
        # The patron's client accepts frames of at most 1 MiB (the websockets default).
        result = await pat.ok("transcript")
        assert result["omitted"]["messages"] > 0
        numbers = [int(m["text"].split(":")[0]) for m in result["messages"] if m["sender"] == "librarian"]
        assert numbers == list(range(300 - len(numbers), 300))  # the newest lines, in order
        assert len(json.dumps(result)) < 1024 * 1024
        # Resuming from the start is cut the same way.
        again = await patron_from(backend, "127.0.0.3")
        resumed = await again.ok("resume", token=joined["resume_token"], last_message_id=0)
        assert resumed["omitted"]["messages"] > 0 and resumed["messages"][-1]["text"].startswith("299: ")


# --- behind a reverse proxy -------------------------------------------------------------------


async def test_forwarded_address_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    proxy, stranger = "127.0.0.2", "127.0.0.3"
    async with desk(tmp_path, trusted_proxies=(proxy,), patron_connections_per_address=2) as backend:
        # Behind the proxy, each client has its own allowance.
        for _ in range(2):
            await open_from(backend, proxy, headers={"X-Forwarded-For": "203.0.113.7"})
        assert await refused(backend, proxy, headers={"X-Forwarded-For": "203.0.113.7"}) == 429
        # ... even when the client writes its own X-Forwarded-For before the proxy's.
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        assert await refused(backend, proxy, headers=spoofed) == 429
        await open_from(backend, proxy, headers={"X-Forwarded-For": "203.0.113.8"})
        # From anyone else, the header is ignored: the peer's address counts.
        for n in range(2):
            await open_from(backend, stranger, headers={"X-Forwarded-For": f"192.0.2.{n}"})
        assert await refused(backend, stranger, headers={"X-Forwarded-For": "192.0.2.99"}) == 429


async def test_behind_a_proxy_wrong_tokens_lock_out_only_their_sender(tmp_path: Path) -> None:
    proxy = "127.0.0.2"
    async with desk(tmp_path, trusted_proxies=("127.0.0.0/30",), login_failures_per_minute=3) as backend:
        attacker = {"X-Forwarded-For": "203.0.113.66", "Authorization": "Bearer guess"}
        statuses = [await refused(backend, proxy, "/librarian", attacker) for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        # The real librarian comes through the same proxy and gets in.
        ws = await open_from(backend, proxy, "/librarian",
                             {"X-Forwarded-For": "203.0.113.10", "Authorization": "Bearer test-token"})
        await ws.close()


async def test_new_chats_behind_a_proxy_count_per_client(tmp_path: Path) -> None:
    proxy = "127.0.0.2"
    async with desk(tmp_path, trusted_proxies=(proxy,), proxy_header="forwarded",
                    new_chats_per_address=1) as backend:
        first = await patron_from(backend, proxy, headers={"Forwarded": 'for="[2001:db8::1]:4711"'})
        await first.ok("join", name="M", question=QUESTION)
        # The same /64 is the same client; another client of the proxy is not.
        same = await patron_from(backend, proxy, headers={"Forwarded": "for=\"[2001:db8::2]\";proto=https"})
        assert (await same.request("join", name="M", question=QUESTION))["code"] == "rate_limited"
        other = await patron_from(backend, proxy, headers={"Forwarded": "for=192.0.2.60"})
        await other.ok("join", name="S", question=QUESTION)


# --- idle sockets and the total cap -----------------------------------------------------------


async def test_patron_connections_that_never_join_are_closed(tmp_path: Path) -> None:
    async with desk(tmp_path, join_timeout=0.3) as backend:
        talking = await patron_from(backend, "127.0.0.2")
        await talking.ok("status")
        silent = await open_from(backend, "127.0.0.3")
        typing_only = await open_from(backend, "127.0.0.4")
        await typing_only.send(json.dumps({"type": "typing"}))
        assert await closed_with(silent) == (1008, "join required")
        assert await closed_with(typing_only) == (1008, "join required")
        # Its deadline passed before the silent one's: having said `status`, it stays.
        assert (await talking.ok("status"))["librarians_online"] == 0


async def test_the_join_deadline_holds_while_a_connection_waits_for_its_allowance(tmp_path: Path) -> None:
    async with desk(tmp_path, join_timeout=0.5, patron_frames_per_second=0.5,
                    patron_frame_burst=1) as backend:
        ws = await open_from(backend, "127.0.0.2")
        start = time.monotonic()
        for _ in range(4):  # the first is free, each of the others waits 2 s for its turn
            await ws.send(json.dumps({"type": "typing"}))
        assert await closed_with(ws) == (1008, "join required")
        assert time.monotonic() - start < 1.5  # not after the queued signals (6 s)


async def test_total_patron_connections_are_capped_with_503(tmp_path: Path) -> None:
    async with desk(tmp_path, patron_connections_total=4) as backend:
        held = [await open_from(backend, f"127.0.0.{n}") for n in (2, 3, 4, 5)]
        assert await refused(backend, "127.0.0.6") == 503
        await held[0].close()
        await until(lambda: backend.server.patron_count < 4)
        again = await open_from(backend, "127.0.0.6")
        await again.close()


async def test_new_connections_per_address_per_minute_are_capped(tmp_path: Path) -> None:
    async with desk(tmp_path, patron_connects_per_minute=3) as backend:
        for _ in range(3):
            ws = await open_from(backend, "127.0.0.2")
            await ws.close()
        assert await refused(backend, "127.0.0.2") == 429
        ws = await open_from(backend, "127.0.0.3")
        await ws.close()


# --- log flooding ---------------------------------------------------------------------------------


async def _raw_request(backend: Backend, address: str, lines: list[str]) -> str:
    """Send a hand-written HTTP request from `address`; the response's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.port, local_addr=(address, 0))
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        async with asyncio.timeout(5):
            return (await reader.readline()).decode().strip()
    finally:
        writer.close()


def _upgrade(path: str, *extra: str) -> list[str]:
    return [f"GET {path} HTTP/1.1", "Host: desk", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", *extra]


async def test_duplicated_headers_get_400_and_one_log_line_per_address(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with desk(tmp_path) as backend:
        cases = [("/librarian", "Authorization: Bearer a", "Authorization: Bearer b"),
                 ("/librarian", "Origin: http://a.example", "Origin: http://b.example"),
                 ("/patron", "Origin: http://a.example", "Origin: http://b.example")]
        for _ in range(20):
            for path, *headers in cases:
                assert await _raw_request(backend, "127.0.0.2", _upgrade(path, *headers)) \
                    == "HTTP/1.1 400 Bad Request"
        assert await _raw_request(backend, "127.0.0.3", _upgrade(*cases[0])) == "HTTP/1.1 400 Bad Request"
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    bad = [r.getMessage() for r in caplog.records if r.getMessage().startswith("bad request")]
    assert len(bad) == 2, bad
    assert "127.0.0.2" in bad[0] and "127.0.0.3" in bad[1]


async def test_failed_logins_are_logged_once_per_interval_without_the_token(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with desk(tmp_path, login_failures_per_minute=10) as backend:
        for _ in range(4):
            assert await refused(backend, "127.0.0.2", "/librarian",
                                 {"Authorization": "Bearer s3cret-guess"}) == 401
        assert await refused(backend, "127.0.0.3", "/librarian") == 401
    lines = [r.getMessage() for r in caplog.records if "failed librarian login" in r.getMessage()]
    assert [line.split(" at ")[0] for line in lines] == [
        "failed librarian login from 127.0.0.2", "failed librarian login from 127.0.0.3"]
    assert all(line.split(" at ")[1].endswith("+00:00") for line in lines)  # when, in UTC
    assert "s3cret" not in caplog.text and "test-token" not in caplog.text


# --- resumed elsewhere -----------------------------------------------------------------------------


async def test_resuming_elsewhere_tells_the_first_connection(tmp_path: Path) -> None:
    async with desk(tmp_path) as backend:
        lib, _ = await librarian(backend.url, backend.token)
        first = await patron_from(backend, "127.0.0.2")
        joined = await first.ok("join", name="M", question=QUESTION)
        await lib.ok("accept", chat_id=desk_id(backend, joined))
        second = await patron_from(backend, "127.0.0.3")
        await second.ok("resume", token=joined["resume_token"], last_message_id=0)
        told = await first.next_event("resumed_elsewhere")
        assert "another window" in told["text"]
        await lib.ok("send", chat_id=desk_id(backend, joined), text="Still there?")
        await second.next_event("message")
        assert not [f for f in first.seen if f["type"] == "message"]
        # The first connection no longer has the chat: it cannot talk in it, or leave it.
        refused = await first.request("message", text="me too")
        assert refused["code"] == "not_joined"
        await first.close()
        await lib.ok("send", chat_id=desk_id(backend, joined), text="After the old tab closed")
        await second.next_event("message", text="After the old tab closed")  # still active


# --- the helpers, with a fake clock ------------------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refuses_then_refills_and_reserve_says_how_long_to_wait() -> None:
    clock = Ticks()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert bucket.take() and not bucket.take()
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)


def test_sliding_window_counts_per_key_and_forgets_old_events() -> None:
    clock = Ticks()
    window = SlidingWindow(count=2, window=60, clock=clock, max_keys=3)
    at = window.add("a")
    window.add("a")
    assert window.full("a") and not window.full("b")
    window.remove("a", at)
    assert not window.full("a")
    window.add("a")
    clock.now += 60
    assert window.hits("a") == 0
    for key in "bcde":  # at most max_keys remembered
        window.add(key)
    assert len(window._events) == 3


def test_log_throttle_says_how_many_lines_it_held_back() -> None:
    clock = Ticks()
    throttle = LogThrottle(60, clock=clock)
    assert throttle.allow("login 10.0.0.1") == 0
    assert throttle.allow("login 10.0.0.1") is None
    assert throttle.allow("login 10.0.0.2") == 0
    assert throttle.allow("login 10.0.0.1") is None
    clock.now += 60
    assert throttle.allow("login 10.0.0.1") == 2


def test_what_the_limits_remember_per_address_is_forgotten_once_stale() -> None:
    clock = Ticks()
    window = SlidingWindow(count=5, window=60, clock=clock)
    throttle = LogThrottle(60, clock=clock)
    for n in range(1_000):  # an attack from a thousand addresses
        window.add(f"10.0.{n // 256}.{n % 256}")
        throttle.allow(f"login 10.0.{n // 256}.{n % 256}")
    assert len(window) == len(throttle) == 1_000
    clock.now += 61
    for n in range(300):  # then ordinary traffic from a few
        window.full(f"192.0.2.{n % 3}")
        throttle.allow(f"login 192.0.2.{n % 3}")
    assert len(window) == 0  # nothing left to count (full() records nothing)
    assert len(throttle) == 3
    window.add("192.0.2.1")
    assert window.hits("192.0.2.1") == 1 and len(window) == 1


def test_holdings_name_the_greediest_newest_first_until_a_quarter_is_free() -> None:
    held: Holdings[str] = Holdings(budget=1_000)
    rank = {"old": 1, "mid": 2, "new": 3, "small": 4}
    for holder, amount in (("old", 300), ("mid", 300), ("new", 300), ("small", 50)):
        held.set(holder, amount)
    assert held.total == 950 and not held.over()
    held.set("small", 150)
    assert held.over()
    assert held.greediest(rank.__getitem__) == ["new"]  # 1,050 - 300 = 750: three quarters
    held.set("new", 0)
    assert held.total == 750 and len(held) == 3 and held.get("new") == 0


@pytest.mark.parametrize(("peer", "header", "values", "expected"), [
    ("10.0.0.5", "x-forwarded-for", ["203.0.113.7"], "203.0.113.7"),
    ("10.0.0.5", "x-forwarded-for", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),  # spoof ignored
    ("10.0.0.5", "x-forwarded-for", ["203.0.113.7, 10.0.0.9"], "203.0.113.7"),  # two of our proxies
    ("10.0.0.5", "x-forwarded-for", ["198.51.100.1", "203.0.113.7"], "203.0.113.7"),  # repeated header
    ("10.0.0.5", "x-forwarded-for", ["not-an-address"], "10.0.0.5"),
    ("10.0.0.5", "x-forwarded-for", [], "10.0.0.5"),
    ("192.0.2.1", "x-forwarded-for", ["203.0.113.7"], "192.0.2.1"),  # not a proxy we trust
    ("10.0.0.5", "forwarded", ['for=192.0.2.60;proto=http;by=10.0.0.5'], "192.0.2.60"),
    ("10.0.0.5", "forwarded", ['for="[2001:db8:cafe::17]:4711"'], "2001:db8:cafe::/64"),
    ("10.0.0.5", "forwarded", ["for=unknown"], "10.0.0.5"),
    ("::ffff:10.0.0.5", "x-forwarded-for", ["203.0.113.7:5555"], "203.0.113.7"),
    ("2001:db8::1", "x-forwarded-for", [], "2001:db8::/64"),
])
def test_client_address(peer: str, header: str, values: list[str], expected: str) -> None:
    assert client_address(peer, values, proxy_networks(["10.0.0.0/24"]), header) == expected


def test_limits_refuse_nonsense_with_the_setting_name() -> None:
    with pytest.raises(ValueError, match="join_timeout"):
        Limits(join_timeout=0)
    with pytest.raises(ValueError, match=r"trusted_proxies.*'proxy\.example'"):
        Limits(trusted_proxies=("proxy.example",))
    with pytest.raises(ValueError, match="proxy_header"):
        Limits(proxy_header="x-real-ip")  # type: ignore[arg-type]


def test_a_trusted_proxy_range_too_wide_to_be_a_proxy_is_warned_about() -> None:
    from libchat_tui.limits import proxy_warnings

    assert proxy_warnings(["127.0.0.1", "10.1.2.0/24", "2001:db8::/64"]) == []
    warned = proxy_warnings(["0.0.0.0/0", "10.0.0.0/8", "::/0"])
    assert len(warned) == 3 and "0.0.0.0/0 holds 4,294,967,296 addresses" in warned[0]
