"""Dismiss and block (issue 15): spam is dismissed with a reason; a blocked patron's chat
ends and new chats from the same address or browser are refused at the door until the
block expires or is lifted. The real desk over real sockets (patrons from several
loopback addresses), and the real console under Pilot; what happened is read from the
desk's database and from what the patron was told.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from desk_ids import desk_id
from ui_support import Toasts, db, make_app, screen_text, wait_until
from websockets.asyncio.client import connect
from wire import Peer, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.block_dismiss import DismissScreen
from libchat_tui.ui.screens.block_list import BlocksScreen
from libchat_tui.ui.screens.block_patron import BlockScreen
from libchat_tui.ui.screens.chat_record import ChatRecordScreen
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.widgets.chat_list import ChatList

REFUSED = "This chat service is not available to you right now. Please e-mail the library."
MAYA = "browser-maya-0001"


async def patron_from(backend: Backend, address: str, client: str | None = None) -> Peer:
    """A patron connection from a loopback address (127.0.0.2, 127.0.0.3, ...), optionally
    with the widget's browser id in the URL."""
    query = f"?client={client}" if client else ""
    return Peer(await connect(f"{backend.url}/patron{query}", local_addr=(address, 0)))


async def ask(backend: Backend, address: str, client: str | None = None, name: str = "Maya",
              **fields: Any) -> tuple[Peer, dict[str, Any]]:
    """Join from `address`; returns the connection and the raw reply (ack or error)."""
    peer = await patron_from(backend, address, client)
    reply = await peer.request("join", name=name, question="Is the library open on Sunday?", **fields)
    return peer, reply


async def joined(backend: Backend, address: str, client: str | None = None,
                 name: str = "Maya") -> tuple[Peer, dict[str, Any], int]:
    peer, reply = await ask(backend, address, client, name=name)
    assert reply["type"] == "ack", reply
    return peer, reply["result"], desk_id(backend, reply["result"])


def refused(reply: dict[str, Any]) -> bool:
    return reply["type"] == "error" and reply["code"] == "blocked" and reply["message"] == REFUSED


def chat_count(backend: Backend) -> int:
    return int(db(backend, "SELECT COUNT(*) FROM chats")[0][0])


# --- dismiss --------------------------------------------------------------------------


