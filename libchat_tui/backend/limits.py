"""Every limit that keeps anonymous patrons from taking the desk away from librarians.

`Limits` (libchat_tui/limits.py, read from the `[limits]` settings) holds each limit
with its documented default; the desk server is given one and never reads a module
constant. The helpers are pure and clock-injectable, so they are unit-tested
without sockets: `TokenBucket` (a rate with a burst), `SlidingWindow` (at most N events
per key in a window), `LogThrottle` (one log line per key per interval), `Holdings`
(what many holders hold together, and whom to let go when it is too much) and
`client_address` (who is really connecting, when a trusted reverse proxy is in front).
Whatever they remember per key is forgotten once it no longer matters, so an attack
from many addresses leaves nothing behind.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from typing import Final, Generic, TypeVar

from ..limits import Limits, Network, proxy_networks

__all__ = ["MAX_KEYS", "Holdings", "Limits", "LogThrottle", "SlidingWindow", "TokenBucket", "client_address",
           "proxy_networks"]

Clock = Callable[[], float]
H = TypeVar("H", bound=Hashable)

#: How many keys (addresses, browsers) a window or throttle remembers before it forgets
#: the stalest: memory stays bounded whatever the number of addresses an attacker has.
MAX_KEYS: Final = 50_000


# --- who is connecting ----------------------------------------------------------------


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[Network]) -> bool:
    return any(ip.version == n.version and ip in n for n in networks)


def _forwarded_for(values: Sequence[str], header: str) -> list[str]:
    """The hop addresses a forwarding header lists, nearest the client first."""
    hops: list[str] = []
    for value in values:
        for element in value.split(","):
            if header == "x-forwarded-for":
                hops.append(element)
                continue
            for pair in element.split(";"):
                name, _, found = pair.partition("=")
                if name.strip().lower() == "for":
                    hops.append(found)
    return hops


def client_address(peer: str, forwarded: Sequence[str], networks: Sequence[Network],
                   header: str = "x-forwarded-for") -> str:
    """The address every per-address limit counts: the peer, or its proxy's client.

    A forwarding header is believed only when `peer` is a trusted proxy, and only as far
    as the chain of trusted proxies goes: reading from the right (the hop our proxy
    added), the first address that is not a trusted proxy is the client. Anything a
    client wrote further left is ignored, so it cannot pick its own address. An IPv6
    client counts by its /64, which one household or host usually holds whole.
    """
    ip = _ip(peer)
    if ip is None:
        return peer
    if networks and _trusted(ip, networks):
        for hop in reversed(_forwarded_for(forwarded, header)):
            hop_ip = _ip(hop)
            if hop_ip is None:
                break  # unreadable (or "unknown"): stop at the last proxy we trust
            ip = hop_ip
            if not _trusted(hop_ip, networks):
                break
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# --- rates ------------------------------------------------------------------------------


class TokenBucket:
    """A rate with a burst. `take()` spends now or refuses; `reserve()` spends and says how
    long to wait first, so a reader that waits before reading more never runs ahead."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self, amount: float = 1.0) -> bool:
        """Spend `amount` if it is there; False (and nothing spent) if not."""
        self._refill()
        if self._tokens < amount:
            return False
        self._tokens -= amount
        return True

    def reserve(self, amount: float = 1.0) -> float:
        """Spend `amount`, going into debt if need be: the seconds to wait before acting."""
        self._refill()
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class SlidingWindow:
    """At most `count` events per key in any `window` seconds.

    A key whose events have all left the window is forgotten (the stalest first, a few
    on every call), so what it remembers shrinks back once an attack stops.
    """

    def __init__(self, count: int, window: float, clock: Clock = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.count = count
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        self._forget_stale(now)
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and now - events[0] >= self.window:
            events.popleft()
        return events

    def _forget_stale(self, now: float) -> None:
        """Drop keys, stalest first, whose last event has left the window (at most a few)."""
        for _ in range(4):
            if not self._events:
                return
            key, events = next(iter(self._events.items()))
            if events and now - events[-1] < self.window:
                return
            del self._events[key]

    def full(self, key: str) -> bool:
        """Would one more event for `key` go over the limit?"""
        now = self._clock()
        events = self._recent(key, now)
        if not events:
            del self._events[key]  # nothing to remember
            return False
        return len(events) >= self.count

    def add(self, key: str) -> float:
        """Record an event for `key` now; returns its time (for `remove`)."""
        now = self._clock()
        self._recent(key, now).append(now)
        return now

    def remove(self, key: str, at: float) -> None:
        """Take back an event recorded at `at` (the thing it counted did not happen)."""
        events = self._events.get(key)
        if events is not None and at in events:
            events.remove(at)
            if not events:
                del self._events[key]

    def hits(self, key: str) -> int:
        events = self._recent(key, self._clock())
        if not events:
            del self._events[key]
        return len(events)

    def __len__(self) -> int:
        """How many keys it remembers."""
        return len(self._events)


class LogThrottle:
    """One log line per key per `interval`; says how many were held back meanwhile.

    A key whose last line is older than `interval` and that held nothing back is
    forgotten (the stalest first, a few on every call): the next line would say the same.
    """

    def __init__(self, interval: float, clock: Clock = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self.interval = interval
        self._clock = clock
        self._max_keys = max_keys
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def allow(self, key: str) -> int | None:
        """None: stay quiet. Otherwise log now, mentioning the returned count held back."""
        now = self._clock()
        for _ in range(4):
            if not self._last:
                break
            stalest, (at, held) = next(iter(self._last.items()))
            if stalest == key or held or now - at < self.interval:
                break
            del self._last[stalest]
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval:
            self._last[key] = (last[0], last[1] + 1)
            return None
        self._last[key] = (now, 0)
        self._last.move_to_end(key)
        while len(self._last) > self._max_keys:
            self._last.popitem(last=False)
        return 0 if last is None else last[1]

    def __len__(self) -> int:
        """How many keys it remembers."""
        return len(self._last)


class Holdings(Generic[H]):
    """What each of many holders holds (bytes, say), the total, and a `budget` for it.

    `set` records a holder's amount (0 forgets it). Over budget, `greediest` names the
    holders to let go: the ones holding the most (the newest first among equals, by
    `rank`) until the rest hold at most three quarters of the budget, so shedding is
    not needed again at once.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.total = 0
        self._held: dict[H, int] = {}

    def set(self, holder: H, amount: int) -> None:
        self.total += amount - self._held.pop(holder, 0)
        if amount > 0:
            self._held[holder] = amount

    def get(self, holder: H) -> int:
        return self._held.get(holder, 0)

    def over(self) -> bool:
        return self.total > self.budget

    def greediest(self, rank: Callable[[H], int]) -> list[H]:
        """The holders to let go to come back under three quarters of the budget."""
        target = self.budget * 3 // 4
        total = self.total
        chosen: list[H] = []
        for holder in sorted(self._held, key=lambda h: (self._held[h], rank(h)), reverse=True):
            if total <= target:
                break
            chosen.append(holder)
            total -= self._held[holder]
        return chosen

    def __len__(self) -> int:
        """How many holders hold anything."""
        return len(self._held)
