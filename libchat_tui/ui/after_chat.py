"""The after-chat screens, by the action that opens them.

The dashboard's bindings for these actions apply only when a screen is registered
here, so the footer never offers a key that does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..analytics import DEFAULT_DATASETS, Dataset
from ..domain import Chat

if TYPE_CHECKING:
    from .app import LibChatApp

Opener = Callable[["LibChatApp", Chat | None], None]


def _note(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.note import NoteScreen

    if chat is not None:
        app.push_screen(NoteScreen(chat))


def _ticket(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.ticket_form import TicketScreen

    if chat is not None:
        app.push_screen(TicketScreen(chat))


def _analytics(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.analytics_form import AnalyticsScreen

    if chat is None:
        return
    if app.client is None or not app.client.hello:
        app.notify("Not connected to the desk yet: its Reference Analytics datasets are unknown.",
                   severity="warning", markup=False)
        return
    wire = app.client.hello.get("datasets")
    if wire is None:  # a desk older than datasets in `hello` has the default one
        datasets = dict(DEFAULT_DATASETS)
    else:
        datasets = {str(n): Dataset.from_wire({**d, "name": n}) for n, d in wire.items()}
    if not datasets:
        app.notify("No Reference Analytics dataset is configured on this desk "
                   "(see [analytics.datasets] in the settings).", severity="warning", markup=False)
        return
    app.push_screen(AnalyticsScreen(chat, datasets))


def _export(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.export_dialog import ExportScreen

    if chat is not None:
        app.push_screen(ExportScreen(chat, app.export_dir))


def _tickets(app: LibChatApp, _chat: Chat | None) -> None:
    from .screens.tickets import TicketsScreen

    app.push_screen(TicketsScreen())


def _history(app: LibChatApp, _chat: Chat | None) -> None:
    from .screens.history import HistoryScreen

    app.push_screen(HistoryScreen())


def _stats(app: LibChatApp, _chat: Chat | None) -> None:
    from .screens.stats import StatsScreen

    app.push_screen(StatsScreen())


SCREENS: dict[str, Opener] = {
    "note": _note,
    "ticket": _ticket,
    "analytics": _analytics,
    "export": _export,
    "tickets": _tickets,
    "history": _history,
    "stats": _stats,
}
