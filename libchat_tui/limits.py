"""The `[limits]` settings: every limit the desk puts on anonymous patrons, with its default.

Plain data with no I/O (the settings file is read by config.py, which every client
imports); the desk's rate limiters that enforce these live in backend/limits.py, and
docs/security.md lists every limit with its setting name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Literal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Limits:
    """Every limit on the desk's two endpoints; the `[limits]` settings section.

    Counts are per client address (the proxy's client when the peer is a trusted
    proxy; an IPv6 client counts by its /64), per browser (the `client` query parameter
    of `/patron`, when given) or per connection, as each name says.
    """

    #: Reverse proxies (addresses or CIDRs) whose forwarding header is believed.
    trusted_proxies: tuple[str, ...] = ()
    #: The header a trusted proxy sets: "x-forwarded-for" or "forwarded" (RFC 7239).
    proxy_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"

    #: Open patron connections per client address (HTTP 429 beyond).
    patron_connections_per_address: int = 20
    #: Open patron connections in all (HTTP 503 beyond).
    patron_connections_total: int = 10_000
    #: New patron connections per client address per minute (HTTP 429 beyond).
    patron_connects_per_minute: int = 60
    #: Seconds a patron connection may stay open without `status`, `join` or `resume`.
    join_timeout: float = 15.0

    #: New chats (and offline tickets) per client address per `new_chats_window`.
    new_chats_per_address: int = 20
    #: New chats (and offline tickets) per browser per `new_chats_window`.
    new_chats_per_client: int = 5
    #: The sliding window, in seconds, for the two new-chat limits.
    new_chats_window: float = 600.0
    #: Chats waiting on the whole desk; beyond, `join` is refused (`queue_full`) and the
    #: patron is offered the offline form: nobody is told "you are number 1,001".
    waiting_chats_total: int = 500

    #: Every frame a patron sends (typing and invalid frames included), per connection.
    patron_frames_per_second: float = 10.0
    patron_frame_burst: int = 30
    #: Bytes a patron connection may send, per second and in a burst.
    patron_bytes_per_second: int = 32 * 1024
    patron_byte_burst: int = 128 * 1024
    #: Commands (not typing) per patron connection; beyond: a `rate_limited` error.
    patron_commands_per_second: float = 5.0
    patron_command_burst: int = 10
    #: Invalid frames one patron connection may send before it is closed (1008).
    patron_invalid_frames: int = 30
    #: Seconds between two typing signals of one patron passed on to librarians.
    typing_interval: float = 0.5
    #: Bytes all patron connections together may hold in the desk (frames read and not yet
    #: answered, a frame still arriving, replies not yet sent); beyond, the connections
    #: holding the most are closed (1013) until a quarter of it is free again.
    patron_memory_total: int = 64 * 1024 * 1024
    #: Patron commands the desk works on at once, all patrons together; the others wait,
    #: unread, so a librarian's command never queues behind more patron work than this.
    patron_commands_at_once: int = 4

    #: Failed librarian logins per client address per minute, then HTTP 429.
    login_failures_per_minute: int = 5
    #: Seconds a console has to send `hello` (else close 4002).
    hello_timeout: float = 10.0
    #: Seconds for a client to complete the opening handshake.
    handshake_timeout: float = 10.0
    #: Unsent bytes queued for a console before it is disconnected (it resyncs).
    librarian_write_buffer: int = 32 * 1024 * 1024

    #: Seconds between two log lines about the same address and the same trouble.
    log_interval: float = 60.0

    def for_simulated_patrons(self) -> Limits:
        """These limits with every per-address and per-browser count lifted: the demo desk's
        simulated patrons (and tests') all come from one loopback address."""
        return replace(self, patron_connections_per_address=1_000_000, patron_connects_per_minute=1_000_000,
                       new_chats_per_address=1_000_000, new_chats_per_client=1_000_000,
                       waiting_chats_total=1_000_000)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
                raise ValueError(f"{f.name} must be greater than 0, not {value}")
        if self.proxy_header not in ("x-forwarded-for", "forwarded"):
            raise ValueError("proxy_header must be 'x-forwarded-for' or 'forwarded', "
                             f"not {self.proxy_header!r}")
        proxy_networks(self.trusted_proxies)  # raises ValueError naming a bad entry


#: A `trusted_proxies` range wider than this is almost surely a mistake (warned at start).
WIDEST_PROXY_PREFIX = {4: 16, 6: 48}


def proxy_warnings(entries: Iterable[str]) -> list[str]:
    """What `serve` says at start about `trusted_proxies` ranges too wide to be proxies."""
    return [f"[limits] trusted_proxies: {network} holds {network.num_addresses:,} addresses; each may "
            "claim to be any patron (X-Forwarded-For), so per-address limits and blocks mean little. "
            "List your reverse proxies' own addresses."
            for network in proxy_networks(entries)
            if network.prefixlen < WIDEST_PROXY_PREFIX[network.version]]


def proxy_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`trusted_proxies` as networks; a bad entry raises ValueError naming it."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted_proxies: {entry!r} is not an address or CIDR") from None
    return tuple(networks)
