"""What the console shows is what it acts on (issue 22): header, transcript, patron panel
and composer always belong to one chat, and typing never turns into commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from desk_ids import desk_id
from textual import events
from ui_support import Toasts, db, make_app, screen_text, state, wait_until
from wire import Peer, join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.team_dialogs import AnswerTransfer
from libchat_tui.ui.widgets.alert_line import AlertLine
from libchat_tui.ui.widgets.chat_pane import ChatPane
from libchat_tui.ui.widgets.transcript_view import TranscriptView


def pane_lines(app) -> str:  # type: ignore[no-untyped-def]
    """The transcript's lines as rendered on the screen (only the pane's region)."""
    view = app.screen.query_one(TranscriptView)
    region = view.content_region
    lines = screen_text(app).splitlines()[region.y: region.bottom]
    return "\n".join(line[region.x: region.right] for line in lines)


async def test_going_back_to_the_first_chat_shows_its_own_transcript(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    # Two chats with transcripts of the same length: the bug kept the other's lines on screen.
    _pa, joined_a = await join(backend.url, name="Alma Ames", question="Where are the atlases?")
    _pb, joined_b = await join(backend.url, name="Bert Bell", question="Do you have Braille books?")
    a, b = desk_id(backend, joined_a), desk_id(backend, joined_b)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: {a, b} <= set(app.model.chats), "both chats listed")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: "atlases" in pane_lines(app), "A's transcript")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: "Braille" in pane_lines(app), "B's transcript")
        pane = app.screen.query_one(ChatPane)
        assert pane.chat is not None and pane.chat.id == b
        await pilot.press("escape", "up")
        await wait_until(pilot, lambda: pane.chat is not None and pane.chat.id == a, "A in the pane")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "atlases" in pane_lines(app), "A's own transcript")
        assert "Braille" not in pane_lines(app)
        await pilot.pause(0.3)
        assert "atlases" in pane_lines(app) and "Braille" not in pane_lines(app)



def burst(app: LibChatApp, keys: list[str]) -> None:
    """Keys as a fast typist (or a paste) sends them: all in the app's queue at once, not one
    at a time with the app idle in between as `pilot.press` does."""
    for key in keys:
        character = key if len(key) == 1 else {"enter": "\r", "tab": "\t"}.get(key)
        app.post_message(events.Key(key, character))


async def next_message(pat: Peer) -> str:
    return str((await pat.next_event("message"))["message"]["text"])


async def test_after_taking_a_transferred_chat_typing_goes_to_the_patron(
        team_desk: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ana, _ = await librarian(team_desk.url, "t", "Ana Reyes", lib_id="ana")
    pat, joined = await join(team_desk.url, name="Lena Law", question="The 1998 code?")
    chat_id = desk_id(team_desk, joined)
    await ana.ok("accept", chat_id=chat_id)
    app = make_app(team_desk, clock, tmp_path, name="Ben Ortiz", librarian_id="ben")
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats and app.model.librarians)
        await ana.ok("transfer", chat_id=chat_id, to_librarian="ben", note="Law question")
        await wait_until(pilot, lambda: app.model.chats[chat_id].transfer is not None, "the offer")
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        dashboard.chat_list.select_chat(chat_id)
        await wait_until(pilot, lambda: dashboard.chat is not None and dashboard.chat.id == chat_id)
        dashboard.pane.transcript.focus()  # where the focus was left when testers took one over
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, AnswerTransfer))
        await pilot.press("y")
        await wait_until(pilot, lambda: app.model.chats[chat_id].owner.id == "ben", "taken over")
        await pilot.press(*"Hi Lena, the code is in storage.", "enter")
        assert await next_message(pat) == "Hi Lena, the code is in storage."
        assert isinstance(app.screen, DashboardScreen)  # no Departments dialog opened by the "d"
        assert app.model.monitor == ["General", "Law library"]


async def test_keys_pressed_on_the_transcript_land_in_the_reply(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Dora", question="Makerspace?")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state(app, chat_id) == "active")
        pane = app.screen.query_one(ChatPane)
        pane.transcript.focus()
        await pilot.press(*"made by xmbdjk", "enter")
        assert await next_message(pat) == "made by xmbdjk"
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen) and not dashboard.chat_list.missed_only


async def test_a_chat_the_patron_leaves_mid_sentence_keeps_the_draft_and_the_focus(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Axel", question="3D printers?")
    _other, _ = await join(backend.url, name="Bo", question="Another question")
    chat_id = desk_id(backend, joined)
    toasts = Toasts()
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")  # Axel asked first: the first row
        await wait_until(pilot, lambda: state(app, chat_id) == "active")
        await pilot.press(*"We have two 3D printers in the ")
        await pat.ok("leave")
        await wait_until(pilot, lambda: state(app, chat_id) == "ended", "the patron left")
        await pilot.press(*"makerspace downstairs")
        pane = app.screen.query_one(ChatPane)
        assert pane.chat is not None and pane.chat.id == chat_id  # no jump to another chat
        assert pane.composer.has_focus
        assert pane.composer.value == "We have two 3D printers in the makerspace downstairs"
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen) and not dashboard.chat_list.missed_only
        await pilot.press("enter")  # not sent, and said so; the text stays
        await wait_until(pilot, lambda: any(t.startswith("Not sent. This chat has ended")
                                            for t in toasts.messages), "why it was not sent")
        assert pane.composer.value == "We have two 3D printers in the makerspace downstairs"
        assert db(backend, "SELECT count(*) FROM messages WHERE text LIKE '%makerspace%'") == [(0,)]


async def test_text_typed_the_instant_a_chat_is_accepted_goes_to_the_reply(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Ivy", question="Hours?")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        burst(app, ["enter", *"hello mjkdxb", "enter"])  # all queued before the accept's ack
        await wait_until(pilot, lambda: state(app, chat_id) == "active", "accepted")
        assert await next_message(pat) == "hello mjkdxb"
        assert state(app, chat_id) == "active"


def alert_line(app: LibChatApp) -> str:
    return app.screen.query_one(AlertLine).text


@pytest.mark.parametrize("size", [(140, 45), (80, 24)])
async def test_alerts_have_a_line_of_their_own_and_cover_nothing(
        backend: Backend, clock: FakeClock, tmp_path: Path, size: tuple[int, int]) -> None:
    _pat, joined = await join(backend.url, name="Rosa Dubois", question="Zotero help?")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state(app, chat_id) == "active")
        await pilot.press("ctrl+e", "y")
        await wait_until(pilot, lambda: state(app, chat_id) == "ended")
        await wait_until(pilot, lambda: "Chat ended by you at" in screen_text(app), "the status line")
        for n in range(3):  # a busy desk: new chats keep coming
            await join(backend.url, name=f"Isabella {n}", question="Do you have primary sources?")
        await wait_until(pilot, lambda: "New chat" in alert_line(app), "the alert")
        text = screen_text(app)
        assert "Chat ended by you at" in text  # the key line is never covered
        assert "Zotero help?" in text  # nor the transcript's first line
        assert alert_line(app).splitlines()[0] in text  # the alert is on screen, on its own line
        if size == (80, 24):
            await pilot.press("escape")
            await wait_until(pilot, lambda: "● NEW          Isabella 0" in screen_text(app), "the list")
            app.notify("A long alert that would have covered the first row " * 3, markup=False)
            await wait_until(pilot, lambda: "A long alert" in alert_line(app), "another alert")
            rows = screen_text(app).splitlines()
            assert any("● NEW" in row and "Isabella 0" in row and "waiting" in row
                       for row in rows[:4])  # the first row, whole


async def test_a_message_drop_or_ticket_in_a_chat_i_am_not_looking_at_alerts_me(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat_a, joined_a = await join(backend.url, name="Una Unseen", question="Census?",
                                 email="una@example.org")
    _pat_b, joined_b = await join(backend.url, name="Vic Viewed", question="Maps?")
    a, b = desk_id(backend, joined_a), desk_id(backend, joined_b)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: {a, b} <= set(app.model.chats))
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: state(app, a) == "active")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: state(app, b) == "active")  # looking at Vic now
        await pat_a.ok("message", text="Are you <b>still</b> there?")
        await wait_until(pilot, lambda: "Una Unseen: Are you <b>still</b> there?" in alert_line(app),
                         "the message alert, as text")
        await pat_a.close()
        await wait_until(pilot, lambda: "Una Unseen lost the connection" in alert_line(app), "the drop")
        # A message in the chat I am looking at alerts nothing: I see it.
        before = alert_line(app)
        await _pat_b.ok("message", text="Thanks")
        await wait_until(pilot, lambda: "Thanks" in screen_text(app))
        assert alert_line(app) == before


async def test_a_burst_into_the_note_dialog_saves_what_was_typed(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    """ctrl+n, the text and ctrl+s in one burst (a paste, a fast typist): one save, with the
    text; the ctrl+s never overtakes the keys before it."""
    _pat, joined = await join(backend.url, name="Rosa")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state(app, chat_id) == "active")
        burst(app, ["ctrl+n", *"Call back Monday", "ctrl+s"])
        await wait_until(pilot, lambda: db(backend, "SELECT text FROM notes") == [("Call back Monday",)],
                         "the note saved, with its text")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dialog closed")


async def test_a_burst_into_the_block_dialog_keeps_the_reason(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    from libchat_tui.ui.screens.block_patron import BlockScreen

    _pat, joined = await join(backend.url, name="Troll")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, BlockScreen), "asks how long and why")
        burst(app, ["tab", *"abusive language", "ctrl+s"])
        await wait_until(pilot, lambda: db(backend, "SELECT reason FROM blocks") == [("abusive language",)],
                         "blocked, with the reason")
