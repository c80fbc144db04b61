"""Statistics for one day: chats, missed chats, median wait and duration, the READ scale
distribution as bars, and chats per hour as a sparkline."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Sparkline, Static

from ..badges import duration

if TYPE_CHECKING:
    from ..app import LibChatApp


def render_stats(s: dict[str, Any]) -> str:
    wait = "—" if s["median_wait_seconds"] is None else duration(s["median_wait_seconds"])
    length = "—" if s["median_duration_seconds"] is None else duration(s["median_duration_seconds"])
    lines = [
        f"Chats: {s['chats']}    answered: {s['answered']}    missed: {s['missed']}",
        f"Median wait: {wait}    median duration: {length}",
        "",
        "READ scale (Reference Analytics entries):",
    ]
    most = max(s["read_scale"].values()) or 1
    for level, count in s["read_scale"].items():
        lines.append(f"  {level} │{'█' * round(30 * count / most):<30}│ {count}")
    lines += ["", "Chats per hour (00 to 23):"]
    return "\n".join(lines)


class StatsScreen(Screen[None]):
    """The desk's figures for a chosen day (local time)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="stats-back"),
    ]

    app: LibChatApp

    def compose(self) -> ComposeResult:
        yield Label("Statistics — type a day (YYYY-MM-DD) and press enter.", markup=False,
                    classes="screen-title")
        yield Input(date.today().isoformat(), id="stats-day", max_length=10)
        yield Static("", id="stats-error", markup=False, classes="dialog-error")
        yield Static("", id="stats-body", markup=False)
        yield Sparkline([0] * 24, id="stats-hours")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._load(self.query_one(Input).value), group="stats", exclusive=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.run_worker(self._load(event.value), group="stats", exclusive=True)

    async def _load(self, day: str) -> None:
        error = self.query_one("#stats-error", Static)
        try:
            date.fromisoformat(day.strip())
        except ValueError:
            error.update(f"'{day[:20]}' is not a date like 2026-11-28.")
            return
        error.update("")
        offset = self.app.now().astimezone().utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        result = await self.app.request("stats", day=day.strip(), utc_offset_minutes=minutes)
        if result is None:
            return
        self.query_one("#stats-body", Static).update(render_stats(result))
        self.query_one(Sparkline).data = result["per_hour"]
