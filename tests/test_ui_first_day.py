"""What a librarian hits on the first day (issue 11), and queued messages (issue 13), as
Pilot tests on the real app and a real desk: double saves, saving offline, forms that
keep edits, the 80x24 terminal, toasts, visible control state, timers and confirmations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desk_ids import desk_id
from textual import events
from textual.widgets import Checkbox, Input, Select, TextArea
from ui_support import Toasts, db, make_app, screen_text, state, wait_until
from wire import join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.analytics_form import AnalyticsScreen
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.help import KeyHelp
from libchat_tui.ui.screens.note import NoteScreen
from libchat_tui.ui.screens.ticket_form import TicketScreen


async def accepted(pilot: Any, app: LibChatApp, backend: Backend, **patron: Any) -> tuple[Any, int]:
    pat, joined = await join(backend.url, **patron)
    chat_id = int(desk_id(backend, joined))
    await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat on the desk")
    await pilot.press("enter")
    await wait_until(pilot, lambda: state(app, chat_id) == "active", "accepted")
    return pat, chat_id


async def still_on_the_dashboard(pilot: Any, app: LibChatApp) -> None:
    """Every key pressed so far has been handled, and the dashboard is still there."""
    await pilot.press("f1")
    await wait_until(pilot, lambda: isinstance(app.screen, KeyHelp), "help over the dashboard")
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
    assert "waiting" in screen_text(app).splitlines()[0]  # the desk bar: not a blank console


# --- 1. ctrl+s twice -------------------------------------------------------------------------


async def test_ctrl_s_twice_saves_once_and_closes_once(backend: Backend, clock: FakeClock,
                                                     tmp_path: Path) -> None:
    sent: list[str] = []
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        _pat, _chat_id = await accepted(pilot, app, backend, name="Maya", email="maya@example.edu")
        client = app.client
        assert client is not None
        real = client.command

        async def counting(type_: str, **fields: Any) -> dict[str, Any]:
            sent.append(type_)
            result = await real(type_, **fields)
            if type_ in ("note", "create_ticket", "save_analytics"):
                # The librarian presses ctrl+s again just as the desk's answer arrives.
                app.post_message(events.Key("ctrl+s", None))
            return result

        client.command = counting  # type: ignore[method-assign]

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen), "note")
        await pilot.press(*"Checked WorldCat", "ctrl+s", "ctrl+s", "ctrl+s")
        await wait_until(pilot, lambda: db(backend, "SELECT COUNT(*) FROM notes") == [(1,)], "stored")
        await still_on_the_dashboard(pilot, app)

        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketScreen), "ticket")
        form = app.screen
        await wait_until(pilot, lambda: "Checked" not in form.query_one("#ticket-body", TextArea).text
                         and form.query_one("#ticket-body", TextArea).text, "body loaded")
        await pilot.press("ctrl+s", "ctrl+s", "ctrl+s")
        await wait_until(pilot, lambda: db(backend, "SELECT COUNT(*) FROM tickets") == [(1,)], "ticket")
        await still_on_the_dashboard(pilot, app)

        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen), "RA form")
        ra = app.screen
        await wait_until(pilot, lambda: bool(ra.query("#ra-read_scale")), "fields")
        ra.query_one("#ra-question_type", Select).value = "reference"
        ra.query_one("#ra-read_scale").focus()
        await pilot.press("2", "ctrl+s", "ctrl+s", "ctrl+s")
        await wait_until(pilot, lambda: db(backend, "SELECT COUNT(*) FROM analytics") == [(1,)], "RA")
        await still_on_the_dashboard(pilot, app)
    assert sent.count("note") == 1 and sent.count("create_ticket") == 1
    assert sent.count("save_analytics") == 1
    assert db(backend, "SELECT COUNT(*) FROM notes") == [(1,)]


# --- 2. saving while the desk is unreachable -------------------------------------------------


async def test_offline_note_is_queued_said_closed_and_can_be_withdrawn(
        tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    port = backend.port
    _pat, joined = await join(backend.url, name="Maya")
    chat_id = int(desk_id(backend, joined))
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    try:
        async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
            await wait_until(pilot, lambda: chat_id in app.model.chats)
            await pilot.press("enter")
            await wait_until(pilot, lambda: state(app, chat_id) == "active")
            await backend.stop()
            await wait_until(pilot, lambda: app.status.state == "offline", "offline")

            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press(*"Call back on Monday", "ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "closed")
            await wait_until(pilot, lambda: any("queued: will be saved when the desk is back" in m.lower()
                                                for m in toasts.messages), "said it is queued")
            assert app.client is not None and app.client.queued == 1

            # Reopened: the queued note is shown; throwing it away withdraws it.
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            assert app.screen.query_one(TextArea).text == "Call back on Monday"
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asked")
            await pilot.press("y")
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
            await wait_until(pilot, lambda: app.client is not None and app.client.queued == 0,
                             "withdrawn")
            await wait_until(pilot, lambda: any("Withdrawn" in m for m in toasts.messages), "said so")
            bar = str(app.screen.query_one("#desk-bar").render())
            assert "queued" not in bar, bar  # the desk bar's count follows at once (issue 22)

            # A save that had already left (sent just before the desk went away) cannot be
            # taken back: the dialog says so.
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press(*"Sent just before", "ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "queued again")
            for pending in app.client.session.pending.values():
                pending.tried = True  # as if it went out on the connection that then died
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press("escape", "y")
            await wait_until(pilot, lambda: any("Too late to take it back" in m for m in toasts.messages),
                             "said it left")

            backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t", port=port)
            await backend.start()
            await wait_until(pilot, lambda: app.status.state == "online", "back", timeout=15)
            await wait_until(pilot, lambda: app.client is not None and app.client.queued == 0,
                             "the note that had left is stored once")
            await wait_until(pilot, lambda: "Internal note saved" in toasts.messages, "and said so")
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press(*"Second thought", "ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
    finally:
        await backend.stop()
    assert db(backend, "SELECT text FROM notes ORDER BY id") == [("Sent just before",),
                                                                ("Second thought",)]


# --- 3. the ticket form keeps what the librarian typed ---------------------------------------


async def test_ticket_form_keeps_edits_asks_before_discarding_and_keeps_early_keys(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        _pat, chat_id = await accepted(pilot, app, backend, name="Maya", email="maya@example.edu",
                                       question="Hours on Sunday")
        await lib.ok("note", chat_id=chat_id, text="Patron is faculty")
        # Keys typed right after ctrl+t, before the dialog has mounted, are not lost.
        for key in ("ctrl+t", "space", "p", "l", "z"):
            app.post_message(events.Key(key, " " if key == "space" else
                                        (key if len(key) == 1 else None)))
        await wait_until(pilot, lambda: isinstance(app.screen, TicketScreen), "ticket form")
        form = app.screen
        subject = form.query_one("#ticket-subject", Input)
        await wait_until(pilot, lambda: subject.value == "Hours on Sunday plz", "typed into the subject")
        await pilot.press("!")  # the subject was not selected: typing adds, never replaces
        assert subject.value == "Hours on Sunday plz!"

        body = form.query_one("#ticket-body", TextArea)
        await wait_until(pilot, lambda: "Hours on Sunday" in body.text, "the transcript as body")
        body.text = body.text + "\nMy own line for the patron."
        form.query_one(Checkbox).focus()
        await pilot.press("space")
        await wait_until(pilot, lambda: "Patron is faculty" in body.text, "notes added")
        assert "My own line for the patron." in body.text
        await pilot.press("space")
        await wait_until(pilot, lambda: "Patron is faculty" not in body.text, "notes taken out")
        assert "My own line for the patron." in body.text

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks before discarding")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is form, "kept")
        assert "My own line for the patron." in body.text
        await pilot.press("escape", "y")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "discarded")

        await pilot.press("ctrl+r")  # the RA form asks too, once something is chosen
        await wait_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen), "RA form")
        ra = app.screen
        await wait_until(pilot, lambda: bool(ra.query("#ra-question_type")), "fields")
        await pilot.press("escape")  # nothing chosen: closes at once
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "closed unasked")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen), "RA form again")
        ra = app.screen
        await wait_until(pilot, lambda: bool(ra.query("#ra-question_type")), "fields")
        ra.query_one("#ra-question_type", Select).value = "policy"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "RA asks")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
    assert db(backend, "SELECT COUNT(*) FROM tickets") == [(0,)]
    assert db(backend, "SELECT COUNT(*) FROM analytics") == [(0,)]


# --- 5. 80x24 ---------------------------------------------------------------------------------


async def test_the_whole_chat_at_80_by_24(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Maya Lin", question="Do you have Beloved?")
    chat_id = int(desk_id(backend, joined))
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Maya Lin" in screen_text(app), "the row")
        await pilot.press("enter")
        await wait_until(pilot, lambda: state(app, chat_id) == "active", "accepted")
        await wait_until(pilot, lambda: "Message the patron" in screen_text(app), "composer shown")
        text = screen_text(app)
        assert "▶ ACTIVE" in text and "End Chat ^E" in text and "Close Chat" not in text
        await pilot.press(*"On the 3rd floor.", "enter")
        assert (await pat.next_event("message"))["message"]["text"] == "On the 3rd floor."
        await wait_until(pilot, lambda: "On the 3rd floor." in screen_text(app), "transcript shown")
        await pat.ok("message", text="Thanks!")
        await wait_until(pilot, lambda: "Thanks!" in screen_text(app), "the patron's line")
        await pilot.press("ctrl+e", "y")
        await wait_until(pilot, lambda: state(app, chat_id) == "ended", "ended")
        await wait_until(pilot, lambda: "Close Chat ^W" in screen_text(app), "close button")
        await pilot.press("escape")  # back to the list view
        await wait_until(pilot, lambda: "Message the patron" not in screen_text(app), "list view")
        await pilot.press("f6")  # and to the chat again
        await wait_until(pilot, lambda: "Close Chat ^W" in screen_text(app), "chat view")
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "close asks first")
        await pilot.press("y")
        await wait_until(pilot, lambda: state(app, chat_id) == "gone", "closed")


# --- 7. control state in glyphs ----------------------------------------------------------------


async def test_checkbox_and_radio_buttons_show_their_state_in_glyphs(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        _pat, _chat_id = await accepted(pilot, app, backend, name="Maya", email="maya@example.edu")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketScreen))
        await wait_until(pilot, lambda: "[ ] Include internal notes" in screen_text(app), "unticked")
        app.screen.query_one(Checkbox).focus()
        await pilot.press("space")
        await wait_until(pilot, lambda: "[x] Include internal notes" in screen_text(app), "ticked")
        await pilot.press("escape", "y")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: "(•) Patron copy" in screen_text(app), "chosen copy")
        assert "( ) Librarian copy" in screen_text(app) and "( ) Plain text" in screen_text(app)


# --- 9. keys from every screen, confirmations, the footer's word ------------------------------


async def test_views_from_every_screen_confirmations_and_the_accept_word(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    from libchat_tui.ui.screens.history import HistoryScreen
    from libchat_tui.ui.screens.stats import StatsScreen
    from libchat_tui.ui.screens.tickets import TicketsScreen

    _pat, joined = await join(backend.url, name="Maya")
    chat_id = int(desk_id(backend, joined))
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await wait_until(pilot, lambda: "⏎ Accept" in screen_text(app).splitlines()[-1], "footer word")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), "history")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketsScreen), "tickets from history")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "stats from tickets")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "one level back")
        await pilot.press("enter")
        await wait_until(pilot, lambda: state(app, chat_id) == "active")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "quit asks: a live chat")
        assert "1 live chat" in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.is_running


# --- issue 13: a message queued offline shows in place -------------------------------------------


async def test_message_queued_offline_shows_in_the_transcript_and_quit_warns(
        tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    port = backend.port
    _pat, joined = await join(backend.url, name="Maya")
    chat_id = int(desk_id(backend, joined))
    app = make_app(backend, clock, tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: chat_id in app.model.chats)
            await pilot.press("enter")
            await wait_until(pilot, lambda: state(app, chat_id) == "active")
            await backend.stop()
            await wait_until(pilot, lambda: app.status.state == "offline", "offline")
            await pilot.press(*"Are you still there?", "enter")
            await wait_until(pilot, lambda: "not yet delivered" in screen_text(app), "marked in place")
            assert "Are you still there?" in screen_text(app)
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "quit warns")
            assert "1 message not yet delivered" in screen_text(app)
            await pilot.press("n")
            backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t", port=port)
            await backend.start()
            await wait_until(pilot, lambda: app.status.state == "online", "back", timeout=15)
            await wait_until(pilot, lambda: "not yet delivered" not in screen_text(app), "delivered")
            assert "Are you still there?" in screen_text(app)
    finally:
        await backend.stop()


# --- 6. toasts -----------------------------------------------------------------------------------


async def test_new_chat_toasts_coalesce_and_stay_off_dialogs(backend: Backend, clock: FakeClock,
                                                         tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online)
        _a, first = await join(backend.url, name="First")
        await wait_until(pilot, lambda: desk_id(backend, first) in app.model.chats)
        for name in ("Second", "Third", "Fourth"):
            await join(backend.url, name=name)
        await wait_until(pilot, lambda: len(app.model.chats) == 4, "four chats")
        await wait_until(pilot, lambda: any("4 new chats waiting" in m for m in toasts.messages),
                         "one coalesced toast", timeout=8)
        assert toasts.titles.count("New chat") <= 2  # "New chat from First", then one for the rest
        # Toasts sit at the top, off the composer and the buttons at the bottom. (By type name:
        # Textual does not export its Toast widget.)
        await wait_until(pilot, lambda: bool(app.screen.query("Toast")), "a toast on screen")
        composer = app.screen.query_one("#composer")
        buttons = app.screen.query_one("#chat-actions")
        for toast in app.screen.query("Toast"):
            assert not toast.region.overlaps(composer.region)
            assert not toast.region.overlaps(buttons.region)

        # None over a dialog: they wait, and the count comes once it has closed.
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: any(c.state.value == "active" for c in app.model.chats.values()))
        app.clear_notifications()
        toasts.clear()
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
        _e, fifth = await join(backend.url, name="Fifth")
        await wait_until(pilot, lambda: desk_id(backend, fifth) in app.model.chats, "fifth")
        await pilot.pause()  # the app has handled what it posted along with the fifth chat
        assert "New chat" not in toasts.titles
        await pilot.press("escape")
        await wait_until(pilot, lambda: any("new chats waiting" in m for m in toasts.messages),
                         "the count, after", timeout=8)


# --- the patron client: resume after being killed, thanked once ---------------------------------


async def test_patron_client_resumes_after_being_killed_and_thanks_once(
        backend: Backend, tmp_path: Path) -> None:
    import argparse
    import asyncio
    import contextlib
    import stat

    from test_patron_cli import FAST_BACKOFF, Keyboard, Screen

    from libchat_tui import patron_cli

    desk, _ = await librarian(backend.url, backend.token, name="Ana")
    resume_file = tmp_path / "patron" / "patron-resume.json"
    keyboard, screen = Keyboard(), Screen()
    args = argparse.Namespace(server=backend.url, name="Maya", email="")
    task = asyncio.create_task(patron_cli.run(args, stdin=keyboard.stdin, stdout=screen,
                                              backoff=FAST_BACKOFF, resume_file=resume_file))
    await screen.shows("Your question")
    keyboard.type("Is the library open late?")
    chat = (await desk.next_event("chat", state="waiting"))["chat"]
    await desk.ok("accept", chat_id=chat["id"])
    await screen.shows("Ana joined the chat.")
    assert stat.S_IMODE(resume_file.stat().st_mode) == 0o600  # owner-only
    task.cancel()  # the client dies (no leave)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    keyboard.eof()

    keyboard, screen = Keyboard(), Screen()
    again = argparse.Namespace(server=backend.url, resume=True)
    task = asyncio.create_task(patron_cli.run(again, stdin=keyboard.stdin, stdout=screen,
                                              backoff=FAST_BACKOFF, resume_file=resume_file))
    await screen.shows("Back in your chat")
    await desk.ok("send", chat_id=chat["id"], text="Until 10 pm.")
    await screen.shows("Ana: Until 10 pm.")
    await desk.ok("end", chat_id=chat["id"])
    assert await asyncio.wait_for(task, 10) == 0
    assert screen.text.count("Thank you for contacting the library.") == 1
    keyboard.eof()


# --- 8. time on screen, the History record, the stats chart; 9. ctrl+o on a record ------------


async def test_times_tick_under_a_dialog_and_the_record_reads_as_fields(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    from libchat_tui.ui.screens.chat_record import ChatRecordScreen
    from libchat_tui.ui.screens.export_dialog import ExportScreen
    from libchat_tui.ui.screens.history import HistoryScreen
    from libchat_tui.ui.screens.stats import StatsScreen
    from libchat_tui.ui.widgets.chat_list import ChatList

    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        _pat, chat_id = await accepted(pilot, app, backend, name="Maya", email="maya@example.edu")
        chat_list = app.screen.query_one(ChatList)

        def row() -> str:
            return str(chat_list.get_option_at_index(0).prompt)

        await wait_until(pilot, lambda: "0 s ago" in row(), "0 s ago")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
        await clock.advance(7)
        await wait_until(pilot, lambda: "7 s ago" in row(), "ticks under the dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))

        await lib.ok("create_ticket", chat_id=chat_id, name="Maya", email="maya@example.edu",
                     subject="Sunday hours", body="…")
        await lib.ok("save_analytics", chat_id=chat_id, dataset="Chat",
                     fields={"question_type": "reference", "read_scale": 3, "topics": ["hours", "ILL"]})
        await pilot.press("ctrl+e", "y")
        await wait_until(pilot, lambda: state(app, chat_id) == "ended")
        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: state(app, chat_id) == "gone")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen
        await wait_until(pilot, lambda: history.shown_query == "", "closed chats")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatRecordScreen), "the record")
        await wait_until(pilot, lambda: "Question type: reference" in screen_text(app), "RA as fields")
        text = screen_text(app)
        assert "READ scale: 3" in text and "Topic tags: hours, ILL" in text
        assert "Duration: 7 s" in text and "question_type=" not in text
        local = clock.now().astimezone().strftime("%Y-%m-%d %H:%M")
        assert f"created {local}" in text  # the ticket's time, local, not ISO
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "export from History")
        await pilot.press("escape")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "stats")
        day = clock.now().astimezone().date()
        await wait_until(pilot, lambda: f"Chats per hour on {day:%A %d %B %Y}" in screen_text(app),
                         "the chart says which day")


async def test_narrow_layout_is_chosen_on_resize_and_keeps_the_chat_in_view(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        _pat, _chat_id = await accepted(pilot, app, backend, name="Maya Lin")
        chat_list = app.screen.query_one("#chat-list")
        pane = app.screen.query_one("#chat-pane")
        assert chat_list.region.width and pane.region.width  # side by side
        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: not chat_list.display or chat_list.region.width == 0,
                         "the list makes room")
        await wait_until(pilot, lambda: pane.region.width == 80, "the chat takes the width")
        assert "Message the patron" in screen_text(app)  # still typing where they were
        await pilot.press("escape")
        await wait_until(pilot, lambda: chat_list.region.width == 80, "the list view")
        await pilot.resize_terminal(140, 45)
        await wait_until(pilot, lambda: chat_list.region.width and pane.region.width, "side by side")
