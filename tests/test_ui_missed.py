"""Missed chats (issue 11): the dashboard lists only them on `m`, and ctrl+l closes them all
after one confirmation with the exact count. Pilot tests on the real app and a real desk;
what was closed is read from the desk's database, not from the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ui_support import Toasts, db, make_app, screen_text, wait_until
from wire import Peer, join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.widgets.chat_list import ChatList


@dataclass
class Desk:
    """Chat ids and patrons' connections by patron name, and Ben, a colleague on the desk."""

    ben: Peer
    ids: dict[str, int] = field(default_factory=dict)
    patrons: dict[str, Peer] = field(default_factory=dict)

    @property
    def missed(self) -> set[int]:
        return {self.ids["Lena Left"], self.ids["Dara Dropped"]}

    @property
    def not_missed(self) -> set[int]:
        return set(self.ids.values()) - self.missed


async def two_missed_and_three_not(backend: Backend, clock: FakeClock, *, dropped: bool = True) -> Desk:
    """Missed: Lena left while waiting; Dara's connection dropped while waiting and the grace
    period ran out. Not missed: Abe, whom Ben is answering; Wanda, waiting; Ansel, whom Ben
    answered before he left (ended, but someone accepted it)."""
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    desk = Desk(ben)

    async def patron(name: str, question: str) -> Peer:
        peer, _joined = await join(backend.url, name=name, question=question)
        # The desk's id, as librarians know it (the patron's own reference is opaque).
        event = await ben.next_event("chat", question=question, state="waiting")
        desk.ids[name] = int(event["chat"]["id"])
        desk.patrons[name] = peer
        return peer

    lena = await patron("Lena Left", "Gave up waiting")
    await lena.ok("leave")
    if dropped:
        dara = await patron("Dara Dropped", "Lost the connection")
        dara.ws.transport.abort()
        await ben.next_event("chat", id=desk.ids["Dara Dropped"], state="reconnecting")
        await clock.advance(61)
        await ben.next_event("chat", id=desk.ids["Dara Dropped"], state="disconnected")
    else:  # a desk that cannot run the grace timer: Dara gives up waiting too
        dara = await patron("Dara Dropped", "Gave up as well")
        await dara.ok("leave")
    ansel = await patron("Ansel Answered", "Answered, then left")
    await ben.ok("accept", chat_id=desk.ids["Ansel Answered"])
    await ansel.ok("leave")
    await patron("Abe Active", "Being answered")
    await ben.ok("accept", chat_id=desk.ids["Abe Active"])
    await patron("Wanda Waiting", "Still waiting")
    return desk


def listed(app: LibChatApp) -> set[int]:
    """The chats whose rows the dashboard's list shows."""
    return {int(option.id) for option in app.screen.query_one(ChatList).options if option.id is not None}


def palette(app: LibChatApp) -> list[str]:
    return [command.title for command in app.get_system_commands(app.screen)]


def closed(backend: Backend) -> set[int]:
    """The chats the desk stored as closed."""
    return {row[0] for row in db(backend, "SELECT id FROM chats WHERE state = 'closed'")}


def asked(app: LibChatApp, count: int) -> bool:
    """The confirmation is on screen, every word of it (it wraps inside its box)."""
    box = [line.split("█")[1] for line in screen_text(app).splitlines() if line.count("█") >= 2]
    words = " ".join(" ".join(box).split())
    return f"Close {count} missed chats? They leave the dashboard; they stay in History." in words


async def on_the_desk(pilot: Any, app: LibChatApp, desk: Desk) -> None:
    await wait_until(pilot, lambda: set(app.model.chats) == set(desk.ids.values()), "every chat")
    await wait_until(pilot, lambda: listed(app) == set(desk.ids.values()), "every chat listed")


