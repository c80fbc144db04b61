"""Status badges: glyph + word + colour for every chat state, and the status line text.

The colour is a theme variable (defined in the app's theme defaults), so themes and
colour-blind palettes work; the glyph and the word mean a badge never relies on colour.
"""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from ..domain import Chat, ChatState
from ..sanitize import clean_name

BADGES: dict[ChatState, tuple[str, str, str]] = {
    ChatState.WAITING: ("●", "NEW", "$badge-new"),
    ChatState.ACTIVE: ("▶", "ACTIVE", "$badge-active"),
    ChatState.RECONNECTING: ("↻", "RECONNECTING", "$badge-reconnecting"),
    ChatState.ENDED: ("■", "ENDED", "$badge-ended"),
    ChatState.DISCONNECTED: ("✖", "DISCONNECTED", "$badge-ended"),
    ChatState.CLOSED: ("○", "CLOSED", "$text-muted"),
}
#: Widest badge word, so list columns line up.
BADGE_WIDTH = 2 + max(len(word) for _, word, _ in BADGES.values())


def badge(state: ChatState, *, pad: bool = False) -> Content:
    glyph, word, colour = BADGES[state]
    text = f"{glyph} {word}"
    if pad:
        text = text.ljust(BADGE_WIDTH)
    return Content.styled(text, f"bold {colour}")


def hm(at: datetime) -> str:
    """A time as the librarian reads it: local HH:MM."""
    return at.astimezone().strftime("%H:%M")


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def status_line(chat: Chat, me: str, now: datetime) -> str:
    """What happened to the chat, in words, with the local time."""
    change = chat.last_change
    at = hm(change.at) if change else hm(chat.last_activity)
    by = change.by if change else None
    state = chat.state
    if state is ChatState.WAITING:
        return f"Waiting {duration((now - chat.created_at).total_seconds())} — press enter to accept"
    if state is ChatState.ACTIVE:
        owner = chat.owner
        offer = chat.transfer
        if offer is not None:
            remaining = f"{max(0, int((offer.expires_at - now).total_seconds() + 0.999))} s left"
            if offer.to_id == me:
                return (f"⇄ {clean_name(offer.from_name)} offers you this chat ({remaining}) — ctrl+g to "
                        "take it or decline")
            return f"⇄ Offered to {clean_name(offer.to_name)}, not answered yet ({remaining})"
        since = hm(chat.owner_since or chat.accepted_at or chat.created_at)
        if owner is not None and owner.id != me:
            taken = chat.owner_since is not None and chat.owner_since != chat.accepted_at
            if taken:  # taken over in a transfer: since then, not since the first accept
                return f"With {clean_name(owner.name)} since {since}"
            return f"Accepted by {clean_name(owner.name)} at {since}"
        return f"Active since {since}"
    if state is ChatState.RECONNECTING:
        left = (chat.grace_deadline - now).total_seconds() if chat.grace_deadline else 0
        return f"Patron reconnecting… {max(0, int(left + 0.999))} s left"
    if state is ChatState.ENDED:
        if by is not None and by.kind == "patron":
            return f"Chat closed by the patron at {at}"
        if by is not None and by.kind == "librarian":
            who = "you" if by.id == me else clean_name(by.name)
            return f"Chat ended by {who} at {at}"
        return f"Chat ended at {at}"
    if state is ChatState.DISCONNECTED:
        line = f"Patron disconnected at {at} — offered a ticket"
        if chat.patron_ticket_id is not None:
            line += f"; the patron submitted ticket #{chat.patron_ticket_id}"
        return line
    return f"Closed at {hm(chat.closed_at or chat.last_activity)}"
