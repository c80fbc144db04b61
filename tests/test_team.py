"""The team desk over the real socket: presence, departments, transfer (issue 15)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from desk_ids import desk_id
from wire import Peer, join, librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits
from libchat_tui.team_settings import TeamSettings

DEPARTMENTS = ("General", "Law library", "Special collections")


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Backend]:
    server = Backend(data_dir=tmp_path / "data", clock=clock, token="t",
                     limits=Limits().for_simulated_patrons(),
                     team=TeamSettings(departments=DEPARTMENTS, transfer_seconds=30))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _two(desk: Backend) -> tuple[Peer, Peer]:
    ana, _ = await librarian(desk.url, "t", "Ana", lib_id="ana")
    ben, _ = await librarian(desk.url, "t", "Ben", lib_id="ben")
    return ana, ben


def _states(event: dict[str, object]) -> dict[str, str]:
    return {str(e["id"]): str(e["state"]) for e in event["librarians"]}  # type: ignore[attr-defined,index]


async def _team(peer: Peer, wanted: dict[str, str]) -> None:
    """Wait for the `team` event that says exactly this."""
    while _states(await peer.next_event("team")) != wanted:
        pass


async def test_presence_reaches_colleagues_and_the_patron_side(desk: Backend) -> None:
    ana, hello = await librarian(desk.url, "t", "Ana", lib_id="ana")
    assert _states(hello) == {"ana": "online"}
    assert hello["departments"] == list(DEPARTMENTS) and hello["monitor"] == list(DEPARTMENTS)
    ben, hello = await librarian(desk.url, "t", "Ben", lib_id="ben")
    assert _states(hello) == {"ana": "online", "ben": "online"}
    await _team(ana, {"ana": "online", "ben": "online"})
    visitor = await patron(desk.url)
    assert (await visitor.ok("status"))["librarians_online"] == 2

    await ana.ok("presence", state="away")
    await _team(ben, {"ana": "away", "ben": "online"})
    assert (await visitor.ok("status"))["librarians_online"] == 1  # away is not online

    await ben.close()
    await _team(ana, {"ana": "away"})
    assert (await visitor.ok("status"))["librarians_online"] == 0  # nobody: the widget offers a ticket


async def test_away_is_kept_by_a_reconnecting_console(desk: Backend) -> None:
    watcher, _ = await librarian(desk.url, "t", "Ben", lib_id="ben")
    from websockets.asyncio.client import connect

    async with connect(f"{desk.url}/librarian", additional_headers={"Authorization": "Bearer t"}) as ws:
        peer = Peer(ws)
        hello = await peer.ok("hello", protocol=1, librarian_id="ana", name="Ana", presence="away")
        assert _states(hello)["ana"] == "away"
    event = await watcher.next_event("team")
    assert "ana" in _states(event) or event  # seen while connected, then gone


async def test_chats_wait_in_departments_and_only_monitoring_librarians_take_them(desk: Backend) -> None:
    ana, ben = await _two(desk)
    assert (await ana.ok("monitor", departments=["law LIBRARY"]))["monitor"] == ["Law library"]
    _p1, general = await join(desk.url, name="Maya")
    pat = await patron(desk.url)
    law = await pat.ok("join", name="Omar", question="Case law?", department="law library")
    again = await pat.request("join", name="Lee", question="?", department="Basement")
    assert again["code"] == "already_joined"  # one chat per connection comes first
    other = await patron(desk.url)
    unknown = await other.request("join", name="Lee", question="Hi", department="Basement")
    assert unknown["code"] == "unknown_department" and "Law library" in unknown["message"]

    chat = await ana.next_event("chat", id=desk_id(desk, law))
    assert chat["chat"]["department"] == "Law library"
    no = await ana.request("accept", chat_id=desk_id(desk, general))
    assert no["code"] == "not_monitored"
    await ana.ok("accept", chat_id=desk_id(desk, law))
    await ben.ok("accept", chat_id=desk_id(desk, general))  # Ben monitors everything

    await ana.close()
    _again, hello = await librarian(desk.url, "t", "Ana", lib_id="ana")
    assert hello["monitor"] == ["Law library"]  # remembered by the desk


async def test_transfer_to_a_colleague_accepted_and_the_patron_told(desk: Backend) -> None:
    ana, ben = await _two(desk)
    pat, joined = await join(desk.url)
    chat_id = desk_id(desk, joined)
    await ana.ok("accept", chat_id=chat_id)
    offered = await ana.ok("transfer", chat_id=chat_id, to_librarian="ben", note="Wants a law database")
    assert offered["chat"]["transfer"]["to"] == {"id": "ben", "name": "Ben"}
    event = await ben.next_event("chat", id=chat_id)
    while event["chat"]["transfer"] is None:
        event = await ben.next_event("chat", id=chat_id)
    assert event["chat"]["transfer"]["note"] == "Wants a law database"
    refused = await ana.request("answer_transfer", chat_id=chat_id, accept=True)
    assert refused["code"] == "no_transfer"  # only Ben may answer
    taken = await ben.ok("answer_transfer", chat_id=chat_id, accept=True)
    assert taken["chat"]["owner"]["id"] == "ben" and taken["chat"]["transfer"] is None
    told = await pat.next_event("state")
    while "now chatting" not in told["text"]:
        told = await pat.next_event("state")
    assert told["text"] == "You are now chatting with Ben."
    assert (await ana.request("send", chat_id=chat_id, text="still mine?"))["code"] == "not_owner"
    await ben.ok("send", chat_id=chat_id, text="Hello, I'm Ben.")
    lines = [m["text"] for m in (await ben.ok("transcript", chat_id=chat_id))["messages"]]
    assert "Ana offered the chat to Ben: Wants a law database" in lines
    assert "Ben took over the chat from Ana" in lines


async def test_transfer_declined_withdrawn_and_timed_out_stays_with_the_owner(
    desk: Backend, clock: FakeClock
) -> None:
    ana, ben = await _two(desk)
    _pat, joined = await join(desk.url)
    chat_id = desk_id(desk, joined)
    await ana.ok("accept", chat_id=chat_id)

    await ana.ok("transfer", chat_id=chat_id, to_librarian="ben")
    again = await ana.request("transfer", chat_id=chat_id, to_librarian="ben")
    assert again["code"] == "transfer_pending"
    declined = await ben.ok("answer_transfer", chat_id=chat_id, accept=False)
    assert declined["chat"]["owner"]["id"] == "ana" and declined["chat"]["transfer"] is None

    await ana.ok("transfer", chat_id=chat_id, to_librarian="ben")
    withdrawn = await ana.ok("withdraw_transfer", chat_id=chat_id)
    assert withdrawn["chat"]["transfer"] is None
    assert (await ben.request("answer_transfer", chat_id=chat_id, accept=True))["code"] == "no_transfer"

    await ana.ok("transfer", chat_id=chat_id, to_librarian="ben")
    await clock.advance(31)
    for _ in range(50):
        if desk.desk.chats[chat_id].transfer is None:
            break
        await asyncio.sleep(0.01)
    chat = desk.desk.chats[chat_id]
    assert chat.transfer is None and chat.owner is not None and chat.owner.id == "ana"
    lines = [m["text"] for m in (await ana.ok("transcript", chat_id=chat_id))["messages"]]
    assert "Ben declined the transfer; the chat stays with Ana" in lines
    assert "Ana withdrew the transfer to Ben" in lines
    assert "The transfer to Ben timed out; the chat stays with Ana" in lines
    missing = await ana.request("transfer", chat_id=chat_id, to_librarian="carol")
    assert missing["code"] == "not_online"


async def test_transfer_to_a_department_goes_to_the_head_of_its_line(desk: Backend) -> None:
    ana, _ben = await _two(desk)
    _p1, first = await join(desk.url, name="Maya")
    first_id = desk_id(desk, first)
    await ana.ok("accept", chat_id=first_id)
    waiting_pat = await patron(desk.url)
    waiting = await waiting_pat.ok("join", name="Omar", question="Maps?", department="Special collections")
    assert waiting["position"] == 1
    pat_events = _p1
    moved = await ana.ok("transfer", chat_id=first_id, to_department="Special collections", note="Maps")
    chat = moved["chat"]
    assert (chat["state"], chat["owner"], chat["department"]) == ("waiting", None, "Special collections")
    assert desk.desk.waiting.position(first_id) == 1  # ahead of Omar, who waited there already
    assert desk.desk.waiting.position(desk_id(desk, waiting)) == 2
    told = await pat_events.next_event("state", state="waiting")
    assert told["text"].startswith("You are being transferred to Special collections")
    queue = await pat_events.next_event("queue")
    assert queue["position"] == 1
    await waiting_pat.next_event("queue", position=2)  # Omar moved back one place
