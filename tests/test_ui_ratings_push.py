"""What a librarian sees after a chat, through the real console on a real desk: the
patron's rating and the page they asked from (dashboard and chat record), the day's
ratings on the statistics screen, and each ticket's and RA entry's delivery to LibAnswers
(a test server of our own on port 0 that refuses, then accepts), with the desk bar's
LibAnswers indicator and "send again" by key and by the command palette.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from desk_ids import desk_id
from libanswers_support import DATASET_ID, FakeLibAnswers, Fault, config
from textual.pilot import Pilot
from textual.widgets import Static
from ui_support import make_app, screen_text, wait_until
from wire import Peer, librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.chat_record import ChatRecordScreen
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.history import HistoryScreen
from libchat_tui.ui.screens.stats import StatsScreen
from libchat_tui.ui.screens.tickets import TicketsScreen

PAGE = "https://library.example.edu/hours?from=chat"
LOGIN_REFUSED = "Client authentication failed (invalid_client)"
LOGIN_FAULT = Fault(401, {"error": "invalid_client", "error_description": LOGIN_REFUSED})
#: How the desk bar begins its warning (the rest is cut to fit the bar).
BAR_WARNING = "LibAnswers ⚠ LibAnswers refused the API login for client"
FIELD_REFUSED = 'The field "Question Type" is required'


def shows(app: LibChatApp, *texts: str) -> Callable[[], bool]:
    return lambda: all(text in screen_text(app) for text in texts)


def desk_bar(app: LibChatApp) -> str:
    dashboard = app.dashboard
    assert dashboard is not None
    return str(dashboard.query_one("#desk-bar", Static).render())


async def rated_chat(backend: Backend, stars: int, comment: str = "", page: str | None = None) -> Peer:
    """A patron asks (from `page`), leaves, and rates the chat."""
    pat = await patron(backend.url)
    await pat.ok("join", name="Maya Lin", question="When do you open on Sunday?", page=page)
    await pat.ok("leave")
    await pat.ok("rate", stars=stars, comment=comment)
    return pat


async def test_a_rated_chat_shows_stars_and_page_on_the_dashboard_and_in_its_record(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online")
        assert "LibAnswers" not in desk_bar(app)  # this desk does not send to LibAnswers
        pat = await patron(backend.url)
        joined = await pat.ok("join", name="Maya Lin", question="When do you open on Sunday?", page=PAGE)
        chat_id = desk_id(backend, joined)
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat on the dashboard")
        await pat.ok("leave")
        await wait_until(pilot, shows(app, "ENDED"), "the chat ended")
        assert "Patron's rating" not in screen_text(app)  # not rated yet
        # Patron text: markup shown as typed, the escape sequence removed by the sanitiser.
        await pat.ok("rate", stars=4, comment="Quick and [b]kind[/b]\x1b[31m, thanks")
        rated = "★★★★☆ 4 of 5: Quick and [b]kind[/b], thanks"
        # Above the transcript, cut to the pane's width.
        await wait_until(pilot, shows(app, "Patron's rating ★★★★☆ 4 of 5: Quick and [b]kind[/b]"),
                         "the rating above the transcript")

        await pilot.press("ctrl+w", "y")  # close: the chat goes to History
        await wait_until(pilot, lambda: chat_id not in app.model.chats, "closed")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), "History")
        await wait_until(pilot, shows(app, "Maya Lin"), "the closed chat listed")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatRecordScreen), "the chat record")
        await wait_until(pilot, shows(app, f"Patron's rating: {rated}", f"Asked from: {PAGE}"),
                         "rating and page in the record")
        assert "\x1b" not in screen_text(app)
        assert "Send again" not in screen_text(app)  # nothing was sent to LibAnswers: no such key


async def test_statistics_show_the_days_ratings_per_star_and_the_mean_live(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, StatsScreen), "Statistics")
        stats = app.screen
        assert isinstance(stats, StatsScreen)
        await wait_until(pilot, shows(app, "No chat was rated that day."), "no ratings yet")

        for stars in (5, 5, 3):
            await rated_chat(backend, stars)
        # Today's figures follow the desk: the ratings arrive as chat events.
        await wait_until(pilot, shows(app, "3 chats rated, mean 4.3 of 5 stars"), "the mean")

        def count(stars: int) -> str:
            return str(stats.query_one(f"#stats-rating-{stars}-count", Static).render())

        assert [count(n) for n in (5, 4, 3, 2, 1)] == ["2", "0", "1", "0", "0"]
        assert "█" in str(stats.query_one("#stats-rating-3").render())
        assert "█" not in str(stats.query_one("#stats-rating-4").render())
        assert shows(app, "★★★★★ 5 stars", "★★★☆☆ 3 stars", "★☆☆☆☆ 1 star")()

        await rated_chat(backend, 1)
        await wait_until(pilot, shows(app, "4 chats rated, mean 3.5 of 5 stars"), "the new rating")
        assert count(1) == "1"


# --- LibAnswers ----------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeLibAnswers]:
    with FakeLibAnswers() as server:
        yield server


@pytest.fixture
async def pushing_desk(tmp_path: Path, clock: FakeClock, fake: FakeLibAnswers) -> AsyncIterator[Backend]:
    """A desk that sends tickets and RA entries to the LibAnswers test server."""
    server = Backend(data_dir=tmp_path / "data", grace_seconds=60, clock=clock, token="test-token",
                     limits=Limits().for_simulated_patrons(), libanswers=config(fake, timeout_seconds=0.5))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def ticket_and_chat(backend: Backend) -> tuple[Peer, int, int]:
    """Ada (another librarian) answers a chat and creates a ticket from it."""
    ada, _hello = await librarian(backend.url, backend.token, name="Ada Lovelace", lib_id="ada")
    pat = await patron(backend.url)
    joined = await pat.ok("join", name="Grace Hopper", email="grace@example.edu",
                          question="Do you have the 1923 yearbook?")
    chat_id = desk_id(backend, joined)
    await ada.ok("accept", chat_id=chat_id)
    ticket = await ada.ok("create_ticket", chat_id=chat_id, name="Grace Hopper", email="grace@example.edu",
                          subject="Scan of the 1923 yearbook", body="Pages 40-44, please.")
    await pat.close()
    return ada, chat_id, int(ticket["ticket"]["id"])


async def send_again_from_the_palette(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+p")
    await pilot.press(*"send again")
    await wait_until(pilot, shows(pilot.app, "Send the tickets and RA entries"),  # type: ignore[arg-type]
                     "the palette offers it")
    await pilot.press("enter")


async def test_tickets_and_the_record_show_libanswers_delivery_live_and_send_refused_ones_again(
        pushing_desk: Backend, fake: FakeLibAnswers, clock: FakeClock, tmp_path: Path) -> None:
    backend = pushing_desk
    fake.fail("POST /oauth/token", LOGIN_FAULT)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: "LibAnswers ✓" in desk_bar(app), "the LibAnswers indicator")
        ada, chat_id, ticket_id = await ticket_and_chat(backend)
        # The login is refused: the ticket is held, and the desk bar says why.
        await wait_until(pilot, lambda: BAR_WARNING in desk_bar(app), "the desk bar's warning")

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketsScreen), "Tickets")
        await wait_until(pilot, shows(app, "⚠ refused", "LibAnswers: ⚠ refused by LibAnswers:"),
                         "the refused ticket, in the list and in full")
        assert LOGIN_REFUSED in str(app.screen.query_one("#ticket-detail", Static).render())  # in full
        assert shows(app, "Send again")()  # the key is in the footer, because it applies
        await pilot.press("r")
        await wait_until(pilot, shows(app, "✓ sent", "LibAnswers: ✓ sent to LibAnswers (ticket 1234)"),
                         "sent on the second try, live")
        assert len(fake.tickets) == 1
        await wait_until(pilot, lambda: "LibAnswers ✓" in desk_bar(app), "the desk bar healthy again")
        # Greyed out in the footer once sent, and no longer offered by the palette.
        assert isinstance(app.screen, TicketsScreen) and app.screen.check_action("retry_push", ()) is None

        await pilot.press("o")  # the ticket's chat
        await wait_until(pilot, lambda: isinstance(app.screen, ChatRecordScreen), "the chat record")
        await wait_until(pilot, shows(app, f"Ticket #{ticket_id}", "LibAnswers: ✓ sent to LibAnswers "
                                      "(ticket 1234)", "https://library.libanswers.com/admin/ticket?qid=1234"),
                         "the ticket's push")

        # Ada adds the chat to Reference Analytics; LibAnswers refuses the transaction.
        fake.fail(f"POST /ra/dataset/{DATASET_ID}/transaction", Fault(400, {"error": FIELD_REFUSED}))
        await ada.ok("save_analytics", chat_id=chat_id, dataset="Chat", fields={
            "question_type": "reference", "read_scale": 3, "topics": ["yearbooks"], "patron_type": "student",
            "answer_summary": "Scans by e-mail."})
        await wait_until(pilot, shows(app, "Reference Analytics (Chat)", "⚠ refused by LibAnswers: "
                                      + FIELD_REFUSED), "the refused entry, live in the record")
        await send_again_from_the_palette(pilot)
        await wait_until(pilot, shows(app, "LibAnswers: ✓ sent to LibAnswers (transaction 9001)"),
                         "the entry sent on the second try")
        assert len(fake.transactions[DATASET_ID]) == 1
        await ada.close()


async def test_a_desk_that_cannot_log_in_says_so_when_the_console_connects(
        pushing_desk: Backend, fake: FakeLibAnswers, clock: FakeClock, tmp_path: Path) -> None:
    """The problem comes with `hello` too: a console started later sees the warning at once."""
    fake.fail("POST /oauth/token", LOGIN_FAULT)
    ada, _chat_id, _ticket_id = await ticket_and_chat(pushing_desk)
    pushed = await ada.next_event("push", kind="ticket")
    assert pushed["state"]["state"] == "refused" and LOGIN_REFUSED in pushed["problem"]
    app = make_app(pushing_desk, clock, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: BAR_WARNING in desk_bar(app), "the warning from hello")
        assert isinstance(app.screen, DashboardScreen)
    await ada.close()

