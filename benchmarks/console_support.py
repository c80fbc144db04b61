"""The console under benchmark, its bare-Textual baseline, and test data.

`BenchApp` is the real `LibChatApp` with one change: it does not dial a desk; the
benchmark hands it frames through `_on_frame`, exactly where the desk client delivers
them, decoded from JSON text into typed frames as the client does (`feed`). `BareDesk`
is the baseline: a Textual app with the same widget kinds (an
`OptionList` of two-line rows beside a `Log`, a footer) and no libchat-tui logic.
Both run with `FrameDriver` (full rendering) at 120x40.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Footer, Log, OptionList, Static
from textual.widgets.option_list import Option

from libchat_tui import protocol as p
from libchat_tui.client import Status
from libchat_tui.config import load_settings
from libchat_tui.domain import Message, Sender
from libchat_tui.ui import app as ui_app
from libchat_tui.ui.app import LibChatApp

from .common import SIZE, FrameDriver
from .proposals import apply

apply()  # only with $BENCH_PROPOSALS set: see proposals.py

os.environ.setdefault("COLORTERM", "truecolor")  # render colours as a modern terminal would
os.environ.setdefault("TZ", "UTC")

DEFAULT_GC = gc.get_threshold()
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
QUESTION = "Can I get this thesis through interlibrary loan, and how long does it take?"
TEXT = "Could you check whether the library has this journal in print or only online?"


class BenchApp(LibChatApp):
    """The real console, fed by the benchmark instead of a desk connection."""

    CSS_PATH = str(Path(ui_app.__file__).with_name("app.tcss"))  # relative paths follow the class

    async def _connect(self) -> None:
        self._set_status(Status("online"))

    def feed(self, frame: dict[str, Any] | str) -> None:
        """One desk frame (a dict or its JSON text), decoded as the desk client does."""
        self._on_frame(decode(frame))


def decode(frame: dict[str, Any] | str) -> p.Frame:
    """A desk → console frame as the client receives it: JSON text into a typed frame."""
    return p.decode_librarian_event(frame if isinstance(frame, str) else json.dumps(frame))


def console_app(tmp: Path) -> BenchApp:
    """A console with default settings (bell off) and its data in `tmp`."""
    (tmp / "c.toml").write_text("[appearance]\nbell = false\n")
    return BenchApp(load_settings(tmp / "c.toml"), librarian_id="ana", name="Ana",
                    data_dir=tmp / "console")


def chat_wire(i: int, state: str = "active", at: datetime | None = None) -> dict[str, Any]:
    """A chat as the desk sends it."""
    when = (at or T0 + timedelta(seconds=i)).isoformat()
    wire: dict[str, Any] = {
        "id": i, "patron": {"name": f"Patron {i}", "email": None}, "question": f"{i}: {QUESTION}",
        "state": state, "created_at": (T0 + timedelta(seconds=i)).isoformat(), "last_activity": when,
        "message_count": 1}
    if state != "waiting":
        wire["owner"] = {"kind": "librarian", "id": "bo", "name": "Bo"}
    return wire


def snapshot(chats: int, state: str = "active") -> dict[str, Any]:
    return {"type": "snapshot", "seq": 1, "chats": [chat_wire(i, state) for i in range(1, chats + 1)]}


def messages(n: int, chat_id: int = 1) -> list[Message]:
    """n transcript messages, alternating patron and librarian."""
    return [Message(i, chat_id, Sender.PATRON if i % 2 else Sender.LIBRARIAN, "Maya" if i % 2 else "Bo",
                    f"{i}: {TEXT}", T0 + timedelta(milliseconds=i)) for i in range(1, n + 1)]


def bare_row(i: int) -> Content:
    """A two-line row like the console's: badge, name, time; then the question."""
    return Content.assemble(("  ACTIVE  ", "bold $success"), " ", (f"Patron {i}".ljust(60), "bold"),
                            "  ", ("3m ago", "$text-muted"), "\n" + " " * 11,
                            (f"{i}: {QUESTION}", "$text-muted"))


def bare_line(m: Message) -> str:
    return f"14:02 {m.author + ':':16}{m.text}"


class BareDesk(App[None]):
    """Baseline: OptionList of rows beside a Log, a header line and a footer."""

    CSS = "OptionList { width: 1fr; height: 1fr; } Log { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Static("bare desk")
        with Horizontal():
            yield OptionList()
            yield Log()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()


@asynccontextmanager
async def running(app: App[Any]) -> AsyncIterator[Pilot[Any]]:
    """Run an app with full rendering at 120x40 and wait for its first screen.

    The collector is put back to Python's defaults first: the console tunes it (and
    freezes its start-up objects) process-wide, which must not carry over to the next app.
    """
    gc.unfreeze()
    gc.set_threshold(*DEFAULT_GC)
    gc.collect()
    app.driver_class = FrameDriver
    async with app.run_test(headless=False, size=SIZE) as pilot:
        await pilot.pause()
        yield pilot


def set_rows(app: App[Any], count: int) -> None:
    app.query_one(OptionList).set_options([Option(bare_row(i), id=str(i)) for i in range(1, count + 1)])
