"""The line where the librarian types to the patron (enter sends), and its canned-message list.

It only ever messages the patron: internal notes are written in their own dialog,
titled "Internal note". Its border title says so in words, and stays while text is typed (the
placeholder does not).

`/` at the start followed by part of a name offers the team's canned messages that match
(fuzzy, scored as the command palette scores): ↑/↓ choose, tab or enter inserts, esc
dismisses. Enter sends as usual whenever nothing is offered, so a message that starts
with "/" can still be sent. The composer only names what was chosen
(`Composer.CannedChosen`); the screen expands it and puts it back with `insert_canned`.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.message import Message
from textual.widgets import Input, Static

from ...protocol import LIMITS
from ...sanitize import clean, clean_name

#: The composer's title: what enter does with its text, in words.
TITLE = "Reply to the patron (enter sends)"
#: The most canned messages offered under the composer at once.
OFFERED = 5
#: How matched letters of a name are shown, as the command palette shows them: not by colour.
MATCHED = "reverse"


def match(query: str, name: str) -> tuple[float, list[int]]:
    """How well `query` matches `name` (0: not at all) and which letters of `name` it matched.

    The letters of the query must appear in the name in order, case aside; a run of them
    counts more than scattered ones, and a whole substring more still (the palette's
    scoring, `textual.fuzzy`). Only leftmost runs from each start are tried, so the cost
    stays linear-ish in the name whatever the query (the palette tries every combination).
    """
    if not query:
        return 1.0, []
    lowered = [ch.lower() for ch in name]
    wanted = [ch.lower() for ch in query]
    if len(wanted) > len(lowered):
        return 0.0, []
    search = FuzzySearch()
    for start in range(len(lowered) - len(wanted) + 1):
        if lowered[start:start + len(wanted)] == wanted:
            offsets = list(range(start, start + len(wanted)))
            return search.score(name, offsets) * (2.0 if len(wanted) == len(lowered) else 1.5), offsets
    best: tuple[float, list[int]] = (0.0, [])
    for start, first in enumerate(lowered):
        if first != wanted[0]:
            continue
        offsets = [start]
        for letter in wanted[1:]:
            try:
                offsets.append(lowered.index(letter, offsets[-1] + 1))
            except ValueError:
                break
        if len(offsets) == len(wanted):
            score = search.score(name, offsets)
            if score > best[0]:
                best = (score, offsets)
    return best


def rank(query: str, names: Sequence[str], limit: int | None = None) -> list[str]:
    """The names that match `query`, best first (ties in the given order); all for no query."""
    scored = [(match(query, name)[0], index, name) for index, name in enumerate(names)]
    found = [name for score, _index, name in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
    return found if limit is None else found[:limit]


def highlight(name: str, query: str) -> Content:
    """A canned message's name, inert, with the letters `query` matched reversed."""
    shown = clean_name(name, 40)
    content = Content(shown)
    if shown != name:  # cleaned (it should never need to be): offsets no longer line up
        return content
    for offset in match(query, name)[1]:
        content = content.stylize(MATCHED, offset, offset + 1)
    return content


