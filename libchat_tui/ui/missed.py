"""Missed chats: patrons who left before any librarian accepted, and closing them all at once.

A chat is missed when it is over (ended or disconnected) and nobody ever owned it: the
patron gave up waiting, or dropped while waiting and the grace period ran out. The
dashboard can show only those (`m`), and close every one the domain lets this librarian
close with one confirmation (`ctrl+l`): one `close` command per chat, one toast for the
outcome. No textual here: the dashboard asks and shows; this module decides and sends.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..client import CommandError
from ..vocabulary import closable, missed_chats

if TYPE_CHECKING:
    from .app import LibChatApp

__all__ = ["closable", "close_all", "outcome", "question"]

#: At most this many of the desk's refusals are quoted in the outcome toast.
REASONS_SHOWN = 2


def question(count: int) -> str:
    """What the confirmation asks, with the exact count."""
    they = "They leave the dashboard; they stay" if count != 1 else "It leaves the dashboard; it stays"
    return f"Close {missed_chats(count)}? {they} in History."


def outcome(total: int, refusals: list[str]) -> str:
    """The one toast that reports a bulk close: everything closed, or what was refused and why."""
    if not refusals:
        return f"Closed {missed_chats(total)}."
    closed = total - len(refusals)
    reasons = list(dict.fromkeys(refusals))  # each distinct reason once, in order
    said = " ".join(reasons[:REASONS_SHOWN])
    more = len(reasons) - REASONS_SHOWN
    if more > 0:
        said += f" (and {more} other reason{'s' if more != 1 else ''})"
    return f"Closed {closed} of {total}; {len(refusals)} could not be closed: {said}"


async def close_all(app: LibChatApp, chat_ids: list[int]) -> None:
    """Send one `close` per chat, all at once (offline they wait in the outbox together),
    and report the outcome in one toast; offline, say first that they are queued."""
    client = app.client
    if client is None:
        app.notify("Not connected to the desk yet.", severity="warning", markup=False)
        return
    if not chat_ids:
        app.notify("No missed chats to close.", markup=False)
        return
    offline = not client.online
    refusals: list[str] = []

    async def close(chat_id: int) -> None:
        # The client directly, not `app.request`: that toasts every refusal on its own.
        try:
            await client.command("close", chat_id=chat_id)
        except CommandError as exc:
            refusals.append(exc.message)
        else:
            app.apply_now()

    sent = [asyncio.ensure_future(close(chat_id)) for chat_id in chat_ids]
    if offline:
        app.notify(f"Offline: {len(chat_ids)} close command{'s' if len(chat_ids) != 1 else ''} "
                   "queued; the missed chats close when the desk is back.", title="Queued",
                   markup=False)
    await asyncio.gather(*sent)
    app.notify(outcome(len(chat_ids), refusals), title="Refused" if refusals else "",
               severity="warning" if refusals else "information", timeout=10 if refusals else 4,
               markup=False)
