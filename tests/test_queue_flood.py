"""A flood of chats cannot bury the desk's line (issue 22): the line has a desk-wide cap
with an honest answer and the offline form, places are told coalesced, and a browser is
counted however it names itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from websockets.asyncio.client import connect
from wire import Peer, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits


async def ask(backend: Backend, address: str, **fields: object) -> tuple[Peer, dict[str, object]]:
    peer = Peer(await connect(f"{backend.url}/patron", local_addr=(address, 0)))
    reply = await peer.request("join", name="Flood", question="buy now", **fields)
    return peer, reply


async def test_a_full_line_refuses_honestly_and_the_patron_can_leave_a_ticket(
        tmp_path: Path, clock: FakeClock) -> None:
    async with Backend(data_dir=tmp_path, clock=clock, token="t",
                       limits=Limits(waiting_chats_total=3)) as backend:
        for n in range(3):
            _peer, reply = await ask(backend, f"127.0.0.{n + 2}")
            assert reply["type"] == "ack"
        peer, refused = await ask(backend, "127.0.0.9")
        assert refused["type"] == "error" and refused["code"] == "queue_full"
        assert "leave your question" in str(refused["message"])
        assert len(backend.desk.waiting) == 3  # nothing was stored for the refused one
        ticket = await peer.request("offline_ticket", name="Real Patron", email="real@example.org",
                                    question="Do you have the 1901 census?")
        assert ticket["type"] == "ack"
        lib, _ = await librarian(backend.url, "t", "Ana")
        first = next(iter(backend.desk.waiting._key_of))
        await lib.ok("accept", chat_id=first)  # a place frees up: joins are taken again
        assert (await ask(backend, "127.0.0.10"))[1]["type"] == "ack"


async def test_the_browser_limit_counts_the_join_field_too(tmp_path: Path, clock: FakeClock) -> None:
    async with Backend(data_dir=tmp_path, clock=clock, token="t",
                       limits=Limits(new_chats_per_client=2)) as backend:
        for n in range(2):
            assert (await ask(backend, f"127.0.0.{n + 2}", client_id="flood-browser"))[1]["type"] == "ack"
        _peer, refused = await ask(backend, "127.0.0.5", client_id="FLOOD-BROWSER")
        assert refused["type"] == "error" and refused["code"] == "rate_limited"


async def test_places_are_told_once_per_burst(tmp_path: Path, clock: FakeClock) -> None:
    async with Backend(data_dir=tmp_path, clock=clock, token="t",
                       limits=Limits().for_simulated_patrons()) as backend:
        peers = [(await ask(backend, "127.0.0.2"))[0] for _ in range(30)]
        last = peers[-1]
        await last.next_event("queue", position=30)
        lib, _ = await librarian(backend.url, "t", "Ana")
        ids = sorted(backend.desk.waiting._key_of)[:20]
        await asyncio.gather(*(lib.ok("dismiss", chat_id=chat_id, reason="spam") for chat_id in ids))
        await last.next_event("queue", position=10)
        await lib.ok("accept", chat_id=sorted(backend.desk.waiting._key_of)[0])
        await last.next_event("queue", position=9)  # so every place told before it has arrived
        told = [e["position"] for e in last.seen if e["type"] == "queue"]
        assert told[-2:] == [10, 9] and len(told) <= 5, told  # not one frame per dismissed chat


async def test_blocking_a_patron_clears_their_other_waiting_chats(tmp_path: Path, clock: FakeClock) -> None:
    async with Backend(data_dir=tmp_path, clock=clock, token="t",
                       limits=Limits().for_simulated_patrons()) as backend:
        flood = [await ask(backend, "127.0.0.2") for _ in range(5)]
        _other, elsewhere = await ask(backend, "127.0.0.3")
        assert all(reply["type"] == "ack" for _peer, reply in [*flood, (None, elsewhere)])
        lib, _ = await librarian(backend.url, "t", "Ana")
        first = min(backend.desk.waiting._key_of)
        result = await lib.ok("block", chat_id=first, minutes=60, reason="spam flood")
        assert len(result["dismissed"]) == 4
        assert len(backend.desk.waiting) == 1  # only the other address's chat still waits
        told = await flood[-1][0].next_event("state")
        assert told["state"] == "closed"
