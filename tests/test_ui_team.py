"""The team desk in the console (issue 15): presence in the desk bar and f9, departments
with f8, and transfer with ctrl+g, on the real app and a real desk, with a colleague
(Ben) speaking the protocol."""

from __future__ import annotations

from pathlib import Path

from desk_ids import desk_id
from ui_support import Toasts, make_app, screen_text, wait_until
from wire import join, librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.team_dialogs import AnswerTransfer, ChooseDepartments, TransferChat


def bar(app: LibChatApp) -> str:
    return str(app.screen.query_one("#desk-bar").render())


async def test_presence_shows_in_the_desk_bar_and_f9_goes_away(team_desk: Backend, clock: FakeClock,
                                                               tmp_path: Path) -> None:
    ben, _ = await librarian(team_desk.url, "t", "Ben Ortiz", lib_id="ben")
    app = make_app(team_desk, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(140, 40), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: "with Ben Ortiz ●" in bar(app), "Ben in the desk bar")
        await ben.ok("presence", state="away")
        await wait_until(pilot, lambda: "Ben Ortiz ◐ away" in bar(app), "Ben away, in words")
        visitor = await patron(team_desk.url)
        assert (await visitor.ok("status"))["librarians_online"] == 1  # Ana
        await pilot.press("f9")
        await wait_until(pilot, lambda: "◐ away" in bar(app).split("with")[0], "my own away")
        await wait_until(pilot, lambda: team_desk.server.librarians_online("General") == 0, "the desk knows")
        assert (await visitor.ok("status"))["librarians_online"] == 0  # nobody online: offer a ticket
        before = len(toasts.notifications)
        await join(team_desk.url, name="Quiet Quinn")
        await wait_until(pilot, lambda: any(c.patron_name == "Quiet Quinn" for c in app.model.chats.values()))
        await pilot.pause(0.3)
        assert not any("Quiet Quinn" in n.message for n in toasts.notifications[before:])  # away: no alert
        await pilot.press("f9")
        await wait_until(pilot, lambda: team_desk.server.librarians_online("General") == 1, "online again")


async def test_departments_i_do_not_monitor_are_counted_not_listed(team_desk: Backend, clock: FakeClock,
                                                                   tmp_path: Path) -> None:
    app = make_app(team_desk, clock, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.departments == ["General", "Law library"])
        pat = await patron(team_desk.url)
        law = await pat.ok("join", name="Lex", question="Case law?", department="Law library")
        await join(team_desk.url, name="Gen", question="Printing?")
        await wait_until(pilot, lambda: len(app.model.chats) == 2)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseDepartments))
        assert "[x] Law library" in screen_text(app)
        await pilot.press("tab", "space")  # untick Law library
        assert "[ ] Law library" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.model.monitor == ["General"], "monitor saved")
        assert isinstance(app.screen, DashboardScreen)
        await wait_until(pilot, lambda: "+1 elsewhere" in bar(app), "counted")
        listed = [c.patron_name for c in app.model.listed()]
        assert listed == ["Gen"]
        assert app.model.next_waiting() is not None and app.model.next_waiting().patron_name == "Gen"
        refused = await app.request("accept", quiet=True, chat_id=desk_id(team_desk, law))
        assert refused is None  # the desk enforces it too


async def test_transfer_to_a_colleague_with_ctrl_g_and_answer_an_offer(team_desk: Backend, clock: FakeClock,
                                                                       tmp_path: Path) -> None:
    ben, _ = await librarian(team_desk.url, "t", "Ben Ortiz", lib_id="ben")
    _pat, joined = await join(team_desk.url, name="Maya <b>Reyes</b>", question="Census 1920?")
    chat_id = desk_id(team_desk, joined)
    app = make_app(team_desk, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(140, 40), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats and app.model.librarians)
        await app.request("accept", chat_id=chat_id)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        dashboard.chat_list.select_chat(chat_id)
        await wait_until(pilot, lambda: dashboard.chat is not None and dashboard.chat.id == chat_id)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, TransferChat), "the transfer dialog")
        assert "Maya <b>Reyes</b>" in screen_text(app)  # the name as text, never markup
        await pilot.press("tab")
        await pilot.press(*"Census records")
        await pilot.press("enter")  # Ben is the first target
        await wait_until(pilot, lambda: app.model.chats[chat_id].transfer is not None, "offered")
        assert "Offered to Ben Ortiz" in screen_text(app)
        await ben.ok("answer_transfer", chat_id=chat_id, accept=True)
        await wait_until(pilot, lambda: app.model.chats[chat_id].owner.id == "ben", "Ben has it")

        # Now Ben offers another chat to Ana: a toast, and ctrl+g answers it.
        _p2, second = await join(team_desk.url, name="Omar", question="Maps?")
        second_id = desk_id(team_desk, second)
        await ben.ok("accept", chat_id=second_id)
        await ben.ok("transfer", chat_id=second_id, to_librarian="ana", note="Map room question")
        await wait_until(pilot, lambda: any("offers you the chat with Omar" in n.message
                                            for n in toasts.notifications), "the offer is said")
        dashboard.chat_list.select_chat(second_id)
        await wait_until(pilot, lambda: dashboard.chat is not None and dashboard.chat.id == second_id)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, AnswerTransfer))
        assert "Note from Ben Ortiz: Map room question" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: app.model.chats[second_id].owner.id == "ana", "taken over")
        owner = team_desk.desk.chats[second_id].owner
        assert owner is not None and owner.id == "ana"


async def test_a_chat_waiting_too_long_alerts_again_once(team_desk: Backend, clock: FakeClock,
                                                         tmp_path: Path) -> None:
    app = make_app(team_desk, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(140, 40), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: app.model.departments, "hello")
        await join(team_desk.url, name="Patient Pat")
        await wait_until(pilot, lambda: len(app.model.chats) == 1)
        await clock.advance(181)  # [desk] realert_seconds is 180 by default
        await wait_until(pilot, lambda: any("Patient Pat has waited over 3 min" in n.message
                                            for n in toasts.notifications), "the second alert", timeout=4)
        await pilot.pause(1.2)  # another tick: no third alert
        assert sum("has waited over" in n.message for n in toasts.notifications) == 1
