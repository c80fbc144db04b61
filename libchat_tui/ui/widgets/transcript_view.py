"""A virtual, line-based transcript: only the lines on screen are ever rendered.

A widget per message (or `RichLog.write` per line) collapses at 10k-50k messages, so
this is a Line-API `ScrollView`: entries are kept as data, wrapped lazily per width
(one line per paragraph that fits, the common case, costs one `cell_len`), and
`render_line` builds the visible strips on demand, with a small cache. Patron text is
passed through the one sanitiser and emitted as plain segments: never markup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...domain import Message, Note, Sender
from ...model import TranscriptLine
from ...sanitize import clean, clean_name

QUEUED_MARK = "⧗ not yet delivered: queued until the desk is back"
TIME_WIDTH = 6  # "14:02 "
WHO_WIDTH = 16  # sender column, then the text


def _chop_ascii(word: str, width: int) -> list[str]:
    return [word[i : i + width] for i in range(0, len(word), width)]


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap by terminal cells; words longer than the width are cut.

    Printable ASCII (the common case) is one cell per character, so it is measured with
    `len`, several times faster than `cell_len` on a 50k-message transcript.
    """
    width = max(1, width)
    out: list[str] = []
    for para in text.split("\n"):
        simple = para.isascii() and para.isprintable()
        measure = len if simple else cell_len
        chop = _chop_ascii if simple else chop_cells
        if measure(para) <= width:
            out.append(para)
            continue
        line, line_len = "", 0
        for word in para.split(" "):
            wlen = measure(word)
            need = wlen + (1 if line else 0)
            if line_len + need <= width:
                line = f"{line} {word}" if line else word
                line_len += need
                continue
            if line:
                out.append(line)
            if wlen <= width:
                line, line_len = word, wlen
            else:
                pieces = chop(word, width)
                out.extend(pieces[:-1])
                line, line_len = pieces[-1], cell_len(pieces[-1])
        out.append(line)
    return out


def local_hm(at: datetime) -> str:
    return at.astimezone().strftime("%H:%M")


