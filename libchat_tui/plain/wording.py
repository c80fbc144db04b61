"""The team desk's rules and words that plain mode shares with the full console.

Canned-message placeholders, block lengths and what a block holds, dismiss reasons,
missed-chat counts, and a patron's browser and wait. The full console has the same
rules in `ui/` (`ui/canned.py`: `expand`, `find`; `ui/missed.py`: `closable`, `question`,
`outcome`; `ui/screens/block_patron.py`: `until_text`, `question`, `DURATIONS`;
`ui/screens/block_list.py`: `where`; `ui/screens/block_dismiss.py`: `PRESETS`, `reason`;
`ui/widgets/patron_panel.py`: `short_browser`, `waited`). Those modules import textual,
which plain mode must not, so the rules are stated here without it, word for word where
the console shows words; they belong in one module below both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .. import protocol as p
from ..domain import Act, Chat, ChatState, is_missed, may
from ..protocol import LIMITS
from ..sanitize import clean, clean_name
from .events import duration

# --- canned messages -------------------------------------------------------------------

#: `{name}` -> what it becomes when a canned message goes into a chat; any other `{...}` stays.
PLACEHOLDERS = ("patron_name", "librarian_name", "library_name")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def expand(text: str, *, patron_name: str, librarian_name: str, library_name: str) -> str:
    """A canned text with its placeholders filled in, made inert, on one line.

    One pass: a patron who calls themself "{librarian_name}" stays "{librarian_name}".
    """
    values = {
        "patron_name": clean_name(patron_name, LIMITS["name"]),
        "librarian_name": clean_name(librarian_name, LIMITS["name"]),
        "library_name": clean_name(library_name, LIMITS["name"]) if library_name.strip() else "the library",
    }
    filled = _PLACEHOLDER.sub(lambda found: values[found.group(1)], text)
    return clean(filled, single_line=True, max_len=LIMITS["message"])


def find_canned(messages: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The canned message called `name` (case aside), if the team has it."""
    folded = name.strip().casefold()
    return next((m for m in messages if str(m.get("name", "")).casefold() == folded), None)


def match_canned(messages: list[dict[str, Any]], typed: str) -> list[dict[str, Any]]:
    """The canned messages `typed` names: the one of that name, else those it begins."""
    exact = find_canned(messages, typed)
    if exact is not None:
        return [exact]
    folded = typed.strip().casefold()
    return [m for m in messages if str(m.get("name", "")).casefold().startswith(folded)]


# --- blocks ----------------------------------------------------------------------------

#: The lengths the full console offers: (minutes, in words). The desk takes 1 min to 30 days.
DURATIONS: tuple[tuple[int, str], ...] = ((60, "1 hour"), (24 * 60, "1 day"), (7 * 24 * 60, "7 days"),
                                           (30 * 24 * 60, "30 days"))
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


def until_text(until: datetime, now: datetime) -> str:
    """When a block ends, in local time: "15:05 today", "14:05 tomorrow", "Sat 5 Dec 14:05"."""
    at, today = until.astimezone(), now.astimezone().date()
    days = (at.date() - today).days
    if days == 0:
        return f"{at:%H:%M} today"
    if days == 1:
        return f"{at:%H:%M} tomorrow"
    year = f" {at.year}" if at.year != today.year else ""
    return f"{at:%a} {at.day} {at:%b}{year} {at:%H:%M}"


def block_question(name: str, minutes: int, now: datetime) -> str:
    """What the full console's Block dialog asks, with the end of the block in local time."""
    until = until_text(now + timedelta(minutes=minutes), now)
    return (f"Block {name} for {minutes_words(minutes)}? Their chat ends now, and new chats from the same "
            f"browser or address are refused until {until}.")


def where(block: dict[str, Any]) -> str:
    """What a block holds, in words: "address 203.0.113.7 or the same browser"."""
    address = block.get("address")
    held = [f"address {clean(str(address), single_line=True, max_len=60)}"] if address else []
    if block.get("browser"):
        held.append("the same browser")
    return " or ".join(held) or "nowhere (the desk knew neither address nor browser)"


# --- dismiss ---------------------------------------------------------------------------

#: The full console's preset reasons; the last ("Other") takes its words from the details.
PRESETS: tuple[str, ...] = ("Spam", "Test chat", "Abusive", "Other")
#: Words that name a preset at the start of `/dismiss 12 spam …`.
PRESET_WORDS = {"spam": "Spam", "test": "Test chat", "abusive": "Abusive", "abuse": "Abusive",
                "other": "Other"}


def dismiss_reason(preset: str, details: str) -> str:
    """The reason as stored: "Spam", "Spam: links to a shop", or the details alone for Other."""
    details = " ".join(details.split())
    if preset == PRESETS[-1]:
        return details
    return f"{preset}: {details}" if details else preset


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


def closable(chats: Iterable[Chat], librarian_id: str, queued: Iterable[p.Command] = ()) -> list[Chat]:
    """The missed chats this librarian may close now (the domain's rule), leaving out those
    whose `close` already waits in the outbox."""
    closing = {frame.chat_id for frame in queued if isinstance(frame, p.Close)}
    return [chat for chat in chats
            if is_missed(chat) and chat.id not in closing and may(chat, Act.CLOSE, librarian_id)]


def missed_chats(count: int) -> str:
    """"1 missed chat", "7 missed chats"."""
    return f"{count} missed chat{'s' if count != 1 else ''}"


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

#: Browsers (user-agent token -> name), in the order they must be tried: Edge and Opera say
#: "Chrome" too, Chrome says "Safari", Firefox on iOS says "FxiOS".
_BROWSERS = (("Edg", "Edge"), ("EdgA", "Edge"), ("EdgiOS", "Edge"), ("OPR", "Opera"),
             ("SamsungBrowser", "Samsung Internet"), ("FxiOS", "Firefox"), ("Firefox", "Firefox"),
             ("CriOS", "Chrome"), ("HeadlessChrome", "Headless Chrome"), ("Chrome", "Chrome"),
             ("Version", "Safari"))
_SYSTEMS = (("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"), ("CrOS", "ChromeOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"))


def short_browser(agent: str | None) -> str:
    """A user agent as a person says it: "Firefox 128 on Windows"; unknown ones shortened."""
    if not agent or not agent.strip():
        return "not sent"
    text = clean(agent, single_line=True, max_len=300)
    name = ""
    for token, said in _BROWSERS:
        found = re.search(rf"\b{token}/(\d+)", text)
        if found is not None and (said != "Safari" or "Safari/" in text):
            name = f"{said} {found.group(1)}"
            break
    system = next((said for token, said in _SYSTEMS if token in text), "")
    if name and system:
        return f"{name} on {system}"
    return name or system or clean(text, single_line=True, max_len=60)


def waited(chat: Chat, now: datetime) -> str:
    """How long the patron waited for a librarian: "2 minutes", "still waiting: 45 seconds"."""
    if chat.accepted_at is not None:
        return duration((chat.accepted_at - chat.created_at).total_seconds())
    if chat.state in (ChatState.WAITING, ChatState.RECONNECTING):
        return f"still waiting: {duration((now - chat.created_at).total_seconds())}"
    return "never accepted"
