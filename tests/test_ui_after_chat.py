"""After a chat, through the real console on a real desk: internal note, ticket, Reference
Analytics, close, tickets, history search, exports and statistics, and the bad input each
one refuses (with nothing stored). Everything is checked against the store itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from desk_ids import desk_id
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Input, RadioSet, Select, Sparkline, TextArea
from ui_support import db, screen_text, state, wait_until
from wire import Peer, join, librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.config import load_settings
from libchat_tui.exports import transcript_document
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.analytics_form import AnalyticsScreen
from libchat_tui.ui.screens.chat_record import ChatRecordScreen
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.export_dialog import ExportScreen
from libchat_tui.ui.screens.history import HistoryScreen
from libchat_tui.ui.screens.note import NoteScreen
from libchat_tui.ui.screens.stats import StatsScreen
from libchat_tui.ui.screens.ticket_form import TicketScreen
from libchat_tui.ui.screens.tickets import TicketsScreen

S = TypeVar("S", bound=Screen[Any])
QUESTION = "Interlibrary loan for a thesis on Zürich maps, NEAR( 1850 -draft *"


def console(backend: Backend, clock: FakeClock, tmp_path: Path) -> LibChatApp:
    return LibChatApp(load_settings(tmp_path / "none.toml"), librarian_id="ana", name="Ana",
                      url=backend.url, token=backend.token, data_dir=tmp_path / "console", now=clock.now)




def shows(app: LibChatApp, *texts: str) -> Callable[[], bool]:
    return lambda: all(text in screen_text(app) for text in texts)


async def opens(pilot: Pilot[None], key: str, kind: type[S]) -> S:
    """Press `key` and wait for a screen of `kind` to be in front; return it."""
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def back_to(pilot: Pilot[None], kind: type[Screen[Any]], what: str) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind), what)


async def accept(pilot: Pilot[None], app: LibChatApp, backend: Backend,
                 question: str = QUESTION) -> tuple[Peer, int]:
    """A patron asks; the librarian accepts (enter) and answers. Returns (patron, chat id)."""
    pat, joined = await join(backend.url, name="Maya [b]Lin[/b]", question=question)
    chat_id = int(desk_id(backend, joined))
    await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat on the dashboard")
    await pilot.press("enter")
    await wait_until(pilot, lambda: state(app, chat_id) == "active", "accepted")
    await pilot.press(*"Sure.", "enter")
    await wait_until(pilot, lambda: db(backend, "SELECT COUNT(*) FROM messages WHERE sender='librarian'")
                == [(1,)], "the answer stored")
    return pat, chat_id


async def end(pilot: Pilot[None], app: LibChatApp, chat_id: int) -> None:
    await pilot.press("ctrl+e", "y")
    await wait_until(pilot, lambda: state(app, chat_id) == "ended", "ended")


async def test_note_refused_when_empty_kept_as_draft_and_never_sent_to_the_patron(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        pat, chat_id = await accept(pilot, app, backend)
        note = await opens(pilot, "ctrl+n", NoteScreen)
        await pilot.press("ctrl+s")
        await wait_until(pilot, shows(app, "The note is empty"), "empty note refused")
        await pilot.press(*"  ", "enter", "ctrl+s")  # whitespace only
        await wait_until(pilot, shows(app, "The note is empty"), "blank note refused")
        assert db(backend, "SELECT COUNT(*) FROM notes") == [(0,)]

        note.query_one(TextArea).text = ""
        await pilot.press(*"ILL; WorldCat")
        assert app.drafts.get(f"note:{chat_id}") == "ILL; WorldCat"
        await pilot.press("escape")  # a draft is not thrown away without asking
        await back_to(pilot, Confirm, "asked before discarding")
        await opens(pilot, "n", NoteScreen)
        await opens(pilot, "ctrl+s", DashboardScreen)
        await wait_until(pilot, shows(app, "Internal note saved", "Internal note — Ana"), "toast, inline")
        assert db(backend, "SELECT chat_id, author, text FROM notes") == [
            (chat_id, "Ana", "ILL; WorldCat")]
        assert app.drafts.get(f"note:{chat_id}") == ""

        # A later message reaches the patron; the note, stored before it, never does.
        await pilot.press(*"More?", "enter")
        await pat.next_event("message")
        await pat.next_event("message")
        assert "WorldCat" not in json.dumps(pat.seen)

        # A draft survives the console going away and comes back when the note reopens.
        await opens(pilot, "ctrl+n", NoteScreen)
        await pilot.press(*"Half")
    app2 = console(backend, clock, tmp_path)
    async with app2.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: getattr(app2.screen, "chat", None) is not None, "the chat shown")
        note = await opens(pilot, "ctrl+n", NoteScreen)
        assert note.query_one(TextArea).text == "Half"
        await pilot.press("escape", "y")
        await back_to(pilot, DashboardScreen, "discarded")
        assert app2.drafts.get(f"note:{chat_id}") == ""
    assert db(backend, "SELECT COUNT(*) FROM notes") == [(1,)]


async def test_ticket_refuses_a_bad_email_then_saves_with_notes_only_when_chosen(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        _pat, chat_id = await accept(pilot, app, backend, question="Hours?\nAnd ILL for a thesis")
        await lib.ok("note", chat_id=chat_id, text="Colleague note: patron is faculty")
        await end(pilot, app, chat_id)
        form = await opens(pilot, "ctrl+t", TicketScreen)
        body = form.query_one("#ticket-body", TextArea)
        await wait_until(pilot, lambda: "Sure." in body.text, "the transcript as body")
        assert "Colleague note" not in body.text
        assert form.query_one("#ticket-subject", Input).value == "Hours?"
        assert form.query_one("#ticket-name", Input).value == "Maya [b]Lin[/b]"

        await pilot.press("ctrl+s")  # the patron gave no e-mail
        await wait_until(pilot, shows(app, "An e-mail address is required"), "e-mail required")
        for bad in ("maya@", "maya example.edu", "maya@edu"):
            form.query_one("#ticket-email", Input).value = bad
            await pilot.press("ctrl+s")
            await wait_until(pilot, shows(app, "is not a valid e-mail address"), f"{bad!r} refused")
        assert db(backend, "SELECT COUNT(*) FROM tickets") == [(0,)]

        form.query_one(Checkbox).focus()
        await pilot.press("space")
        await wait_until(pilot, lambda: "Colleague note" in body.text, "notes included when ticked")
        await pilot.press("space")
        await wait_until(pilot, lambda: "Colleague note" not in body.text, "and left out again")
        form.query_one("#ticket-email", Input).value = "maya@example.edu"
        await opens(pilot, "ctrl+s", DashboardScreen)
        await wait_until(pilot, shows(app, "Ticket #1 created"), "toast")

        # A chat the desk does not know: refused with the desk's reason, nothing stored.
        app.push_screen(TicketScreen(replace(app.model.chats[chat_id], id=9999,
                                             patron_email="maya@example.edu")))
        await wait_until(pilot, shows(app, "write the body yourself"), "no transcript to prefill")
        await pilot.press("ctrl+s")
        await wait_until(pilot, shows(app, "Not saved", "There is no chat 9999"), "refused by the desk")
        assert isinstance(app.screen, TicketScreen)
    stored = await lib.ok("transcript", chat_id=chat_id)
    assert db(backend, "SELECT chat_id, name, email, subject, status, source, body FROM tickets") == [
        (chat_id, "Maya [b]Lin[/b]", "maya@example.edu", "Hours?", "open", "librarian",
         transcript_document(stored, copy="patron", fmt="txt"))]
    assert stored["chat"]["ticket_ids"] == [1]


async def test_analytics_required_fields_read_scale_and_editing_the_entry(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        _pat, chat_id = await accept(pilot, app, backend)
        await clock.advance(300)
        await end(pilot, app, chat_id)
        form = await opens(pilot, "ctrl+r", AnalyticsScreen)
        await wait_until(pilot, lambda: bool(form.query("#ra-read_scale")), "fields from the dataset")
        assert "duration 5 min" in screen_text(app) and "First question: Interlibrary" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, shows(app, "Question type is required"), "question type required")
        form.query_one("#ra-question_type", Select).value = "reference"
        await pilot.press("ctrl+s")
        await wait_until(pilot, shows(app, "READ scale is required"), "READ scale required")
        assert form.focused is form.query_one("#ra-read_scale")
        await pilot.press("7")
        await wait_until(pilot, shows(app, "7 is not a level"), "READ 7 refused")
        assert form.query_one("#ra-read_scale", RadioSet).pressed_index == -1
        await pilot.press("ctrl+s")
        await wait_until(pilot, shows(app, "READ scale is required"), "still nothing chosen")
        assert db(backend, "SELECT COUNT(*) FROM analytics") == [(0,)]

        await pilot.press("4")
        assert form.query_one("#ra-read_scale", RadioSet).pressed_index == 3
        form.query_one("#ra-topics", Input).value = "ILL, theses, ill,  "
        form.query_one("#ra-answer_summary", TextArea).text = "Sent the ILL form."
        await opens(pilot, "ctrl+s", DashboardScreen)
        await wait_until(pilot, lambda: "Chat" in app.model.chats[chat_id].analytics, "chat marked")
        await wait_until(pilot, shows(app, "Added to Reference Analytics (Chat)"), "toast")
        [(fields,)] = db(backend, "SELECT fields FROM analytics WHERE chat_id=? AND dataset='Chat'", chat_id)
        assert json.loads(fields) | {"date_time": None} == {
            "question_type": "reference", "read_scale": 4, "topics": ["ILL", "theses"],
            "patron_type": None, "answer_summary": "Sent the ILL form.", "date_time": None,
            "duration_seconds": 300, "wait_seconds": 0, "first_question": QUESTION}

        # Added once: opening it again edits the same entry.
        form = await opens(pilot, "ctrl+r", AnalyticsScreen)
        await wait_until(pilot, shows(app, "editing the existing entry"), "opened to edit")
        assert form.query_one("#ra-read_scale", RadioSet).pressed_index == 3
        assert form.query_one("#ra-topics", Input).value == "ILL, theses"
        form.query_one("#ra-read_scale").focus()
        await pilot.press("5", "ctrl+s")
        await back_to(pilot, DashboardScreen, "entry updated")
        await wait_until(pilot, shows(app, "Reference Analytics entry updated"), "toast")
    [(fields,)] = db(backend, "SELECT fields FROM analytics")
    assert json.loads(fields)["read_scale"] == 5
    # The desk refuses what the form cannot produce, and stores nothing.
    reply = await lib.request("save_analytics", chat_id=chat_id, dataset="Chat",
                              fields={"question_type": "reference", "read_scale": 7})
    assert reply["code"] == "invalid_analytics"
    assert json.loads(db(backend, "SELECT fields FROM analytics")[0][0])["read_scale"] == 5


async def test_no_dataset_configured_is_said_and_nothing_opens(clock: FakeClock, tmp_path: Path) -> None:
    server = Backend(data_dir=tmp_path / "data", clock=clock, token="t", datasets={})
    await server.start()
    try:
        app = console(server, clock, tmp_path)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await accept(pilot, app, server)
            await pilot.press("ctrl+r")
            await wait_until(pilot, shows(app, "No Reference Analytics dataset is configured"), "said")
            assert isinstance(app.screen, DashboardScreen)
    finally:
        await server.stop()


async def test_close_then_history_search_with_awkward_input_and_a_note_from_history(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        pat, chat_id = await accept(pilot, app, backend)
        await pat.ok("message", text="Also «Les Misérables» in 東京?")
        await lib.ok("note", chat_id=chat_id, text="Checked WorldCat twice")
        await lib.ok("create_ticket", chat_id=chat_id, name="Maya", email="maya@example.edu",
                     subject="ILL", body="…")
        await lib.ok("save_analytics", chat_id=chat_id, dataset="Chat",
                     fields={"question_type": "reference", "read_scale": 3})
        await end(pilot, app, chat_id)
        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: state(app, chat_id) == "gone", "closed: off the dashboard")
        assert db(backend, "SELECT state FROM chats") == [("closed",)]

        history = await opens(pilot, "f3", HistoryScreen)
        await wait_until(pilot, lambda: history.shown_query == "", "all closed chats")
        assert history.query_one(DataTable).row_count == 1
        expected = {'"': 1, "*": 0, "NEAR(": 1, "-": 0, "-draft": 1, '"NEAR(': 1, "zurich": 1,
                    "Zürich": 1, "miserables": 1, "東京": 1, "worldcat": 1, "nothing-like-it": 0}
        for query, count in expected.items():
            history.query_one(Input).value = query
            await wait_until(pilot, lambda q=query: history.shown_query == q, f"searched {query!r}")
            assert history.query_one(DataTable).row_count == count, query
        assert "Refused" not in screen_text(app)
        await wait_until(pilot, shows(app, "No closed chat matches “nothing-like-it”"), "said so")

        history.query_one(Input).value = "worldcat"
        await wait_until(pilot, lambda: history.shown_query == "worldcat", "note text found")
        await pilot.press("down", "enter")
        await back_to(pilot, ChatRecordScreen, "the chat, read-only")
        await wait_until(pilot, shows(app, "Ticket #1", "Reference Analytics", "Checked WorldCat twice"),
                    "transcript, note, ticket, analytics")
        await opens(pilot, "ctrl+n", NoteScreen)
        await pilot.press(*"Mailed", "ctrl+s")
        await back_to(pilot, ChatRecordScreen, "saved")
        await wait_until(pilot, shows(app, "Mailed"), "shown in the record")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is history, "back in history")
    assert db(backend, "SELECT text FROM notes ORDER BY id") == [("Checked WorldCat twice",),
                                                                  ("Mailed",)]


async def test_tickets_screen_open_first_live_close_and_the_patrons_ticket(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    chats = []
    for question in ("First question", "Second question"):
        _p, joined = await join(backend.url, question=question)
        chats.append(desk_id(backend, joined))
    for chat_id in chats:
        await lib.ok("create_ticket", chat_id=chat_id, name="Maya", email="maya@example.edu",
                     subject=f"About chat {chat_id}", body="Body [red]text[/red]")
    await lib.ok("close_ticket", ticket_id=1)
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await opens(pilot, "f2", TicketsScreen)
        table = screen.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 2, "both tickets")
        assert [table.get_row_at(i)[:2] for i in range(2)] == [["2", "● open"], ["1", "✓ closed"]]
        await wait_until(pilot, shows(app, "Ticket #2 · OPEN", "Body [red]text[/red]", "Second question"),
                    "the ticket with its chat's transcript")
        await pilot.press("enter")
        assert screen.focused is not None and screen.focused.id == "ticket-transcript"
        await pilot.press("escape")
        assert screen.focused is table

        await lib.ok("create_ticket", chat_id=chats[0], name="Ann", email="ann@example.edu",
                     subject="Newest", body="")
        await wait_until(pilot, lambda: table.row_count == 3, "a new ticket arrives live")
        assert table.get_row_at(0)[0] == "3"
        assert screen.current is not None and screen.current["id"] == 2  # the highlight stayed
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: db(backend, "SELECT status FROM tickets WHERE id=2") == [("closed",)],
                    "closed with c")
        await wait_until(pilot, shows(app, "Ticket #2 closed"), "toast")
        await pilot.press("c")  # already closed: nothing happens
        assert db(backend, "SELECT COUNT(*) FROM tickets WHERE status='open'") == [(1,)]

        # A disconnected patron accepts the ticket offer: it arrives marked as theirs.
        pat, joined = await join(backend.url, question="Are you open on Sunday?")
        await lib.ok("accept", chat_id=desk_id(backend, joined))
        pat.ws.transport.abort()
        await lib.next_event("chat", id=desk_id(backend, joined), state="reconnecting")
        await clock.advance(61)
        await lib.next_event("chat", id=desk_id(backend, joined), state="disconnected")
        late = await patron(backend.url)
        await late.ok("resume", token=joined["resume_token"], last_message_id=0)
        await late.ok("ticket", email="sam@example.edu", details="Still need the hours.")
        await wait_until(pilot, lambda: table.row_count == 4, "the patron's ticket arrives")
        assert table.get_row_at(0)[:3] == ["4", "● open", "patron"]
        await opens(pilot, "escape", DashboardScreen)


async def test_export_patron_and_librarian_copies_match_the_store(
        backend: Backend, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        _pat, chat_id = await accept(pilot, app, backend)
        await lib.ok("note", chat_id=chat_id, text="Internal: patron is faculty")
        await end(pilot, app, chat_id)
        folder = tmp_path / "home" / "libchat-exports"

        export = await opens(pilot, "ctrl+o", ExportScreen)
        path = export.query_one("#export-path", Input)
        assert path.value == str(folder / f"chat-{chat_id}-patron.md")
        await opens(pilot, "ctrl+s", DashboardScreen)

        export = await opens(pilot, "ctrl+o", ExportScreen)
        await pilot.press("down", "space", "tab", "down", "space")  # librarian copy, plain text
        path = export.query_one("#export-path", Input)
        assert path.value == str(folder / f"chat-{chat_id}-librarian.txt")
        await opens(pilot, "ctrl+s", DashboardScreen)

        # An existing file is replaced only after a yes; bad paths are refused in the dialog.
        export = await opens(pilot, "ctrl+o", ExportScreen)
        await opens(pilot, "ctrl+s", Confirm)
        await opens(pilot, "n", ExportScreen)
        path = export.query_one("#export-path", Input)
        for value, refusal in ((folder, "is a folder"), ("", "Type the file to write"),
                               (folder / f"chat-{chat_id}-patron.md" / "x.md", "Could not write")):
            path.value = str(value)
            await pilot.press("ctrl+s")
            await wait_until(pilot, shows(app, refusal), refusal)
        await opens(pilot, "escape", DashboardScreen)
    stored = await lib.ok("transcript", chat_id=chat_id)
    patron_copy = (folder / f"chat-{chat_id}-patron.md").read_text(encoding="utf-8")
    librarian_copy = (folder / f"chat-{chat_id}-librarian.txt").read_text(encoding="utf-8")
    assert patron_copy == transcript_document(stored, copy="patron", fmt="md")
    assert librarian_copy == transcript_document(stored, copy="librarian", fmt="txt")
    assert "patron is faculty" not in patron_copy and "Chat accepted by" not in patron_copy
    assert "Internal note — Ben" in librarian_copy and "patron is faculty" in librarian_copy
    for sender, text in db(backend, "SELECT sender, text FROM messages"):
        assert text in librarian_copy
        assert (text in patron_copy) == (sender != "system")
    assert sorted(p.name for p in folder.iterdir()) == [f"chat-{chat_id}-librarian.txt",
                                                        f"chat-{chat_id}-patron.md"]


async def test_statistics_for_a_day_and_a_day_that_is_not_a_date(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    _answered, joined = await join(backend.url, question="Answered")
    await clock.advance(30)
    await lib.ok("accept", chat_id=desk_id(backend, joined))
    await clock.advance(120)
    await lib.ok("end", chat_id=desk_id(backend, joined))
    await lib.ok("save_analytics", chat_id=desk_id(backend, joined), dataset="Chat",
                 fields={"question_type": "policy", "read_scale": "4"})
    missed, _joined = await join(backend.url, question="Missed")
    await missed.ok("leave")
    app = console(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        stats = await opens(pilot, "f4", StatsScreen)
        today = clock.now().astimezone().date()  # today, by the desk's clock, in local time
        hour = clock.now().astimezone().hour
        assert stats.query_one(Input).value == today.isoformat()
        await wait_until(pilot, lambda: stats.result is not None, "the day's figures")
        figures = {key: str(stats.query_one(f"#stats-{key}").render()) for key in
                   ("chats", "answered", "missed", "wait", "length")}
        assert figures == {"chats": "2", "answered": "1", "missed": "1", "wait": "30 s",
                           "length": "2 min"}
        assert str(stats.query_one("#stats-read-4-count").render()) == "1"
        assert "█" in str(stats.query_one("#stats-read-4").render())
        assert "█" not in str(stats.query_one("#stats-read-3").render())
        assert list(stats.query_one(Sparkline).data or [])[hour] == 2
        assert f"Busiest hour: {hour:02d}:00-{(hour + 1) % 24:02d}:00 (2 chats)" in screen_text(app)

        for bad in ("2026-02-30", "yesterday", "28/11/2026", "20261128"):
            stats.query_one(Input).value = bad
            await pilot.press("enter")
            await wait_until(pilot, shows(app, "is not a date"), f"{bad!r} refused")
        assert stats.day == today  # the figures shown are still the last good day's
        await pilot.press("pageup")
        await wait_until(pilot, lambda: stats.day == today - timedelta(days=1), "the day before")
        await wait_until(pilot, shows(app, "No chats that day."), "an empty day")
        await opens(pilot, "escape", DashboardScreen)