async def test_dismiss_closes_a_waiting_chat_keeps_the_reason_and_tells_the_patron(
        backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    maya, got, chat_id = await joined(backend, "127.0.0.2")

    result = await ana.ok("dismiss", chat_id=chat_id, reason="  Spam:\nlinks to\ta shop ")
    assert result["chat"]["state"] == "closed"
    assert result["chat"]["dismissed"] == "Spam: links to a shop"  # one line
    told = await maya.next_event("state")
    assert told == {"type": "state", "state": "closed", "text": "This chat was closed by the library.",
                    "by": "", "at": told["at"]}  # no librarian's name
    seen = await ben.next_event("chat", id=chat_id, state="closed")
    assert seen["chat"]["dismissed"] == "Spam: links to a shop"
    assert seen["chat"]["last_change"]["action"] == "dismiss"

    stored = json.loads(db(backend, "SELECT data FROM chats WHERE id=?", chat_id)[0][0])
    assert stored["dismissed"] == "Spam: links to a shop" and stored["state"] == "closed"
    record = await ben.ok("transcript", chat_id=chat_id)
    assert record["chat"]["dismissed"] == "Spam: links to a shop"
    assert "Dismissed by Ana: Spam: links to a shop" in [m["text"] for m in record["messages"]]
    patron_copy = await maya.ok("transcript")  # the patron never sees the reason
    assert all("Spam" not in m["text"] for m in patron_copy["messages"])

    again = await patron_from(backend, "127.0.0.2")  # a dismissed chat is closed: no resume
    assert (await again.request("resume", token=got["resume_token"]))["code"] == "bad_resume_token"
    assert (await ask(backend, "127.0.0.2"))[1]["type"] == "ack"  # and nobody is blocked


async def test_only_a_chat_nobody_accepted_can_be_dismissed(backend: Backend, clock: FakeClock) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    _, _, answered = await joined(backend, "127.0.0.2")
    await ana.ok("accept", chat_id=answered)
    refusal = await ana.request("dismiss", chat_id=answered, reason="spam")
    assert refusal["code"] == "illegal_transition" and "active" in refusal["message"]

    dropped, _, dropped_id = await joined(backend, "127.0.0.3", name="Dara")  # dropped while waiting
    await dropped.close()
    await ana.next_event("chat", id=dropped_id, state="reconnecting")
    assert (await ana.ok("dismiss", chat_id=dropped_id, reason="test"))["chat"]["state"] == "closed"

    await clock.advance(1)
    assert (await ana.request("dismiss", chat_id=dropped_id, reason="spam"))["code"] == "unknown_chat"
    assert [row[0] for row in db(backend, "SELECT action FROM state_events WHERE chat_id=? AND "
                                          "action='dismiss'", dropped_id)] == ["dismiss"]


# --- block ----------------------------------------------------------------------------


async def test_a_blocked_patron_is_refused_at_the_door_by_address_and_by_browser(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    maya, got, chat_id = await joined(backend, "127.0.0.2", MAYA)
    await ana.ok("accept", chat_id=chat_id)
    await maya.next_event("state", state="active")
    assert (await ben.request("block", chat_id=chat_id, minutes=60, reason="x"))["code"] == "not_owner"

    result = await ana.ok("block", chat_id=chat_id, minutes=60, reason="Abusive language")
    block = result["block"]
    assert result["chat"]["state"] == "ended"
    assert set(block) == {"id", "chat_id", "patron_name", "address", "browser", "reason", "created_by",
                          "created_at", "until"}  # the browser id itself stays on the desk
    assert block["address"] == "127.0.0.2" and block["browser"] is True and block["chat_id"] == chat_id
    assert block["patron_name"] == "Maya" and block["created_by"] == "Ana"
    assert block["until"] == "2026-11-28T15:00:00.000+00:00"
    told = await maya.next_event("state")
    assert (told["state"], told["text"], told["by"]) == ("ended", "The library has ended this chat.", "")
    line = await ben.next_event("message", chat_id=chat_id, sender="system")  # after the accept line
    line = await ben.next_event("message", chat_id=chat_id, sender="system")
    assert line["message"]["text"] == "Patron blocked by Ana for 1 hour: Abusive language"

    before = chat_count(backend)
    assert refused((await ask(backend, "127.0.0.2"))[1])  # the same address, no browser id
    assert refused((await ask(backend, "127.0.0.3", MAYA))[1])  # the same browser, another address
    assert refused((await ask(backend, "127.0.0.3", client_id=MAYA))[1])  # ... said in `join`
    assert refused((await ask(backend, "127.0.0.3", MAYA.upper()))[1])  # ... in another case (issue 22)
    assert refused((await ask(backend, "127.0.0.3", client_id=f" {MAYA.upper()} "))[1])
    rated = await maya.request("rate", stars=1, comment="you blocked me, here is more abuse")
    assert rated["type"] == "error" and rated["code"] == "blocked"  # nothing more is taken from them
    offline = await patron_from(backend, "127.0.0.2")
    ticket = await offline.request("offline_ticket", name="Maya", email="maya@example.org", question="Hi")
    assert refused(ticket)
    assert chat_count(backend) == before  # a refusal writes nothing
    assert (await ask(backend, "127.0.0.3", "browser-other-0002"))[1]["type"] == "ack"
    assert (await ask(backend, "127.0.0.4"))[1]["type"] == "ack"

    # The ended chat still opens read-only after a reload; it takes no more messages.
    back = await patron_from(backend, "127.0.0.2", MAYA)
    resumed = await back.ok("resume", token=got["resume_token"])
    assert resumed["state"] == "ended"
    assert (await back.request("message", text="let me in"))["code"] == "illegal_transition"
    assert (await back.request("join", name="Maya", question="again?"))["code"] == "already_joined"


async def test_a_block_expires_with_the_desk_clock(backend: Backend, clock: FakeClock) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    _, _, chat_id = await joined(backend, "127.0.0.2")
    await ana.ok("block", chat_id=chat_id, minutes=60, reason="spam bot")  # nobody accepted it
    await clock.advance(3599)
    assert refused((await ask(backend, "127.0.0.2"))[1])
    assert len((await ana.ok("blocks"))["blocks"]) == 1
    await clock.advance(1)
    assert (await ask(backend, "127.0.0.2"))[1]["type"] == "ack"
    assert (await ana.ok("blocks"))["blocks"] == []
    assert (await ana.request("unblock", block_id=1))["code"] == "unknown_block"


async def test_unblock_lifts_a_block_exactly_once(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    _, _, first = await joined(backend, "127.0.0.2", name="Maya")
    _, _, second = await joined(backend, "127.0.0.3", name="Sam")
    one = (await ana.ok("block", chat_id=first, minutes=24 * 60, reason="abusive"))["block"]
    two = (await ana.ok("block", chat_id=second, minutes=60, reason="spam"))["block"]
    listed = (await ben.ok("blocks"))["blocks"]
    assert [b["id"] for b in listed] == [two["id"], one["id"]]  # newest first
    assert listed[1] == one

    lifted = await ben.ok("unblock", id="lift-1", block_id=one["id"])
    assert lifted["block"]["lifted_by"] == "Ben" and lifted["block"]["id"] == one["id"]
    assert await ben.ok("unblock", id="lift-1", block_id=one["id"], retry=True) == lifted  # the same ack
    rows = db(backend, "SELECT lifted_by FROM blocks ORDER BY id")
    assert rows == [("Ben",), (None,)]
    refusal = await ana.request("unblock", block_id=one["id"])
    assert refusal["code"] == "unknown_block" and "already lifted by Ben" in refusal["message"]
    assert (await ana.request("unblock", block_id=999))["code"] == "unknown_block"

    assert (await ask(backend, "127.0.0.2"))[1]["type"] == "ack"  # welcome again
    assert refused((await ask(backend, "127.0.0.3"))[1])  # the other block holds
    assert [b["id"] for b in (await ana.ok("blocks"))["blocks"]] == [two["id"]]


async def test_a_retried_block_is_applied_once(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    _, _, chat_id = await joined(backend, "127.0.0.2")
    first = await ana.ok("block", id="block-1", chat_id=chat_id, minutes=60, reason="spam")
    again = await ana.ok("block", id="block-1", chat_id=chat_id, minutes=60, reason="spam", retry=True)
    assert again == first
    assert db(backend, "SELECT COUNT(*) FROM blocks") == [(1,)]
    assert db(backend, "SELECT COUNT(*) FROM state_events WHERE action='block'") == [(1,)]
    dismissed = await ana.ok("dismiss", id="dismiss-1",
                             chat_id=(await joined(backend, "127.0.0.3"))[2], reason="test")
    assert await ana.ok("dismiss", id="dismiss-1", chat_id=dismissed["chat"]["id"], reason="test",
                        retry=True) == dismissed


async def test_limits_on_reason_and_minutes(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    _, _, chat_id = await joined(backend, "127.0.0.2")
    assert (await ana.request("block", chat_id=chat_id, minutes=60, reason="x" * 501))["code"] == "too_long"
    blank = await ana.request("block", chat_id=chat_id, minutes=60, reason=" \n ")
    assert blank["type"] == "error" and blank["code"] in ("invalid_field", "empty_text")
    for minutes in (0, 30 * 24 * 60 + 1, "60", None):
        assert (await ana.request("block", chat_id=chat_id, minutes=minutes, reason="spam"))["code"] == \
            "invalid_field", minutes
    assert (await ana.request("dismiss", chat_id=chat_id, reason="y" * 501))["code"] == "too_long"
    assert (await ana.request("unblock", block_id=0))["code"] == "invalid_field"
    assert db(backend, "SELECT COUNT(*) FROM blocks") == [(0,)]
    longest = await ana.ok("block", chat_id=chat_id, minutes=30 * 24 * 60, reason="z" * 500)
    assert longest["block"]["until"] == "2026-12-28T14:00:00.000+00:00"


async def test_blocks_survive_a_desk_restart(tmp_path: Path, clock: FakeClock) -> None:
    def desk() -> Backend:
        return Backend(data_dir=tmp_path / "data", clock=clock, token="t",
                       limits=Limits().for_simulated_patrons())

    backend = desk()
    await backend.start()
    try:
        ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
        _, _, chat_id = await joined(backend, "127.0.0.2", MAYA)
        await ana.ok("accept", chat_id=chat_id)
        await ana.ok("block", chat_id=chat_id, minutes=60, reason="abusive")
    finally:
        await backend.stop()
    await clock.advance(600)
    backend = desk()
    await backend.start()
    try:
        assert refused((await ask(backend, "127.0.0.2"))[1])
        assert refused((await ask(backend, "127.0.0.3", MAYA))[1])
        ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
        assert [b["reason"] for b in (await ana.ok("blocks"))["blocks"]] == ["abusive"]
        await clock.advance(3000)
        assert (await ask(backend, "127.0.0.2"))[1]["type"] == "ack"
    finally:
        await backend.stop()


# --- the console ----------------------------------------------------------------------


def listed(app: LibChatApp) -> set[int]:
    return {int(o.id) for o in app.screen.query_one(ChatList).options if o.id is not None}


def palette(app: LibChatApp) -> list[str]:
    return [command.title for command in app.get_system_commands(app.screen)]


async def highlight(pilot: Any, app: LibChatApp, chat_id: int) -> None:
    """The chat on the dashboard, highlighted and shown in the pane."""
    await wait_until(pilot, lambda: chat_id in listed(app), "the chat listed")
    dashboard = app.screen
    assert isinstance(dashboard, DashboardScreen)
    dashboard.chat_list.select_chat(chat_id)
    await wait_until(pilot, lambda: dashboard.chat is not None and dashboard.chat.id == chat_id, "shown")


async def test_dismiss_from_the_keyboard_with_a_reason(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    maya, _, chat_id = await joined(backend, "127.0.0.2", name="Maya [b]Bold[/b]")
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
        await highlight(pilot, app, chat_id)
        assert "x Dismiss" in screen_text(app).splitlines()[-1]  # the footer offers it
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, DismissScreen), "asks why")
        assert "Dismiss the chat from Maya [b]Bold[/b]" in screen_text(app)  # a name is not markup
        await pilot.press("escape")  # cancelling changes nothing
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
        assert app.model.chats[chat_id].state.value == "waiting"

        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, DismissScreen), "asks again")
        await pilot.press("2", "tab", *"from the training room", "enter")  # Test chat, with details
        await wait_until(pilot, lambda: "Dismissed the chat from Maya [b]Bold[/b]." in toasts.messages,
                         "says it is done")
        await wait_until(pilot, lambda: chat_id not in listed(app), "gone from the dashboard")
        stored = json.loads(db(backend, "SELECT data FROM chats WHERE id=?", chat_id)[0][0])
        assert stored["state"] == "closed" and stored["dismissed"] == "Test chat: from the training room"
        assert (await maya.next_event("state"))["state"] == "closed"

        app.push_screen(ChatRecordScreen(chat_id))
        await wait_until(pilot, lambda: "Dismissed: Test chat: from the training room" in screen_text(app),
                         "the record says so")
        assert "Dismissed by Ana: Test chat: from the training room" in screen_text(app)


async def test_block_with_a_duration_from_the_keyboard(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    maya, _, chat_id = await joined(backend, "127.0.0.2", MAYA)
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
        await highlight(pilot, app, chat_id)
        await pilot.press("enter")  # accept: Ana is answering Maya
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "active", "accepted")
        assert "Dismiss" not in palette(app)  # an accepted chat is ended, not dismissed
        await pilot.press("escape", "b")  # from the composer back to the list; b blocks
        await wait_until(pilot, lambda: isinstance(app.screen, BlockScreen), "asks how long and why")
        screen = app.screen
        assert isinstance(screen, BlockScreen)
        assert screen.question == ("Block Maya for 1 day? Their chat ends now, and new chats from the "
                                   "same browser or address are refused until "
                                   f"{(clock.now() + timedelta(days=1)).astimezone():%H:%M} tomorrow.")
        await pilot.press("3")  # 7 days
        week = (clock.now() + timedelta(days=7)).astimezone()
        await wait_until(pilot, lambda: "Block Maya for 7 days?" in screen_text(app), "the question follows")
        assert f" {week.day} {week:%b} {week:%H:%M}." in screen.question
        await pilot.press("ctrl+s")  # no reason yet: asks for one, blocks nothing
        await wait_until(pilot, lambda: "Say why" in screen_text(app), "a reason is needed")
        assert db(backend, "SELECT COUNT(*) FROM blocks") == [(0,)]
        await pilot.press(*"abusive language", "ctrl+s")
        await wait_until(pilot, lambda: any(m.startswith("Blocked Maya until") for m in toasts.messages),
                         "says until when")
        [said] = [m for m in toasts.messages if m.startswith("Blocked Maya")]
        assert "address 127.0.0.2 or the same browser" in said
        assert db(backend, "SELECT reason, until, created_by FROM blocks") == [
            ("abusive language", "2026-12-05T14:00:00.000+00:00", "Ana")]
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "ended", "the chat ended")
        assert (await maya.next_event("state", state="ended"))["text"] == "The library has ended this chat."
        assert "Block" not in palette(app)  # nothing left to block
    assert refused((await ask(backend, "127.0.0.2"))[1])


async def test_lift_a_block_from_the_blocks_screen(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    _, _, first = await joined(backend, "127.0.0.2", name="Maya")
    _, _, second = await joined(backend, "127.0.0.3", name="Sam")
    hostile = "[red]boom[/red] \x1b[2J☃"
    await ben.ok("block", chat_id=first, minutes=60, reason="spam")
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: first in app.model.chats, "the desk")
        assert "Blocks" in palette(app)
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, BlocksScreen), "the blocks")
        await wait_until(pilot, lambda: "1 in force" in screen_text(app), "one block")
        # A block made on another console appears as its chat ends.
        await ben.ok("block", chat_id=second, minutes=24 * 60, reason=hostile)
        await wait_until(pilot, lambda: "2 in force" in screen_text(app), "two blocks")
        text = screen_text(app)
        assert "127.0.0.2" in text and "127.0.0.3" in text
        assert "Block #1 on Maya" in text  # the highlight stayed on the block it was on
        await pilot.press("up")  # the newest: Sam's, in full below
        await wait_until(pilot, lambda: "Block #2 on Sam" in screen_text(app), "Sam's block in full")
        # Inert: the brackets are shown, not taken as markup; the escape sequence is gone.
        assert "Reason: [red]boom[/red] ☃" in screen_text(app)
        await pilot.press("down")  # Maya's block
        await wait_until(pilot, lambda: "Block #1 on Maya" in screen_text(app), "Maya's block in full")
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks first")
        assert app.screen.question == ("Lift the block on Maya? New chats from address 127.0.0.2 are "
                                       "accepted again. (y/n)")
        await pilot.press("y")
        await wait_until(pilot, lambda: "1 in force" in screen_text(app), "one left")
        assert any(m.startswith("Block on Maya lifted") for m in toasts.messages)
        assert db(backend, "SELECT id, lifted_by FROM blocks ORDER BY id") == [(1, "Ana"), (2, None)]
        assert "127.0.0.2" not in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")
    assert (await ask(backend, "127.0.0.2"))[1]["type"] == "ack"
    assert refused((await ask(backend, "127.0.0.3"))[1])


async def test_the_keys_apply_only_where_the_desk_allows_them(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    _, _, bens = await joined(backend, "127.0.0.2", name="Bea")
    await ben.ok("accept", chat_id=bens)
    _, _, waiting = await joined(backend, "127.0.0.3", name="Wes")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await highlight(pilot, app, bens)  # Ben's chat: Ana may neither dismiss nor block it
        assert "Dismiss" not in palette(app) and "Block" not in palette(app)
        await pilot.press("x", "b")
        assert isinstance(app.screen, DashboardScreen)
        await highlight(pilot, app, waiting)
        assert {"Dismiss", "Block", "Blocks"} <= set(palette(app))
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, BlockScreen), "the block dialog at 80x24")
        text = screen_text(app)
        for shown in ("Block Wes", "1 hour", "30 days", "Why", "Block Wes for 1 day?", "ctrl+s"):
            assert shown in text, shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "cancelled")
    assert db(backend, "SELECT COUNT(*) FROM blocks") == [(0,)]
