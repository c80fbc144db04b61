"""Statistics for one day: chats, missed chats, median wait and duration, the READ scale
distribution as bars, the patrons' ratings (count per star and the mean), and chats per
hour as a sparkline. Days are local calendar days.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalGroup
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Sparkline, Static

from ...analytics import READ_SCALE
from ..badges import duration
from ..messages import DeskChanged, ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from .chat_record import stars

if TYPE_CHECKING:
    from ..app import LibChatApp

BAR_WIDTH = 30
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
FIGURES = ("chats", "answered", "missed", "wait", "length")
TITLES = {"chats": "Chats", "answered": "Answered", "missed": "Missed", "wait": "Median wait",
          "length": "Median duration"}


def parse_day(text: str) -> date | None:
    """A day typed as YYYY-MM-DD, or None (also for 2026-02-30)."""
    text = text.strip()
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def utc_offset_minutes(day: date) -> int:
    """This computer's offset from UTC on that day (daylight saving time included)."""
    offset = datetime.combine(day, time(12)).astimezone().utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def bar(count: int, most: int) -> str:
    cells = 0 if not count else max(1, round(BAR_WIDTH * count / max(1, most)))
    return "█" * cells + "·" * (BAR_WIDTH - cells)


def rating_summary(counts: dict[int, int]) -> str:
    """How many chats were rated and the mean, in words ("12 chats rated, mean 4.3 of 5 stars")."""
    rated = sum(counts.values())
    if not rated:
        return "No chat was rated that day."
    mean = sum(level * n for level, n in counts.items()) / rated
    return f"{rated} chat{'s' if rated != 1 else ''} rated, mean {mean:.1f} of 5 stars"


def rating_words(level: int) -> str:
    """A star level in glyphs and words: "★★★★☆ 4 stars"."""
    return f"{stars(level)} {level} star{'s' if level != 1 else ''}"


def figures(s: dict[str, Any]) -> dict[str, str]:
    wait, length = s.get("median_wait_seconds"), s.get("median_duration_seconds")
    return {"chats": str(s["chats"]), "answered": str(s["answered"]), "missed": str(s["missed"]),
            "wait": "—" if wait is None else duration(wait),
            "length": "—" if length is None else duration(length)}


