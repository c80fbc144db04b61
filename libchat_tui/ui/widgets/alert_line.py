"""The alert line: where the console's alerts go on the dashboard, on a line of their own.

Toasts float over whatever is under them, and on the dashboard that is always something
the librarian is reading: the chat's status line ("Chat ended by you at 14:02"), the
first row of the list, the patron's first message. So the dashboard keeps one line for
alerts, between the desk and the footer, covering nothing: the newest alert with its
time, a glyph and word for its kind (never colour alone), and how many others arrived
while it showed. Once its time is up it stays, muted, until the next one: an alert is
never gone before it could be read.
"""

from __future__ import annotations

import time
from datetime import datetime

from textual.widgets import Static

from ...sanitize import clean

#: Severity -> what starts the line, in glyph and word.
MARKS = {"information": "•", "warning": "⚠ Warning:", "error": "✖ Error:"}
#: The line with nothing to say yet.
IDLE = "• Alerts show here."


class AlertLine(Static):
    """The newest alert, one line; muted once its time is up."""

    DEFAULT_CSS = """
    AlertLine { height: 1; padding: 0 1; background: $boost; color: $text;
                text-wrap: nowrap; text-overflow: ellipsis; }
    AlertLine.-warning { color: $text-warning; text-style: bold; }
    AlertLine.-error { color: $text-error; text-style: bold; }
    AlertLine.-old { color: $text-muted; text-style: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(IDLE, id=id, markup=False)
        self._until = 0.0
        self._others = 0  # alerts that came while the shown one was still fresh
        self.text = IDLE

    def add(self, message: str, *, title: str = "", severity: str = "information",
            timeout: float = 5.0, at: datetime | None = None) -> None:
        """Show an alert now (its text is made inert here)."""
        now = time.monotonic()
        self._others = self._others + 1 if now < self._until else 0
        self._until = now + max(1.0, timeout)
        stamp = (at or datetime.now()).astimezone().strftime("%H:%M")
        title = clean(title, single_line=True, max_len=30)
        head = f"{stamp} {MARKS.get(severity, '•')} {title + ': ' if title else ''}"
        more = f"  (+{self._others} more)" if self._others else ""
        self.text = f"{head}{clean(message, single_line=True, max_len=300)}{more}"
        self.set_class(severity == "warning", "-warning")
        self.set_class(severity == "error", "-error")
        self.remove_class("-old")
        self.update(self.text)
        self.set_timer(self._until - now, self._age)

    def _age(self) -> None:
        if time.monotonic() >= self._until - 0.01:
            self._others = 0
            self.add_class("-old")
