"""The smaller console findings of issue 22, each as a librarian meets it."""

from __future__ import annotations

import json
from pathlib import Path

from desk_ids import desk_id
from ui_support import Toasts, db, make_app, screen_text, state, wait_until
from wire import join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.screens.block_dismiss import DismissScreen
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.tickets import describe
from libchat_tui.ui.team import team_text


async def test_enter_on_the_reason_dismisses(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    _maya, joined = await join(backend.url, name="Spammy", question="Buy cheap watches")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, DismissScreen), "asks why")
        await pilot.press("down", "enter")  # the second reason, and enter as the guide says
        await wait_until(pilot, lambda: state(app, chat_id) == "gone", "dismissed")
        stored = json.loads(db(backend, "SELECT data FROM chats WHERE id=?", chat_id)[0][0])
        assert stored["dismissed"] == "Test chat"


def test_the_desk_bar_counts_colleagues_when_their_names_do_not_fit() -> None:
    team = [{"id": "ana", "name": "Ana Reyes", "state": "online"},
            {"id": "ben", "name": "Ben Ortiz", "state": "away"},
            {"id": "cy", "name": "Cy Plain", "state": "online"}]
    assert team_text(team, "ana", 60) == "with Ben Ortiz ◐ away, Cy Plain ●"
    assert team_text(team, "ana", 8) == "+2 (1 away)"  # never nothing


async def test_at_80_columns_the_desk_bar_still_says_who_else_is_there(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben Ortiz", lib_id="ben")
    await ben.ok("presence", state="away")
    _p, joined = await join(backend.url)
    app = make_app(backend, clock, tmp_path, name="Ana Reyes")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)
        await wait_until(pilot, lambda: "away" in screen_text(app).splitlines()[0], "Ben, counted")
        await pilot.press("f9")  # I go away too: said beside my name, not beside "online"
        await wait_until(pilot, lambda: "Ana Reyes (◐ away)" in screen_text(app).splitlines()[0])
        assert "● online ◐" not in screen_text(app)


def test_an_offline_form_ticket_is_not_called_a_ticket_offer() -> None:
    base = {"id": 4, "name": "Una", "email": "una@example.org", "subject": "Census", "body": "1920?",
            "status": "open", "source": "patron", "created_by": "Una",
            "created_at": "2026-12-08T10:00:00+00:00", "closed_at": None}
    offline = describe({**base, "chat_id": None}).plain
    dropped = describe({**base, "chat_id": 7}).plain
    assert "offline form" in offline and "ticket offer" not in offline
    assert "dropped" in dropped


async def test_a_stale_not_saved_message_goes_once_the_field_is_filled(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    from libchat_tui.ui.screens.analytics_form import AnalyticsScreen as AnalyticsForm

    _p, joined = await join(backend.url, name="Rosa")
    chat_id = desk_id(backend, joined)
    toasts = Toasts()
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: state(app, chat_id) == "active")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, AnalyticsForm) and app.screen.ready)
        form = app.screen

        def error() -> str:
            return str(form.query_one("#analytics-error").render())

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Not saved:" in error(), "the error")
        await pilot.press("space", "down", "enter")  # the question type has the focus: choose one
        await wait_until(pilot, lambda: "Not saved:" not in error(), "the stale error goes")
        assert isinstance(app.screen, AnalyticsForm | DashboardScreen)


async def test_the_palette_lists_each_command_once_and_none_of_textuals_extras(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.status.state == "online")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)), titles
        assert not {"Maximize", "Screenshot", "Copy selected text"} & set(titles)
        assert {"Quit", "Keys", "Theme"} <= set(titles)  # Theme: the accessible themes


def test_f1_lists_the_keys_of_dialogs_the_patron_panel_and_the_reply(tmp_path: Path) -> None:
    from libchat_tui.config import load_settings
    from libchat_tui.ui.app import LibChatApp

    app = LibChatApp(load_settings(tmp_path / "none.toml"), librarian_id="ana", name="Ana")
    keys = {row[0] for row in app.key_rows()}
    assert {"ctrl+s (in a dialog)", "e", "/ (at the start of the reply)"} <= keys


async def test_a_desk_that_is_down_at_start_is_named_with_the_error(tmp_path: Path, clock: FakeClock) -> None:
    import socket

    from libchat_tui.config import load_settings
    from libchat_tui.ui.app import LibChatApp

    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"ws://127.0.0.1:{port}"
    app = LibChatApp(load_settings(tmp_path / "none.toml"), librarian_id="ana", name="Ana", url=url,
                     token="t", data_dir=tmp_path / "console", now=clock.now)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: url in app.banner_text(), "the banner names the desk")
        banner = app.banner_text()
        assert banner.startswith("Cannot reach the desk — retrying (attempt")
        assert "cannot reach" in banner and url in screen_text(app).replace("\n", "")


async def test_the_footer_ends_with_the_palette_key_at_80_columns(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    _p, joined = await join(backend.url)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats)
        await pilot.press("enter")  # the chat's keys: more than 80 columns of them
        await wait_until(pilot, lambda: state(app, desk_id(backend, joined)) == "active")
        await pilot.press("ctrl+e", "y")
        await wait_until(pilot, lambda: state(app, desk_id(backend, joined)) == "ended")
        await pilot.press("escape")  # and the list's
        await wait_until(pilot, lambda: "Open" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert footer.rstrip().endswith("^p palette"), footer  # no stray letter after it
