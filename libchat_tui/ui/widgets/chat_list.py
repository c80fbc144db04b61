"""The dashboard's chat list: one line per chat, virtual (an OptionList), never ListView.

Rows are rebuilt only for chats that changed: each chat's row (Content) is cached with
what it was built from, so a reorder reuses the others' rows, and OptionList's height
measurement (cached per Content) is not repeated for them. The highlighted chat stays
highlighted when the order changes, and `Moved` is posted only when the highlighted
chat really changes. Patron text reaches the row only through the sanitiser, as
Content (never markup).

`missed_only` narrows the list to missed chats (`domain.is_missed`); the border title
then says so with the count ("Missed: 7"), and an empty list says so in words.
"""

from __future__ import annotations

from datetime import datetime

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...domain import Chat, ChatState, is_missed
from ...sanitize import clean, clean_name
from ..badges import BADGE_WIDTH, badge, duration

#: What the list says when the missed filter is on and no chat is missed.
NO_MISSED = "No missed chats.\nOnly missed chats are listed (the missed filter is on)."
#: A chat's row while its patron is typing (glyph and word, never colour alone).
TYPING_MARK = "… typing"


class ChatList(OptionList):
    """Every chat on the desk, waiting first."""

    # Every row is exactly two lines: nothing wraps (a name too wide ends in "…"), which
    # also spares OptionList's height measurement the word-wrapping of thousands of rows.
    DEFAULT_CSS = """
    ChatList { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    # Enter (accept or open the highlighted chat) is the dashboard's: a priority key, so the
    # focus is in the reply box before the next key is read (ui/screens/dashboard.py).
    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="cursor-down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="cursor-up"),
    ]

    class Chosen(Message):
        """The librarian pressed enter (or clicked) on a chat."""

        def __init__(self, chat_id: int) -> None:
            super().__init__()
            self.chat_id = chat_id

    class Moved(Message):
        """The highlight moved to another chat (or to none)."""

        def __init__(self, chat_id: int | None) -> None:
            super().__init__()
            self.chat_id = chat_id

    #: List only missed chats (over, never accepted); the footer's keys follow it.
    missed_only: reactive[bool] = reactive(False, init=False, bindings=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.me = ""  # the librarian, for `may(chat, Act.ACCEPT, me)`
        self._order: list[int] = []
        self._index: dict[int, int] = {}
        self._shown: tuple[list[Chat], dict[int, int], datetime] | None = None
        self._width = 0
        #: chat id -> (chat, unread, time text, width, row, typing): the row and what it was built from
        self._rows: dict[int, tuple[Chat, int, str, int, Content, bool]] = {}
        self._moved_to: int | None = None
        self._empty = False  # NO_MISSED is shown instead of rows
        #: Chats whose patron is typing now (set by the screen: ui/patron_info.py).
        self.typing: frozenset[int] = frozenset()

    @staticmethod
    def when(chat: Chat, now: datetime) -> str:
        """The row's time column: how long waiting, or since the last activity."""
        if chat.state is ChatState.WAITING:
            return f"waiting {duration((now - chat.created_at).total_seconds())}"
        return f"{duration((now - chat.last_activity).total_seconds())} ago"

    @staticmethod
    def owner(chat: Chat, me: str) -> str:
        """Whose chat it is, in words ("" while nobody has accepted it)."""
        if chat.owner is None:
            return ""
        return "with you" if chat.owner.id == me else f"with {clean_name(chat.owner.name, 30)}"

    @staticmethod
    def row(chat: Chat, unread: int, now: datetime, width: int = 100, me: str = "",
            typing: bool = False) -> Content:
        """One chat as two lines: badge, name, time, typing mark, unread count, RA mark; then
        whose chat it is and the question."""
        when = ChatList.when(chat, now)
        marks = []
        if typing:
            marks.append(TYPING_MARK)
        if unread:
            marks.append(f"✉ {unread} new")
        if chat.analytics:
            marks.append("✓ RA")
        tail = "  ".join(marks)
        name_width = max(8, width - BADGE_WIDTH - 1 - len(when) - 2 - len(tail) - 2)
        indent = " " * (BADGE_WIDTH + 1)
        owner = ChatList.owner(chat, me)
        owner = f"{owner} · " if owner else ""
        question_width = max(8, width - len(indent) - len(owner))
        return Content.assemble(
            badge(chat.state, pad=True), " ",
            (clean_name(chat.patron_name, name_width).ljust(name_width), "bold"), "  ",
            (when, "$text-muted"), "  ", (tail, "bold $accent"), "\n", indent, (owner, "bold"),
            (clean(chat.question, single_line=True, max_len=question_width), "$text-muted"),
        )

    @property
    def _row_width(self) -> int:
        return self.scrollable_content_region.width - 2

    def _row(self, chat: Chat, unread: dict[int, int], now: datetime, width: int) -> Content:
        """The chat's row, from the cache if nothing it shows has changed."""
        count = unread.get(chat.id, 0)
        when = self.when(chat, now)
        typing = chat.id in self.typing
        cached = self._rows.get(chat.id)
        if cached is not None and cached[0] is chat and cached[1] == count and cached[2] == when \
                and cached[3] == width and cached[5] == typing:
            return cached[4]
        row = self.row(chat, count, now, width, self.me, typing)
        self._rows[chat.id] = (chat, count, when, width, row, typing)
        return row

    def highlighted_chat(self) -> Chat | None:
        """The highlighted chat as the list last drew it."""
        chat_id = self.chat_id
        cached = None if chat_id is None else self._rows.get(chat_id)
        return None if cached is None else cached[0]

    def visible_ids(self) -> list[int]:
        """The chats whose rows are on screen now (each row is two lines)."""
        top = int(self.scroll_offset.y) // 2
        rows = self.scrollable_content_region.height // 2 + 2
        return self._order[top:top + rows]

    @property
    def chat_id(self) -> int | None:
        """The highlighted chat."""
        option = self.highlighted_option
        return None if option is None or option.id is None else int(option.id)

    def watch_missed_only(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def _set_title(self, listed: int) -> None:
        title = Content(f"Missed: {listed}") if self.missed_only else None
        if self.border_title != title:  # redraw the border only when it changes
            self.border_title = title

    def show(self, chats: list[Chat], unread: dict[int, int], now: datetime) -> None:
        """Show chats in this order (only the missed ones if `missed_only`); keep the
        highlighted chat highlighted."""
        self._shown = (chats, unread, now)
        if len(self._rows) > 2 * len(chats) + 100:  # forget chats that have left the desk
            on_desk = {c.id for c in chats}
            self._rows = {k: v for k, v in self._rows.items() if k in on_desk}
        if self.missed_only:
            chats = [c for c in chats if is_missed(c)]
        self._set_title(len(chats))
        current = self.chat_id
        order = [c.id for c in chats]
        width = self._row_width
        rows = [self._row(c, unread, now, width) for c in chats]
        empty = self.missed_only and not order
        if order == self._order and empty == self._empty:
            for index, row in enumerate(rows):
                if self.options[index].prompt is not row:
                    self.replace_option_prompt_at_index(index, row)
            self.refresh()
        else:
            options = [Option(row, id=str(chat_id)) for row, chat_id in zip(rows, order, strict=True)]
            if empty:
                options = [Option(Content(NO_MISSED), disabled=True)]
            self._empty = empty
            self._order = order
            self._index = {chat_id: i for i, chat_id in enumerate(order)}
            self.set_options(options)
            if current is not None and current in self._index:
                self.highlighted = self._index[current]
            elif order:
                self.highlighted = 0
        if not order:
            self._moved_to = None
            self.post_message(self.Moved(None))

    def update_rows(self, chats: list[Chat], unread: dict[int, int], now: datetime) -> None:
        """Redraw just these chats' rows (their position did not change)."""
        width = self._row_width
        changed = False
        for chat in chats:
            index = self._index.get(chat.id)
            if index is not None:
                row = self._row(chat, unread, now, width)
                if self.options[index].prompt is not row:
                    self.replace_option_prompt_at_index(index, row)
                    changed = True
        if changed:  # an idle desk costs no frame: "waiting 2 min" reads the same for a minute
            self.refresh()

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width and self._shown is not None:
            self._width = width
            self.update_rows(*self._shown)

    def select_chat(self, chat_id: int) -> None:
        if chat_id in self._index:
            self.highlighted = self._index[chat_id]

    def _on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        chat_id = None if event.option_id is None else int(event.option_id)
        if chat_id != self._moved_to:  # a reorder re-highlights the same chat: not a move
            self._moved_to = chat_id
            self.post_message(self.Moved(chat_id))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is not None:
            self.post_message(self.Chosen(int(event.option_id)))