class CannedSuggestions(Static):
    """The canned messages `/` offers, under the transcript and over the composer.

    The composer decides what is offered; the screen shows it here. The chosen line
    has a ▸ and is bold and underlined, so it shows without colour. A click chooses a line.
    """

    DEFAULT_CSS = """
    CannedSuggestions {
        display: none;
        height: auto;
        max-height: 7;
        border: round $accent;
        border-title-color: $text;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    CannedSuggestions.-shown { display: block; }
    """

    class Picked(Message):
        """The librarian clicked the offered line `index`."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.border_title = "Canned: ↑↓ choose · tab/enter insert · esc dismiss"
        self._shown: tuple[tuple[tuple[str, str], ...], str, int] = ((), "", 0)

    def show(self, offered: Sequence[tuple[str, str]], query: str, index: int) -> None:
        """Offer (name, text) pairs, `index` chosen; none hides the list."""
        shown = (tuple(offered), query, index)
        if shown == self._shown:
            return
        self._shown = shown
        self.set_class(bool(offered), "-shown")
        lines = []
        for number, (name, text) in enumerate(offered):
            mark = "▸ " if number == index else "  "
            preview = clean(text, single_line=True, max_len=80)
            line = Content.assemble(mark, highlight(name, query), " — ", (preview, "dim"))
            lines.append(line.stylize("bold underline") if number == index else line)
        self.update(Content("\n").join(lines))

    def on_click(self, event: events.Click) -> None:
        row = event.y - 1  # the border's top line
        if 0 <= row < len(self._shown[0]):
            event.stop()
            self.post_message(self.Picked(row))


class Composer(Input):
    """The message input of the chat pane; its draft is kept per chat by the pane."""

    class Suggestions(Message):
        """Offer these canned messages, (name, text) pairs with `index` chosen (none: hide)."""

        def __init__(self, offered: list[tuple[str, str]], query: str, index: int) -> None:
            super().__init__()
            self.offered = offered
            self.query = query
            self.index = index

    class CannedChosen(Message):
        """The librarian chose the canned message `name`; its "/..." is already gone."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        # No select-all on focus: a key typed as the focus arrives would replace the draft.
        super().__init__(placeholder="Message the patron — enter sends", id=id,
                         max_length=LIMITS["message"], select_on_focus=False)
        self.border_title = TITLE
        self._canned: list[tuple[str, str]] = []
        self._offered: list[tuple[str, str]] = []
        self._index = 0
        self._dismissed = False  # esc: offer nothing until the text no longer starts with "/"
        self._told: tuple[tuple[tuple[str, str], ...], str, int] = ((), "", 0)

    def on_mount(self) -> None:
        # Reduce motion: a blinking cursor is motion too.
        self.cursor_blink = self.app.animation_level != "none"

    # --- canned messages -------------------------------------------------------------

    @property
    def canned(self) -> list[tuple[str, str]]:
        """The team's canned messages as (name, text), in the order to offer ties."""
        return self._canned

    @canned.setter
    def canned(self, messages: list[tuple[str, str]]) -> None:
        self._canned = list(messages)
        self._offer()

    @property
    def offered(self) -> list[tuple[str, str]]:
        """What `/` offers right now (empty: enter sends)."""
        return self._offered

    def _offer(self) -> None:
        value = self.value
        if not value.startswith("/"):
            self._dismissed = False
        query = value[1:]
        offered: list[tuple[str, str]] = []
        if (value.startswith("/") and not self._dismissed and self.has_focus and not self.disabled
                and len(query) <= 40 and self._canned):
            texts = dict(self._canned)
            offered = [(name, texts[name]) for name in rank(query, list(texts), OFFERED)]
        if [name for name, _ in offered] != [name for name, _ in self._offered]:
            self._index = 0
        self._offered = offered
        self._tell(query)

    def _tell(self, query: str) -> None:
        told = (tuple(self._offered), query if self._offered else "", self._index)
        if told != self._told:
            self._told = told
            self.post_message(self.Suggestions(list(self._offered), told[1], self._index))

    def choose(self, index: int) -> None:
        """Take the offered message `index`: the "/..." goes, the screen inserts the text."""
        if not 0 <= index < len(self._offered):
            return
        name = self._offered[index][0]
        self._dismissed = True
        self.value = ""
        self.post_message(self.CannedChosen(name))

    def insert_canned(self, text: str) -> None:
        """Put an (expanded) canned text at the cursor, over any selection; not sent."""
        start, end = sorted(self.selection)
        room = (self.max_length or LIMITS["message"]) - (len(self.value) - (end - start))
        self._dismissed = True  # a text that itself starts with "/" offers nothing
        self.replace(text[:max(0, room)], start, end)
        self.focus()

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        self._offer()

    def on_focus(self) -> None:
        self._offer()

    def on_blur(self) -> None:
        self._offered = []
        self._tell("")

    def on_key(self, event: events.Key) -> None:
        """While messages are offered, ↑/↓ choose, tab/enter insert and esc dismisses."""
        if not self._offered:
            return
        if event.key in ("up", "down"):
            step = 1 if event.key == "down" else -1
            self._index = (self._index + step) % len(self._offered)
            self._tell(self.value[1:])
        elif event.key in ("tab", "enter"):
            self.choose(self._index)
        elif event.key == "escape":
            self._dismissed = True
            self._offer()
        else:
            return
        event.stop()
        event.prevent_default()
