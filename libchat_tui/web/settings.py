"""The patron chat widget's settings: `[widget]` and `[widget.strings]` in config.toml.

A library names itself, picks its colours, greeting and offline message, says whether
patrons must give an e-mail address, gives the desk's public address (`public_url`, what
browser origins are checked against), lists the web origins allowed to embed the widget,
and may translate every string a patron sees. Parsed once into a frozen
`WidgetSettings`; every mistake is reported through the settings reader with the file,
the line and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..config import _Reader

#: Every string the patron sees, by id, in English. `{name}`-style placeholders are
#: filled in by the widget; a translation may use the same placeholders (or fewer).
DEFAULT_STRINGS: Final[Mapping[str, str]] = MappingProxyType({
    "launcher": "Chat with a librarian",
    "launcher_close": "Close chat window",
    "panel_title": "Chat with {library}",
    "minimize": "Minimize",
    "name_label": "Your name",
    "email_label": "E-mail",
    "email_optional": "(optional)",
    "email_hint": "So we can follow up if we are cut off.",
    "question_label": "Your question",
    "question_hint": "Enter starts the chat; Shift+Enter makes a new line.",
    "start": "Start chat",
    "unreachable": "We cannot reach the chat service right now. Trying again…",
    "required": "Please fill in {field}.",
    "invalid_email": "Please enter an e-mail address like name@example.org.",
    "offline_title": "No librarian is online",
    "offline_send": "Send question",
    "offline_sent": "Thank you. Your question is ticket {ticket}; we will answer by e-mail.",
    "waiting": "Waiting for a librarian…",
    "queue_next": "You are next in line.",
    "queue_position": "You are number {position} in line.",
    "joined": "{name} joined the chat.",
    "chatting_with": "Chatting with {name}",
    "chat_with": "Your chat with {name}",
    "you": "You",
    "librarian": "Librarian",
    "typing": "{name} is typing…",
    "message_label": "Your message",
    "message_hint": "Enter sends; Shift+Enter makes a new line.",
    "send": "Send",
    "sending": "sending…",
    "not_sent": "not sent",
    "end_chat": "End chat",
    "end_confirm": "End this chat? You will not be able to send more messages.",
    "end_yes": "Yes, end the chat",
    "end_no": "Keep chatting",
    "reconnecting": "Connection lost. Reconnecting…",
    "reconnected": "Reconnected.",
    "lost_title": "The connection was lost",
    "lost_text": "We could not reconnect in time. Leave your e-mail and we will follow up by ticket.",
    "details_label": "Anything to add (optional)",
    "ticket_send": "Send to the library",
    "ticket_sent": "Thank you. Your ticket number is {ticket}; we will reply by e-mail.",
    "ended_by_librarian": "The librarian ended the chat at {time}.",
    "ended_by_you": "You ended the chat at {time}.",
    "download": "Download transcript",
    "transcript_heading": "Chat with {library}",
    "rate_legend": "How helpful was this chat?",
    "star": "{n} star",
    "stars": "{n} stars",
    "comment_label": "Comment (optional)",
    "rate_send": "Send rating",
    "rated": "Thank you for your feedback.",
    "new_chat": "Start a new chat",
    "error": "Something went wrong: {message}",
})

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_ORIGIN = re.compile(r"^https?://(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_KEYS: Final = {"library_name", "primary_colour", "text_colour", "greeting", "offline_message",
                "require_email", "public_url", "allowed_origins", "strings"}


@dataclass(frozen=True)
class WidgetSettings:
    """How the patron widget looks, what it says, and who may embed it."""

    library_name: str = "the library"
    primary_colour: str = "#1d4f91"
    text_colour: str = "#ffffff"
    greeting: str = "Hello! Ask us anything: a librarian will answer here."
    offline_message: str = ("No librarian is online right now. Leave your question and your "
                            "e-mail and we will answer by e-mail.")
    require_email: bool = False
    #: The desk's address as patrons' browsers reach it (`https://chat.example.edu`, an
    #: origin: behind a proxy, the proxy's). Browser origins are checked against it; None:
    #: against the request's Host header, which a proxy or a DNS-rebinding page can change.
    public_url: str | None = None
    #: Origins (`https://www.example.edu`) allowed to embed the widget and talk to
    #: /patron from a browser; empty means only the desk's own origin; "*" means any.
    allowed_origins: tuple[str, ...] = ()
    strings: Mapping[str, str] = field(default_factory=lambda: DEFAULT_STRINGS)

    def to_json(self) -> dict[str, Any]:
        """What the widget's JavaScript is given (nothing secret is in here)."""
        return {
            "library_name": self.library_name,
            "primary_colour": self.primary_colour,
            "text_colour": self.text_colour,
            "greeting": self.greeting,
            "offline_message": self.offline_message,
            "require_email": self.require_email,
            "strings": dict(self.strings),
        }


