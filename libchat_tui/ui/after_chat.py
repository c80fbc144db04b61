"""The after-chat screens, by the action that opens them.

The dashboard's bindings for these actions apply only when a screen is registered
here, so the footer never offers a key that does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..domain import Chat

if TYPE_CHECKING:
    from .app import LibChatApp

Opener = Callable[["LibChatApp", Chat | None], None]


def _note(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.note import NoteScreen

    if chat is not None:
        app.push_screen(NoteScreen(chat))


def _queued(app: LibChatApp, key: str, what: str) -> bool:
    """True (and said) if a save of this kind for this chat is still on its way."""
    submission = app.submissions.get(key)
    if submission is None or not submission.pending:
        return False
    app.notify(f"{what} for this chat is queued; it will be saved when the desk is back.",
               markup=False)
    return True


def _ticket(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.ticket_form import TicketScreen

    if chat is not None and not _queued(app, f"ticket:{chat.id}", "A ticket"):
        app.push_screen(TicketScreen(chat))


def _analytics(app: LibChatApp, chat: Chat | None) -> None:
    from .screens.analytics_form import AnalyticsScreen

    if chat is None or _queued(app, f"analytics:{chat.id}", "A Reference Analytics entry"):
        return
    datasets = None if app.client is None else app.client.datasets()
    if datasets is None:
        app.notify("Not connected to the desk yet: its Reference Analytics datasets are unknown.",
                   severity="warning", markup=False)
        return
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
