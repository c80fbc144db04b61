"""After a chat, by keyboard through the real app: note, ticket, analytics, close, history,
export, statistics, and the bad input each refuses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from desk_ids import desk_id
from textual.widgets import DataTable, Input, RadioSet, Select, TextArea
from ui_support import make_app, screen_text, wait_until
from wire import join

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.screens.analytics_form import AnalyticsScreen
from libchat_tui.ui.screens.chat_record import ChatRecordScreen
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.export_dialog import ExportScreen
from libchat_tui.ui.screens.history import HistoryScreen
from libchat_tui.ui.screens.note import NoteScreen
from libchat_tui.ui.screens.stats import StatsScreen
from libchat_tui.ui.screens.ticket_form import TicketScreen
from libchat_tui.ui.screens.tickets import TicketsScreen


def rows(backend: Backend, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(backend.data_dir / "desk.sqlite3")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_after_chat_workflow(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    pat, joined = await join(backend.url, name="Maya Lin", question="Interlibrary loan for NEAR( thesis")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    app.export_dir = tmp_path / "exports"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "active")
        await pilot.press(*"Sure, send me the title.", "enter")
        await pilot.press("ctrl+e", "y")
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "ended")

        # Internal note: empty refused, then saved; shown inline, marked internal.
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "The note is empty" in screen_text(app))
        assert rows(backend, "SELECT COUNT(*) FROM notes")[0][0] == 0
        await pilot.press(*"Patron wants ILL; check WorldCat")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "note saved")
        await wait_until(pilot, lambda: "Internal note — Ana" in screen_text(app), "note inline")
        assert rows(backend, "SELECT text FROM notes") == [("Patron wants ILL; check WorldCat",)]

        # Ticket: the e-mail is unknown; an invalid one is refused and nothing stored.
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketScreen))
        screen = app.screen
        await wait_until(pilot, lambda: "Sure, send me" in screen.query_one("#ticket-body", TextArea).text)
        assert "Patron wants ILL" not in screen.query_one("#ticket-body", TextArea).text
        screen.query_one("#ticket-email", Input).value = "maya@"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "not a valid e-mail" in screen_text(app))
        assert rows(backend, "SELECT COUNT(*) FROM tickets")[0][0] == 0
        screen.query_one("#ticket-email", Input).value = "maya@example.edu"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "ticket saved")
        assert rows(backend, "SELECT email, status, source FROM tickets") == [
            ("maya@example.edu", "open", "librarian")]

        # Reference Analytics: required fields enforced, then saved; reopening edits it.
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
        form = app.screen
        await wait_until(pilot, lambda: bool(form.query("#ra-question_type")))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Question type is required" in screen_text(app))
        form.query_one("#ra-question_type", Select).value = "reference"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "READ scale is required" in screen_text(app))
        form.query_one("#ra-read_scale").focus()
        await pilot.press("4")
        form.query_one("#ra-topics", Input).value = "ill, theses, ILL"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "entry saved")
        await wait_until(pilot, lambda: "Chat" in app.model.chats[chat_id].analytics)
        await wait_until(pilot, lambda: "added to Reference Analytics" in screen_text(app))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
        await wait_until(pilot, lambda: "editing the existing entry" in screen_text(app))
        assert app.screen.query_one("#ra-read_scale", RadioSet).pressed_index == 3
        await pilot.press("escape")

        # Export: the patron copy leaves the note out.
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("ctrl+s")
        exported = tmp_path / "exports" / f"chat-{chat_id}-patron.md"
        await wait_until(pilot, lambda: exported.exists(), "export written")
        text = exported.read_text()
        assert "Sure, send me the title." in text and "WorldCat" not in text

        # Close: gone from the dashboard, kept in history with everything attached.
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("ctrl+w", "y")
        await wait_until(pilot, lambda: chat_id not in app.model.chats, "closed")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen
        for query in ['"', "*", "NEAR(", "-", "WorldCat", "théses", "Maya"]:
            history.query_one(Input).value = query
            await wait_until(pilot, lambda q=query: history.shown_query == q, f"searched {query!r}")
        history.query_one(Input).value = "worldcat"
        await wait_until(pilot, lambda: history.query_one(DataTable).row_count == 1, "note found")
        history.query_one(DataTable).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatRecordScreen))
        await wait_until(pilot, lambda: "Ticket #1" in screen_text(app) and "Reference Analytics" in
                         screen_text(app), "record")
        await pilot.press("escape", "escape")

        # Tickets: listed, and closed from here.
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketsScreen))
        await wait_until(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: rows(backend, "SELECT status FROM tickets") == [("closed",)])
        await pilot.press("escape")

        # Statistics for today.
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen))
        stats = app.screen
        await wait_until(pilot, lambda: stats.result is not None, "stats")
        assert str(stats.query_one("#stats-chats").render()) == "1"
        stats.query_one(Input).value = "yesterday"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "is not a date" in screen_text(app))
    del pat


@pytest.mark.parametrize("level", ["7", "0"])
async def test_read_level_outside_scale_refused_by_the_desk(backend: Backend, level: str) -> None:
    from wire import librarian

    lib, _ = await librarian(backend.url, backend.token)
    _p, joined = await join(backend.url)
    reply = await lib.request("save_analytics", chat_id=desk_id(backend, joined), dataset="Chat",
                              fields={"question_type": "reference", "read_scale": level})
    assert reply["code"] == "invalid_analytics" and "1 to 6" in reply["message"]
    reply = await lib.request("save_analytics", chat_id=desk_id(backend, joined), dataset="Nope", fields={})
    assert reply["code"] == "unknown_dataset"
    reply = await lib.request("create_ticket", chat_id=9999, name="x", email="a@b.co", subject="s", body="")
    assert reply["code"] == "unknown_chat"
    assert rows(backend, "SELECT COUNT(*) FROM analytics")[0][0] == 0