async def test_the_missed_filter_lists_only_missed_chats_and_says_how_many(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    desk = await two_missed_and_three_not(backend, clock)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_the_desk(pilot, app, desk)
        assert "Missed:" not in screen_text(app)
        assert "Missed chats only" in palette(app) and "All chats" not in palette(app)
        assert "Close all missed chats" in palette(app)

        await pilot.press("m")
        await wait_until(pilot, lambda: listed(app) == desk.missed, "only the missed chats")
        text = screen_text(app)
        assert "Missed: 2" in text.splitlines()[1]  # the list's border title, in words
        assert "Lena Left" in text and "Dara Dropped" in text
        for name in ("Abe Active", "Wanda Waiting", "Ansel Answered"):
            assert name not in text, name
        assert "m All chats" in text.splitlines()[-1]  # the footer says the way back
        assert "All chats" in palette(app) and "Missed chats only" not in palette(app)

        # A patron who gives up while the filter is on joins the list, and the count.
        await desk.patrons["Wanda Waiting"].ok("leave")
        await wait_until(pilot, lambda: listed(app) == desk.missed | {desk.ids["Wanda Waiting"]},
                         "Wanda is missed now")
        await wait_until(pilot, lambda: "Missed: 3" in screen_text(app), "the count follows")

        await pilot.press("m")
        await wait_until(pilot, lambda: listed(app) == set(desk.ids.values()), "all chats again")
        assert "Missed:" not in screen_text(app) and "Abe Active" in screen_text(app)


async def test_close_all_missed_asks_with_the_count_and_closes_exactly_those(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    desk = await two_missed_and_three_not(backend, clock)
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
        await on_the_desk(pilot, app, desk)
        await pilot.press("m", "ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks first")
        assert app.screen.question == "Close 2 missed chats? They leave the dashboard; they stay in History."
        await wait_until(pilot, lambda: asked(app, 2), "the whole question on screen, not cut off")
        await pilot.press("y")
        await wait_until(pilot, lambda: "Closed 2 missed chats." in toasts.messages, "one toast")
        assert closed(backend) == desk.missed
        closes = db(backend, "SELECT chat_id FROM state_events WHERE action = 'close' ORDER BY chat_id")
        assert [row[0] for row in closes] == sorted(desk.missed)  # one close each, no more
        assert not [t for t in toasts.titles if t == "Refused"]
        await wait_until(pilot, lambda: set(app.model.chats) == desk.not_missed, "gone from the dashboard")
        await wait_until(pilot, lambda: "No missed chats." in screen_text(app), "the empty list says so")
        assert "Missed: 0" in screen_text(app)
        assert "Close all missed chats" not in palette(app)  # nothing left to close
        await pilot.press("ctrl+j")  # back to work: the next waiting chat, in the whole list
        await wait_until(pilot, lambda: app.model.chats[desk.ids["Wanda Waiting"]].owner is not None,
                         "Wanda accepted")
        assert listed(app) == desk.not_missed and "Missed:" not in screen_text(app)
    assert {row[0] for row in db(backend, "SELECT id FROM chats WHERE state != 'closed'")} == desk.not_missed


async def test_cancelling_closes_nothing(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    desk = await two_missed_and_three_not(backend, clock)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_the_desk(pilot, app, desk)
        for no in ("n", "escape"):
            await pilot.press("ctrl+l")
            await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks first")
            await pilot.press(no)
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "answered no")
        # A command behind any close that could have been sent on the same connection.
        assert await app.request("transcript", chat_id=desk.ids["Lena Left"]) is not None
        assert app.client is not None and app.client.queued == 0
        assert closed(backend) == set()
        assert set(app.model.chats) == set(desk.ids.values())


async def test_a_chat_closed_meanwhile_is_reported_in_the_same_toast(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    desk = await two_missed_and_three_not(backend, clock)
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
        await on_the_desk(pilot, app, desk)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks first")
        assert app.screen.question.startswith("Close 2 missed chats?")
        # While the question is open, Ben closes Lena's chat himself.
        await desk.ben.ok("close", chat_id=desk.ids["Lena Left"])
        await pilot.press("y")
        await wait_until(pilot, lambda: any(m.startswith("Closed 1 of 2; 1 could not be closed: ")
                                            for m in toasts.messages), "one toast with the refusal")
        [said] = [m for m in toasts.messages if m.startswith("Closed")]
        assert f"chat {desk.ids['Lena Left']} " in said.lower()  # the desk's reason, naming it
        reason = f"chat {desk.ids['Lena Left']} "
        assert sum(reason in m.lower() for m in toasts.messages) == 1  # no toast of its own
        assert closed(backend) == desk.missed


async def test_offline_the_closes_are_queued_said_and_sent_when_the_desk_is_back(
        tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    port = backend.port
    desk = await two_missed_and_three_not(backend, clock, dropped=False)
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    try:
        async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
            await on_the_desk(pilot, app, desk)
            await backend.stop()
            await wait_until(pilot, lambda: app.status.state == "offline", "offline")
            await pilot.press("ctrl+l")
            await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks offline too")
            assert app.screen.question.startswith("Close 2 missed chats?")
            await pilot.press("y")
            await wait_until(pilot, lambda: any(m.startswith("Offline: 2 close commands queued")
                                                for m in toasts.messages), "says they are queued")
            assert app.client is not None and app.client.queued == 2
            assert "Close all missed chats" not in palette(app)  # already on their way

            backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t", port=port)
            await backend.start()
            await wait_until(pilot, lambda: app.status.state == "online", "back", timeout=15)
            await wait_until(pilot, lambda: "Closed 2 missed chats." in toasts.messages,
                             "the outcome once the desk answered")
            assert closed(backend) == desk.missed
    finally:
        await backend.stop()


async def test_the_list_and_the_filter_label_at_80_by_24(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    desk = await two_missed_and_three_not(backend, clock)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_the_desk(pilot, app, desk)
        await pilot.press("m")
        await wait_until(pilot, lambda: listed(app) == desk.missed, "only the missed chats")
        await wait_until(pilot, lambda: "Missed: 2" in screen_text(app), "the label")
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and "Missed: 2" in lines[1]
        assert any("Lena Left" in line for line in lines) and any("Dara Dropped" in line for line in lines)
        assert "m All chats" in lines[-1]
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: asked(app, 2), "the whole question on screen, not cut off")
        await pilot.press("y")
        await wait_until(pilot, lambda: "No missed chats." in screen_text(app), "the empty list says so")
        assert "Missed: 0" in screen_text(app).splitlines()[1]
