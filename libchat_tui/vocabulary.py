"""The desk's rules and words that both consoles say: the full console (`ui/`) and plain
mode (`plain/`) import them from here, so a rule lives once and the two never drift.

Canned-message placeholders, block lengths and what a block holds, dismiss reasons, which
missed chats may be closed, and a patron's browser as a person says it. No textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from . import protocol as p
from .domain import Act, Chat, is_missed, may
from .protocol import LIMITS
from .sanitize import clean, clean_name

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



# --- blocks ----------------------------------------------------------------------------

#: The lengths the consoles offer: (minutes, in words). The desk takes 1 min to 30 days.
DURATIONS: tuple[tuple[int, str], ...] = ((60, "1 hour"), (24 * 60, "1 day"), (7 * 24 * 60, "7 days"),
                                           (30 * 24 * 60, "30 days"))


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


def where(block: dict[str, Any]) -> str:
    """What a block holds, in words: "address 203.0.113.7 or the same browser"."""
    address = block.get("address")
    held = [f"address {clean(str(address), single_line=True, max_len=60)}"] if address else []
    if block.get("browser"):
        held.append("the same browser")
    return " or ".join(held) or "nowhere (the desk knew neither address nor browser)"


# --- dismiss ---------------------------------------------------------------------------

#: The preset reasons; the last ("Other") takes its words from the details.
PRESETS: tuple[str, ...] = ("Spam", "Test chat", "Abusive", "Other")


def dismiss_reason(preset: str, details: str) -> str:
    """The reason as stored: "Spam", "Spam: links to a shop", or the details alone for Other."""
    details = " ".join(details.split())
    if preset == PRESETS[-1]:
        return details
    return f"{preset}: {details}" if details else preset



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