class TranscriptView(ScrollView, can_focus=True):
    """The messages, system events and internal notes of one chat."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--time",
        "transcript--patron",
        "transcript--librarian",
        "transcript--you",
        "transcript--system",
        "transcript--note",
        "transcript--note-label",
    }

    DEFAULT_CSS = """
    TranscriptView { background: $surface; }
    TranscriptView > .transcript--time { color: $text-muted; }
    TranscriptView > .transcript--patron { color: $text-accent; text-style: bold; }
    TranscriptView > .transcript--librarian { color: $text-success; text-style: bold; }
    TranscriptView > .transcript--you { color: $text-success; text-style: bold; }
    TranscriptView > .transcript--system { color: $text-muted; text-style: italic; }
    TranscriptView > .transcript--note { background: $warning-muted; color: $text; }
    TranscriptView > .transcript--note-label { background: $warning-muted; color: $text-warning;
        text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._entries: list[TranscriptLine] = []
        self._lines: list[list[str]] = []  # wrapped text per entry, for self._wrap_width
        self._offsets: list[int] = [0]  # first line of each entry, then the total
        self._wrap_width = 0
        self._strips: dict[int, Strip] = {}
        self.me = ""  # the librarian id whose lines read "You"
        #: The chat whose lines these are (None: none); lines of any other chat are refused.
        self.chat_id: int | None = None
        self._queued = 0  # how many entries at the end are queued messages, not yet delivered

    # --- data ------------------------------------------------------------------------

    @property
    def entry_count(self) -> int:
        return len(self._entries)

    @property
    def line_count(self) -> int:
        return self._offsets[-1]

    def clear(self) -> None:
        self._queued = 0
        self.set_entries([])

    def show_chat(self, chat_id: int | None, entries: Sequence[TranscriptLine]) -> None:
        """Show `chat_id`'s lines (its whole transcript as loaded, or none yet)."""
        self.chat_id = chat_id
        self._queued = 0
        self.set_entries([e for e in entries if e.chat_id == chat_id])

    def set_queued(self, messages: Sequence[Message]) -> None:
        """Show messages queued while offline at the end, marked "not yet delivered"."""
        if not messages and not self._queued:
            return
        real = self._entries[: len(self._entries) - self._queued]
        self._queued = len(messages)
        self.set_entries([*real, *messages], keep_queued=True)

    @property
    def queued_count(self) -> int:
        return self._queued

    def set_entries(self, entries: Sequence[TranscriptLine], *, keep_queued: bool = False) -> None:
        """Replace everything (one bulk load) and show the end.

        Always repainted: a transcript of the same length as the one before it (another
        chat's) changes neither the virtual size nor the scroll offset, and Textual would
        otherwise keep the old lines on screen."""
        if not keep_queued:
            self._queued = 0
        self._entries = list(entries)
        self._lines = []
        self._offsets = [0]
        self._wrap_width = 0
        self._strips.clear()
        self._reflow()
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.refresh()

    def append(self, entries: Sequence[TranscriptLine]) -> None:
        """Add a batch at the end; follow it only if the reader was at the bottom. Lines of
        another chat than the one shown are never added."""
        entries = [e for e in entries if e.chat_id == self.chat_id]
        if not entries:
            return
        if self._queued:  # delivered lines go before the queued ones
            queued = self._entries[len(self._entries) - self._queued:]
            self.set_entries([*self._entries[: len(self._entries) - self._queued], *entries,
                              *queued], keep_queued=True)
            return
        following = self.scroll_offset.y >= self.max_scroll_y
        start = len(self._entries)
        self._entries.extend(entries)
        if self._wrap_width:
            total = self._offsets[-1]
            for entry in self._entries[start:]:
                lines = self._wrap(entry, self._wrap_width)
                self._lines.append(lines)
                total += len(lines)
                self._offsets.append(total)
        # Lines already on screen keep their numbers, so their cached strips stay valid.
        self._update_size(keep_strips=True)
        if following:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.refresh()

    # --- layout ----------------------------------------------------------------------

    def _text_width(self, width: int) -> int:
        return max(10, width - TIME_WIDTH - WHO_WIDTH - 1)

    def _wrap(self, entry: TranscriptLine, width: int) -> list[str]:
        text_width = self._text_width(width)
        if isinstance(entry, Note):
            return ["", *wrap(clean(entry.text), text_width)]  # first line: the label
        if entry.id < 0:  # queued, not yet delivered
            return [*wrap(clean(entry.text), text_width), QUEUED_MARK]
        return wrap(clean(entry.text), text_width)

    def _reflow(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        if width <= 0:
            return
        self._wrap_width = width
        self._lines = [self._wrap(e, width) for e in self._entries]
        offsets = [0]
        total = 0
        for lines in self._lines:
            total += len(lines)
            offsets.append(total)
        self._offsets = offsets
        self._update_size()

    def _update_size(self, *, keep_strips: bool = False) -> None:
        if not keep_strips:
            self._strips.clear()
        self.virtual_size = Size(self._wrap_width, self._offsets[-1])

    def on_resize(self) -> None:
        at_bottom = self.scroll_offset.y >= self.max_scroll_y
        width = self.scrollable_content_region.width
        if width != self._wrap_width:
            self._reflow()
            if at_bottom:
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # --- rendering -------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        if not self._wrap_width and self._entries:
            self._reflow()
        line = y + self.scroll_offset.y
        if line >= self._offsets[-1]:
            return Strip.blank(self.size.width, self.rich_style)
        strip = self._strips.get(line)
        if strip is None:
            if len(self._strips) > 4000:
                self._strips.clear()
            strip = self._render_entry_line(line)
            self._strips[line] = strip
        return strip

    def _style(self, name: str) -> Style:
        return self.rich_style + self.get_component_rich_style(name, partial=True)

    def _render_entry_line(self, line: int) -> Strip:
        index = bisect_right(self._offsets, line) - 1
        entry = self._entries[index]
        sub = line - self._offsets[index]
        text = self._lines[index][sub]
        width = self._wrap_width
        indent = " " * (TIME_WIDTH + WHO_WIDTH)
        segments: list[Segment]
        if isinstance(entry, Note):
            body = self._style("transcript--note")
            if sub == 0:
                label = f"✎ Internal note — {clean_name(entry.author, 40)}, {local_hm(entry.at)}"
                segments = [Segment(label, self._style("transcript--note-label"))]
            else:
                segments = [Segment(indent, body), Segment(text, body)]
            return Strip(segments).extend_cell_length(width, body).crop(0, width)
        if entry.sender is Sender.SYSTEM:
            head = f"{local_hm(entry.at)} " if sub == 0 else " " * TIME_WIDTH
            who = "· " if sub == 0 else "  "
            style = self._style("transcript--system")
            segments = [Segment(head, self._style("transcript--time")),
                        Segment(who.rjust(WHO_WIDTH), style), Segment(text, style)]
        elif entry.id < 0:  # a queued message: muted, and the last line says so
            style = self._style("transcript--system")
            head = f"{local_hm(entry.at)} " if sub == 0 else " " * TIME_WIDTH
            who = "You:".ljust(WHO_WIDTH) if sub == 0 else " " * WHO_WIDTH
            segments = [Segment(head, self._style("transcript--time")), Segment(who, style),
                        Segment(text, style)]
        elif sub == 0:
            if entry.sender is Sender.PATRON:
                who, kind = clean_name(entry.author, WHO_WIDTH - 2), "transcript--patron"
            elif self.me and entry.librarian_id == self.me:
                who, kind = "You", "transcript--you"
            else:
                who, kind = clean_name(entry.author, WHO_WIDTH - 2), "transcript--librarian"
            label = f"{who}:".ljust(WHO_WIDTH)
            segments = [Segment(f"{local_hm(entry.at)} ", self._style("transcript--time")),
                        Segment(label, self._style(kind)), Segment(text, self.rich_style)]
        else:
            segments = [Segment(indent, self.rich_style), Segment(text, self.rich_style)]
        return Strip(segments).extend_cell_length(width, self.rich_style).crop(0, width)