def _luminance(colour: str) -> float:
    """WCAG relative luminance of `#rgb` or `#rrggbb`."""
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = []
    for i in (0, 2, 4):
        c = int(digits[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """The WCAG contrast ratio of two hex colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def normalize_origin(origin: str) -> str:
    """`HTTPS://Example.org/` -> `https://example.org` (default ports dropped)."""
    origin = origin.strip().rstrip("/").lower()
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.startswith(scheme) and origin.endswith(port):
            origin = origin[: -len(port)]
    return origin


def parse_widget(r: _Reader, doc: dict[str, Any]) -> WidgetSettings:
    """Read `[widget]` and `[widget.strings]`; raise the reader's ConfigError on a mistake."""
    section = "widget"
    data = r.table(doc, section, _KEYS)
    defaults = WidgetSettings()

    def text(key: str, limit: int, default: str) -> str:
        value = r.string(data, section, key, limit)
        return default if value is None else value

    def colour(key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not _HEX.fullmatch(value):
            raise r.fail(section, key, f"must be a hex colour like \"#1d4f91\", got {value!r}")
        return value.lower()

    primary = colour("primary_colour", defaults.primary_colour)
    on_primary = colour("text_colour", defaults.text_colour)
    ratio = contrast_ratio(primary, on_primary)
    if ratio < 4.5:
        raise r.fail(section, "text_colour",
                     f"{on_primary} on {primary} has a contrast of {ratio:.1f}:1; "
                     "WCAG AA needs at least 4.5:1")

    require_email = data.get("require_email", False)
    if not isinstance(require_email, bool):
        raise r.fail(section, "require_email", f"must be true or false, got {require_email!r}")

    public_url = data.get("public_url")
    if public_url is not None and (not isinstance(public_url, str)
                                   or not _ORIGIN.match(public_url.strip().rstrip("/").lower())):
        raise r.fail(section, "public_url",
                     f"must be the desk's address as patrons reach it, like \"https://chat.example.edu\" "
                     f"(scheme, host and optional port; no path), got {public_url!r}")

    raw_origins = data.get("allowed_origins", [])
    if not isinstance(raw_origins, list):
        raise r.fail(section, "allowed_origins",
                     f"must be a list like [\"https://www.example.edu\"], got {raw_origins!r}")
    origins: list[str] = []
    for origin in raw_origins:
        if not isinstance(origin, str) or not (origin == "*" or _ORIGIN.match(origin.strip().rstrip("/"))):
            raise r.fail(section, "allowed_origins",
                         f"must hold origins like \"https://www.example.edu\" (scheme, host and "
                         f"optional port; no path) or \"*\", got {origin!r}")
        norm = "*" if origin == "*" else normalize_origin(origin)
        if norm not in origins:
            origins.append(norm)

    return WidgetSettings(
        library_name=text("library_name", 100, defaults.library_name),
        primary_colour=primary,
        text_colour=on_primary,
        greeting=text("greeting", 1000, defaults.greeting),
        offline_message=text("offline_message", 1000, defaults.offline_message),
        require_email=require_email,
        public_url=None if public_url is None else normalize_origin(public_url),
        allowed_origins=tuple(origins),
        strings=_strings(r, data),
    )


def _strings(r: _Reader, data: dict[str, Any]) -> Mapping[str, str]:
    section = "widget.strings"
    raw = data.get("strings", {})
    if not isinstance(raw, dict):
        raise r.fail("widget", "strings", "must be a section: [widget.strings]")
    strings = dict(DEFAULT_STRINGS)
    for key, value in raw.items():
        if key not in DEFAULT_STRINGS:
            raise r.fail(section, key, "is not a widget string (see docs/widget.md for the list)")
        if not isinstance(value, str) or not value.strip() or len(value) > 1000:
            raise r.fail(section, key, f"must be text of 1 to 1000 characters, got {value!r}")
        allowed = set(_PLACEHOLDER.findall(DEFAULT_STRINGS[key]))
        unknown = sorted(set(_PLACEHOLDER.findall(value)) - allowed)
        if unknown:
            known = ", ".join(f"{{{p}}}" for p in sorted(allowed)) or "none"
            raise r.fail(section, key, f"uses the unknown placeholder {{{unknown[0]}}} (known: {known})")
        strings[key] = value
    return MappingProxyType(strings)
