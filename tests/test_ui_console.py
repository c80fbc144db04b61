"""The console under Pilot, on a real backend with a fake clock: the whole lifecycle by keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from desk_ids import desk_id
from ui_support import Toasts, make_app, screen_strips, screen_text, wait_until
from wire import join

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.sanitize import clean
from libchat_tui.ui.badges import hm
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.help import KeyHelp
from libchat_tui.ui.widgets.chat_list import ChatList
from libchat_tui.ui.widgets.composer import Composer


def state_of(app, chat_id: int) -> str:  # type: ignore[no-untyped-def]
    chat = app.model.chats.get(chat_id)
    return "gone" if chat is None else chat.state.value


async def test_accept_send_receive_end_close(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Maya Lin", question="Do you have Beloved by Morrison?")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat on the desk")
        await wait_until(pilot, lambda: "Maya Lin" in screen_text(app), "the row")
        assert "● NEW" in screen_text(app)
        await pilot.press("enter")  # accept from the list
        await wait_until(pilot, lambda: state_of(app, chat_id) == "active", "accepted")
        assert isinstance(app.focused, Composer)
        await wait_until(pilot, lambda: "▶ ACTIVE" in screen_text(app), "green badge")

        await pilot.press(*"Yes, on the 3rd floor.")
        await pilot.press("enter")  # enter in the composer sends
        heard = await pat.next_event("message")
        assert heard["message"]["text"] == "Yes, on the 3rd floor."
        await wait_until(pilot, lambda: "Yes, on the 3rd floor." in screen_text(app), "own line")
        assert app.screen.query_one(Composer).value == ""

        await pat.ok("message", text="Thank you so much")
        await wait_until(pilot, lambda: "Thank you so much" in screen_text(app), "patron's line")

        await pilot.press("ctrl+e")  # end, from the composer
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: state_of(app, chat_id) == "ended", "ended")
        text = screen_text(app)
        assert "■ ENDED" in text
        assert f"Chat ended by you at {hm(clock.now())}" in text
        assert (await pat.next_event("state"))["state"] == "ended"

        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: state_of(app, chat_id) == "gone", "closed and removed")
        await wait_until(pilot, lambda: "Maya Lin" not in screen_text(app), "row gone")


async def test_end_confirmation_can_be_declined(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "active")
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        # A line sent after the "no" reaches the patron: whatever the console sent before it
        # (an End, had it gone out) has been handled by the desk by then.
        await wait_until(pilot, lambda: isinstance(app.focused, Composer), "back in the composer")
        await pilot.press(*"Still here", "enter")
        assert (await pat.next_event("message"))["message"]["text"] == "Still here"
        await wait_until(pilot, lambda: "Still here" in screen_text(app), "own line")
        assert not any(frame["type"] == "state" and frame.get("state") == "ended" for frame in pat.seen)
        assert state_of(app, desk_id(backend, joined)) == "active"


async def test_patron_ends_chat(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Sam")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "active")
        await pat.ok("leave")
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "ended")
        await wait_until(pilot, lambda: f"Chat closed by the patron at {hm(clock.now())}" in screen_text(app))
        assert "■ ENDED" in screen_text(app)


async def test_reconnecting_countdown_back_to_active_then_disconnected(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    pat, joined = await join(backend.url, name="Kim")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_of(app, chat_id) == "active")
        pat.ws.transport.abort()
        await wait_until(pilot, lambda: state_of(app, chat_id) == "reconnecting")
        await wait_until(pilot, lambda: "↻ RECONNECTING" in screen_text(app))
        await wait_until(pilot, lambda: "Patron reconnecting… 60 s left" in screen_text(app))
        await clock.advance(18)
        await wait_until(pilot, lambda: "Patron reconnecting… 42 s left" in screen_text(app), "countdown")

        from wire import patron

        back = await patron(backend.url)
        await back.ok("resume", token=joined["resume_token"], last_message_id=0)
        await wait_until(pilot, lambda: state_of(app, chat_id) == "active", "resumed")
        await wait_until(pilot, lambda: "Patron reconnected" in screen_text(app), "system line")

        back.ws.transport.abort()
        await wait_until(pilot, lambda: state_of(app, chat_id) == "reconnecting")
        await clock.advance(61)
        await wait_until(pilot, lambda: state_of(app, chat_id) == "disconnected", "grace ran out")
        text = screen_text(app)
        assert "✖ DISCONNECTED" in text
        assert f"Patron disconnected at {hm(clock.now())} — offered a ticket" in text


INJECTIONS = [
    "[@click=app.quit]click me[/]",
    "[bold]b[/]",
    "[link=https://evil.example]x[/link]",
    "\x1b]52;c;ZXZpbA==\x07clip",
    "\x1b[2Jwipe",
    "\x9b31mcsi",
    "\x1b]0;title\x07t",
    "rtl\u202eexe.txt",
]


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_injection_payloads_are_shown_literally(
    backend: Backend, clock: FakeClock, tmp_path: Path, payload: str
) -> None:
    pat, joined = await join(backend.url, name=f"N{payload}", question=f"Q{payload}")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "active")
        await pat.ok("message", text=f"M{payload}")
        await wait_until(pilot, lambda: app.model.chats[desk_id(backend, joined)].message_count >= 3)
        # The patron's line on screen, as the sanitiser shows it: the whole chat is drawn.
        await wait_until(pilot, lambda: clean(f"M{payload}") in screen_text(app), "the patron's line")
        for strip in screen_strips(app):
            for segment in strip:
                assert not any(ch in segment.text for ch in "\x1b\x07\x9b\x9d\u202e"), segment
                style = segment.style
                if style is not None:
                    assert not style.link, segment
                    assert "@click" not in str(style.meta), segment
        if payload.startswith("["):
            assert f"M{payload}" in screen_text(app)  # literally, brackets and all
        # Clicking every cell of the screen runs no action (the app is still here).
        await pilot.click(offset=(40, 3))
        await pilot.click(offset=(80, 5))
        assert app.is_running


KEYS = [
    ("ctrl+j", "next waiting chat"),
    ("f1", "help"),
    ("escape", "back to the list"),
]


@pytest.mark.parametrize("where", ["list", "composer"])
async def test_keys_work_from_list_and_composer(
    backend: Backend, clock: FakeClock, tmp_path: Path, where: str
) -> None:
    _a, first = await join(backend.url, name="First")
    _b, second = await join(backend.url, name="Second")
    first_id, second_id = desk_id(backend, first), desk_id(backend, second)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: second_id in app.model.chats)
        await pilot.press("enter")  # accept the longest waiting (First)
        await wait_until(pilot, lambda: state_of(app, first_id) == "active")
        if where == "list":
            await pilot.press("escape")
            assert isinstance(app.focused, ChatList)
        else:
            assert isinstance(app.focused, Composer)
        await pilot.press("ctrl+j")  # next waiting: accepts Second
        await wait_until(pilot, lambda: state_of(app, second_id) == "active", "ctrl+j")
        assert isinstance(app.focused, Composer)
        if where == "list":
            await pilot.press("escape")
        await pilot.press("f1")
        assert "end-chat" in screen_text(app) and "ctrl+e" in screen_text(app), screen_text(app)
        assert "end-chat" in screen_text(app) and "ctrl+e" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "ctrl+e")
        await pilot.press("y")
        await wait_until(pilot, lambda: state_of(app, second_id) == "ended")
        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: state_of(app, second_id) == "gone", "ctrl+w")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks: First is still live")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, "ctrl+q")


async def test_keys_are_remappable_and_footer_follows_state(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    _pat, joined = await join(backend.url)
    app = make_app(backend, clock, tmp_path, config='[keys]\nend-chat = "f10"\n[appearance]\nbell = false\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)
        await wait_until(pilot, lambda: "⏎ Accept" in screen_text(app).splitlines()[-1],
                         "the footer drawn for the waiting chat")
        footer = screen_text(app).splitlines()[-1]
        assert "End chat" not in footer  # a waiting chat cannot be ended
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "active")
        await wait_until(pilot, lambda: "End chat" in screen_text(app).splitlines()[-1], "footer")
        assert "f10" in screen_text(app).splitlines()[-1]
        await pilot.press("ctrl+e")  # the old key does nothing now
        await pilot.press("f1")  # keys are handled in order: help opens once ctrl+e has been
        await wait_until(pilot, lambda: isinstance(app.screen, KeyHelp), "help")
        assert not any(isinstance(screen, Confirm) for screen in app.screen_stack)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f10")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "remapped key")


async def test_palette_offers_only_what_applies(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    _pat, joined = await join(backend.url, name="Pat")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)

        def titles() -> list[str]:
            return [c.title for c in app.get_system_commands(app.screen)]

        await wait_until(pilot, lambda: "Accept chat with Pat" in titles(), "offered: accept")
        assert "End chat" not in titles()
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "active")
        assert "End chat" in titles() and "Close chat" not in titles()


async def test_new_chat_rings_and_toasts_and_unread_clears(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    app = make_app(backend, clock, tmp_path, config="[appearance]\nbell = true\n")
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    toasts = Toasts()
    async with app.run_test(size=(120, 40), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online)
        pat, joined = await join(backend.url, name="Ring [b]me[/b]")
        await wait_until(pilot, lambda: rings, "bell")
        await wait_until(pilot, lambda: any("New chat from Ring [b]me[/b]" in m for m in toasts.messages),
                         "toast")
        _b, other = await join(backend.url, name="Other")
        await wait_until(pilot, lambda: desk_id(backend, other) in app.model.chats)
        await pilot.press("enter")  # accept the first one
        await wait_until(pilot, lambda: state_of(app, desk_id(backend, joined)) == "active")
        await pilot.press("escape", "down")  # highlight the other chat
        await pat.ok("message", text="Are you there?")
        await wait_until(pilot, lambda: app.model.unread.get(desk_id(backend, joined)) == 1, "unread")
        await wait_until(pilot, lambda: "✉ 1 new" in screen_text(app))
        await pilot.press("up")
        await wait_until(pilot, lambda: desk_id(backend, joined) not in app.model.unread, "read")


async def test_whole_hostile_corpus_through_the_app(backend: Backend, clock: FakeClock,
                                                    tmp_path: Path) -> None:
    """Every string of tests/hostile.py as a patron's name, question and message."""
    from hostile import HOSTILE

    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online)
        for text in HOSTILE:
            peer, _ = await join(backend.url, name=("N" + text)[:100], question=("Q" + text)[:2000])
            await peer.ok("message", text=("M" + text)[:4000])
            await peer.close()
        await wait_until(pilot, lambda: len(app.model.chats) == len(HOSTILE), "all chats", timeout=15)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        chat_list = dashboard.query_one(ChatList)

        def in_the_pane() -> bool:
            """The highlighted chat is in the pane with its transcript loaded."""
            shown, chat_id = dashboard.chat, chat_list.chat_id
            return shown is not None and shown.id == chat_id and chat_id in app.model.transcripts \
                and dashboard.query_one("#transcript").entry_count > 0

        for _ in range(len(HOSTILE)):  # show each chat in the pane
            chat_list.action_cursor_down()
            await wait_until(pilot, in_the_pane, "the highlighted chat and its transcript in the pane")
            await pilot.pause()  # and drawn
            for strip in screen_strips(app):
                for segment in strip:
                    assert not any(0x80 <= ord(c) < 0xA0 or (ord(c) < 0x20 and c not in "\n\t")
                                   or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069
                                   for c in segment.text), repr(segment.text)
                    if segment.style is not None:
                        assert not segment.style.link and "@click" not in str(segment.style.meta)
        assert app.is_running