class StatsScreen(ReportsWorkerFailures, Screen[None]):
    """The desk's figures for a chosen day."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="stats-back"),
        # Priority: the day's Input would take page up / down to scroll itself.
        Binding("pageup", "shift_day(-1)", "Day before", priority=True, id="stats-previous"),
        Binding("pagedown", "shift_day(1)", "Day after", priority=True, id="stats-next"),
        Binding("f5", "reload", "Reload", id="stats-reload"),
    ]

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None  # the day whose figures are shown
        self.result: dict[str, Any] | None = None
        self._live: Timer | None = None
        self.refused: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="screen-head"):
            yield Label("Statistics", markup=False, classes="screen-title")
            yield Label("type a day (YYYY-MM-DD) and press enter · pgup / pgdn: the day before / after",
                        markup=False, classes="screen-summary")
        with Horizontal(id="stats-day-row"):
            yield Label("Day", markup=False, classes="field-label")
            yield Input(self._today().isoformat(), id="stats-day", max_length=10,
                        placeholder="YYYY-MM-DD")
            yield Label("", id="stats-error", markup=False, classes="dialog-error")
        yield Label("", id="stats-shown", markup=False, classes="stats-heading")
        with Horizontal(id="stats-figures"):
            for key in FIGURES:
                yield Static("—", id=f"stats-{key}", markup=False, classes="stats-figure")
        yield Label("READ scale — Reference Analytics entries for the day's chats", markup=False,
                    classes="stats-heading")
        with Vertical(id="stats-read"):
            for level, meaning in READ_SCALE.items():
                with Horizontal(classes="read-row"):
                    yield Label(level, markup=False, classes="read-level")
                    yield Static(bar(0, 1), id=f"stats-read-{level}", markup=False, classes="read-bar")
                    yield Label("0", id=f"stats-read-{level}-count", markup=False, classes="read-count")
                    yield Label(meaning, markup=False, classes="read-meaning")
        yield Label("Patrons' ratings — stars given after the day's chats", markup=False,
                    classes="stats-heading")
        with VerticalGroup(id="stats-ratings"):
            for given in range(5, 0, -1):
                with Horizontal(classes="read-row"):
                    yield Label(str(given), markup=False, classes="read-level")
                    yield Static(bar(0, 1), id=f"stats-rating-{given}", markup=False, classes="read-bar")
                    yield Label("0", id=f"stats-rating-{given}-count", markup=False, classes="read-count")
                    yield Label(rating_words(given), markup=False, classes="read-meaning")
            yield Label("", id="stats-rating-mean", markup=False)
        yield Label("Chats per hour", id="stats-hours-title", markup=False, classes="stats-heading")
        yield Sparkline([0] * 24, id="stats-hours")
        yield Static("00" + "".join(f"{h:02d}".rjust(12) for h in (6, 12, 18)) + "23".rjust(10),
                     id="stats-axis", markup=False)
        yield Label("", id="stats-peak", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        for key in FIGURES:
            self.query_one(f"#stats-{key}").border_title = TITLES[key]
        self.query_one(Input).focus()
        self.load(self._today())

    def _today(self) -> date:
        return self.app.now().astimezone().date()

    def _error(self, text: str) -> None:
        self.query_one("#stats-error", Label).update(text)

    @on(Input.Submitted, "#stats-day")
    def _submitted(self, event: Input.Submitted) -> None:
        day = parse_day(event.value)
        if day is None:
            self.refused = event.value
            shown = event.value.strip()[:20] or "nothing"
            self._error(f"“{shown}” is not a date: type it as YYYY-MM-DD, e.g. {self._today().isoformat()}.")
            return
        self.load(day)

    @on(Input.Changed, "#stats-day")
    def _typed(self, event: Input.Changed) -> None:
        if event.value != self.refused:  # a refusal stays until the day changes
            self._error("")

    def action_shift_day(self, days: int) -> None:
        day = (self.day or self._today()) + timedelta(days=days)
        self.query_one(Input).value = day.isoformat()
        self.load(day)

    def action_reload(self) -> None:
        if self.day is not None:
            self.load(self.day)

    def load(self, day: date) -> None:
        self._error("")
        self.run_worker(self._load(day), group="stats", exclusive=True, exit_on_error=False)

    async def _load(self, day: date) -> None:
        result = await self.app.request("stats", day=day.isoformat(),
                                        utc_offset_minutes=utc_offset_minutes(day))
        if result is None:
            self._error("The figures could not be loaded (see the message).")
            return
        self.day, self.result = day, result
        self.show(day, result)

    def show(self, day: date, s: dict[str, Any]) -> None:
        today = " (today)" if day == self._today() else ""
        self.query_one("#stats-shown", Label).update(f"{day:%A %d %B %Y}{today}")
        for key, value in figures(s).items():
            self.query_one(f"#stats-{key}", Static).update(value)
        counts = {str(k): int(v) for k, v in s["read_scale"].items()}
        most = max(counts.values(), default=0)
        for level in READ_SCALE:
            count = counts.get(level, 0)
            self.query_one(f"#stats-read-{level}", Static).update(bar(count, most))
            self.query_one(f"#stats-read-{level}-count", Label).update(str(count))
        rated = s.get("ratings") or {}
        ratings = {n: int(rated.get(str(n), 0)) for n in range(1, 6)}
        most_rated = max(ratings.values())
        for n, count in ratings.items():
            self.query_one(f"#stats-rating-{n}", Static).update(bar(count, most_rated))
            self.query_one(f"#stats-rating-{n}-count", Label).update(str(count))
        self.query_one("#stats-rating-mean", Label).update(rating_summary(ratings))
        self.query_one("#stats-hours-title", Label).update(
            f"Chats per hour on {day:%A %d %B %Y} (local time; hours 00-23 below the chart)")
        per_hour = [int(n) for n in s["per_hour"]]
        self.query_one(Sparkline).data = per_hour
        busiest = max(range(24), key=lambda h: per_hour[h])
        self.query_one("#stats-peak", Label).update(
            f"Busiest hour: {busiest:02d}:00-{(busiest + 1) % 24:02d}:00 ({per_hour[busiest]} "
            f"chat{'s' if per_hour[busiest] != 1 else ''})" if any(per_hour) else "No chats that day.")

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        """Today's figures follow the desk (at most once a second)."""
        changes = event.changes
        if self.day != self._today() or not (changes.chats or changes.removed or changes.analytics):
            return
        if self._live is None:
            self._live = self.set_timer(1.0, self._live_reload)

    def _live_reload(self) -> None:
        self._live = None
        self.action_reload()
