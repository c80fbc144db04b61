"""The chat pane's header: who the patron is, the badge, what happened when, and whether
the patron is typing now ("… Patron is typing…", at the end of the status line)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.content import Content
from textual.widgets import Static

from ...domain import Chat, ChatState
from ...sanitize import clean, clean_name
from ..badges import badge, status_line

#: Said on the status line while the patron is typing (glyph and words, never colour alone).
TYPING_TEXT = "… Patron is typing…"


class ChatHeader(Static):
    """Patron name and e-mail, badge, status line, and what is attached to the chat."""

    DEFAULT_CSS = """
    ChatHeader { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._last: tuple[str, list[Any]] | None = None  # what is shown: redraw only on change
        #: Chats whose patron is typing now (set by the screen: ui/patron_info.py).
        self.typing: frozenset[int] = frozenset()

    def show_chat(self, chat: Chat | None, me: str, now: datetime) -> None:
        if chat is None:
            self._last = None
            self.update(Content.styled("No chat selected — pick one from the list.", "$text-muted"))
            return
        parts: list[str | Content | tuple[str, str]] = [
            badge(chat.state), "  ", (clean_name(chat.patron_name, 60), "bold"),
        ]
        if chat.patron_email:
            parts += ["  ", (f"<{clean(chat.patron_email, single_line=True, max_len=80)}>", "$text-muted")]
        parts += ["   ", (f"chat #{chat.id}", "$text-muted"), "\n"]
        tone = "$text-warning" if chat.state is ChatState.RECONNECTING else ""
        if chat.state in (ChatState.ENDED, ChatState.DISCONNECTED):
            tone = "$text-error"
        parts.append((status_line(chat, me, now), f"bold {tone}".strip()))
        if chat.id in self.typing:
            parts += ["   ", (TYPING_TEXT, "bold $text-accent")]
        extras = []
        if chat.note_count:
            extras.append(f"✎ {chat.note_count} note{'s' if chat.note_count != 1 else ''}")
        if chat.ticket_ids:
            extras.append("🎫 ticket " + ", ".join(f"#{t}" for t in chat.ticket_ids))
        if chat.analytics:
            extras.append("✓ added to Reference Analytics (" + ", ".join(chat.analytics) + ")")
        if extras:
            parts += ["\n", ("   ".join(extras), "$text-muted")]
        content = Content.assemble(*parts)
        shown = (content.plain, list(content.spans))
        if shown != self._last:  # the same words as a second ago: no repaint
            same_height = self._last is not None and self._last[0].count("\n") == shown[0].count("\n") \
                and (TYPING_TEXT in self._last[0]) == (TYPING_TEXT in shown[0])  # the mark may wrap
            self._last = shown
            self.update(content, layout=not same_height)  # a layout pass only if the height changed
