"""Every dialog fits an 80x24 terminal: no line of its text is cut at the right edge
(issue 22: "n = declin", "…linked to t", "5-1…"). Long text wraps; only the dialog box
itself may scroll, and its buttons or keys are then reachable by scrolling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from desk_ids import desk_id
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static
from ui_support import make_app, wait_until
from wire import join

from libchat_tui.analytics import DEFAULT_DATASETS
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.domain import Chat, TransferOffer
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.analytics_form import AnalyticsScreen
from libchat_tui.ui.screens.block_dismiss import DismissScreen
from libchat_tui.ui.screens.block_patron import BlockScreen
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.export_dialog import ExportScreen
from libchat_tui.ui.screens.note import NoteScreen
from libchat_tui.ui.screens.patron_edit import PatronEditScreen
from libchat_tui.ui.screens.team_dialogs import AnswerTransfer, ChooseDepartments, TransferChat
from libchat_tui.ui.screens.ticket_form import TicketScreen


def cut(screen: ModalScreen[object]) -> list[str]:
    """Text widgets of the dialog that reach past the right edge of what holds them."""
    found = []
    for widget in screen.query(Static):
        if not widget.display or widget.region.width == 0:
            continue
        holder = widget.parent
        assert isinstance(holder, Widget)
        right = min(holder.content_region.right, screen.region.right)
        if widget.region.right > right:
            found.append(f"{type(widget).__name__}#{widget.id}: {str(widget.render())[:60]!r} "
                         f"ends at {widget.region.right}, room to {right}")
    return found


def offered(chat: Chat, now) -> Chat:  # type: ignore[no-untyped-def]
    from dataclasses import replace
    offer = TransferOffer("ana", "Ana Reyes", "ben", "Benedict Ortiz-Villanueva", "Law question: the 1998 "
                          "building code, which is in storage", now, now + timedelta(seconds=60))
    return replace(chat, transfer=offer)


DIALOGS: dict[str, Callable[[Chat, LibChatApp], ModalScreen[object]]] = {
    "confirm": lambda chat, app: Confirm("Close the chat with Maya Lin-Hernández? It leaves the dashboard "
                                         "(it stays in History, f3)."),
    "answer-transfer": lambda chat, app: AnswerTransfer(offered(chat, app.now())),
    "transfer": lambda chat, app: TransferChat(chat, [{"id": "ben", "name": "Benedict Ortiz-Villanueva",
                                                       "state": "online"}], ["General", "Law library"]),
    "departments": lambda chat, app: ChooseDepartments(["General", "Law library"], ["General"]),
    "note": lambda chat, app: NoteScreen(chat),
    "ticket": lambda chat, app: TicketScreen(chat),
    "analytics": lambda chat, app: AnalyticsScreen(chat, dict(DEFAULT_DATASETS)),
    "export": lambda chat, app: ExportScreen(chat),
    "dismiss": lambda chat, app: DismissScreen(chat),
    "block": lambda chat, app: BlockScreen(chat),
    "patron-edit": lambda chat, app: PatronEditScreen(chat),
}


@pytest.mark.parametrize("kind", list(DIALOGS))
async def test_no_dialog_cuts_its_text_at_80_columns(
        backend: Backend, clock: FakeClock, tmp_path: Path, kind: str) -> None:
    _pat, joined = await join(backend.url, name="Maya Lin-Hernández",
                              question="Where is the 1998 building code for the county?",
                              email="maya.lin-hernandez@students.example.edu")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await app.request("accept", chat_id=chat_id)
        await wait_until(pilot, lambda: app.model.chats[chat_id].owner is not None)
        dialog = DIALOGS[kind](app.model.chats[chat_id], app)
        app.push_screen(dialog)
        await wait_until(pilot, lambda: app.screen is dialog and dialog.is_mounted)
        await pilot.pause(0.2)
        assert cut(dialog) == []
