"""Plain mode's own words for the team desk: canned names typed in part, block lengths
typed as `1h` or `7d`, dismiss reasons typed as words, the missed-chat question and
outcome as lines, and a patron's wait spoken. The rules both consoles share (placeholders,
block lengths, presets, which missed chats close, browsers) live in `vocabulary`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from ..domain import Chat, ChatState
from ..vocabulary import PRESETS, find_canned, missed_chats, until_text
from .events import duration

# --- canned messages -------------------------------------------------------------------

def match_canned(messages: list[dict[str, Any]], typed: str) -> list[dict[str, Any]]:
    """The canned messages `typed` names: the one of that name, else those it begins."""
    exact = find_canned(messages, typed)
    if exact is not None:
        return [exact]
    folded = typed.strip().casefold()
    return [m for m in messages if str(m.get("name", "")).casefold().startswith(folded)]


# --- blocks ----------------------------------------------------------------------------

DEFAULT_DURATION = "1 day"
MAX_BLOCK_MINUTES = 30 * 24 * 60
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60,
          "d": 24 * 60, "day": 24 * 60, "days": 24 * 60}
_LENGTH = re.compile(r"([0-9]{1,6})\s*([a-z]+)")


def block_minutes(text: str) -> int | None:
    """`1h`, `90m`, `7d`, `1 day` as minutes; None if it is not a length of time."""
    found = _LENGTH.fullmatch(text.strip().lower())
    if found is None or found.group(2) not in _UNITS:
        return None
    return int(found.group(1)) * _UNITS[found.group(2)]


def minutes_words(minutes: int) -> str:
    """A block's length as a person says it: "1 hour", "90 minutes", "7 days"."""
    size, unit = next((s, u) for s, u in ((24 * 60, "day"), (60, "hour"), (1, "minute")) if minutes % s == 0)
    count = minutes // size
    return f"{count} {unit}{'s' if count != 1 else ''}"


def block_question(name: str, minutes: int, now: datetime) -> str:
    """What the full console's Block dialog asks, with the end of the block in local time."""
    until = until_text(now + timedelta(minutes=minutes), now)
    return (f"Block {name} for {minutes_words(minutes)}? Their chat ends now, and new chats from the same "
            f"browser or address are refused until {until}.")


# --- dismiss ---------------------------------------------------------------------------

#: Words that name a preset at the start of `/dismiss 12 spam …`.
PRESET_WORDS = {"spam": "Spam", "test": "Test chat", "abusive": "Abusive", "abuse": "Abusive",
                "other": "Other"}


def typed_reason(text: str) -> tuple[str, str]:
    """`spam links to a shop` -> ("Spam", "links to a shop"); `test chat` -> ("Test chat", "");
    words that name no preset are the librarian's own: ("Other", the words)."""
    words = text.split()
    if not words:
        return PRESETS[-1], ""
    preset = PRESET_WORDS.get(words[0].lower().rstrip(":,."))
    if preset is None:
        return PRESETS[-1], " ".join(words)
    rest = words[1:]
    if preset == "Test chat" and rest and rest[0].lower().rstrip(":,.") == "chat":
        rest = rest[1:]
    return preset, " ".join(rest)


# --- missed chats ----------------------------------------------------------------------


def close_missed_question(count: int) -> str:
    they = "They leave the desk; they stay" if count != 1 else "It leaves the desk; it stays"
    return f"Close {missed_chats(count)}? {they} in /history."


def close_missed_outcome(total: int, refusals: list[str]) -> str:
    """One line for a bulk close: everything closed, or how many were refused and why."""
    if not refusals:
        return f"Closed {missed_chats(total)}."
    reasons = " ".join(dict.fromkeys(r.rstrip(".") + "." for r in refusals))
    return f"Closed {total - len(refusals)} of {total}; {len(refusals)} could not be closed: {reasons}"


# --- the patron ------------------------------------------------------------------------

def waited(chat: Chat, now: datetime) -> str:
    """How long the patron waited for a librarian: "2 minutes", "still waiting: 45 seconds"."""
    if chat.accepted_at is not None:
        return duration((chat.accepted_at - chat.created_at).total_seconds())
    if chat.state in (ChatState.WAITING, ChatState.RECONNECTING):
        return f"still waiting: {duration((now - chat.created_at).total_seconds())}"
    return "never accepted"
