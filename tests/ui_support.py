"""Helpers for Pilot tests: the real app on a real backend, waiting on conditions, and the
app's toasts as it posted them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.strip import Strip

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.config import load_settings
from libchat_tui.ui.app import LibChatApp


def make_app(backend: Backend, clock: FakeClock, tmp_path: Path, name: str = "Ana",
             librarian_id: str = "ana", config: str = "") -> LibChatApp:
    settings_file = tmp_path / "config.toml"
    settings_file.write_text(config or "[appearance]\nbell = false\n", encoding="utf-8")
    return LibChatApp(load_settings(settings_file), librarian_id=librarian_id, name=name,
                      url=backend.url, token=backend.token, data_dir=tmp_path / "console",
                      now=clock.now)


async def wait_until(pilot: Pilot[None], predicate: Callable[[], object], what: str = "",
                     timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds (bounded; fails with `what` and the screen)."""
    steps = int(timeout / 0.02)
    for _ in range(steps):
        if predicate():
            return
        await pilot.pause(0.02)
    try:
        shown = screen_text(pilot.app)  # type: ignore[arg-type]
    except Exception as exc:  # no screen to show (the app has gone)
        shown = f"(no screen: {exc!r})"
    raise AssertionError(f"timed out waiting for {what or predicate}\n{shown}")


class Toasts:
    """Every notification the app raised, in order: pass as `run_test(message_hook=toasts)`.

    `App.notify` posts a `Notify` message to the app; the hook sees each one as it is
    handled, whether or not the toast is still on screen.
    """

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.notifications.append(message.notification)

    @property
    def messages(self) -> list[str]:
        return [n.message for n in self.notifications]

    @property
    def titles(self) -> list[str]:
        return [n.title for n in self.notifications]

    def clear(self) -> None:
        """Forget what was raised so far (alongside `app.clear_notifications()`)."""
        self.notifications.clear()


def screen_strips(app: LibChatApp) -> list[Strip]:
    """The whole screen as the compositor renders it for the terminal."""
    # Private, on purpose: Textual has no public way to read the rendered screen as text.
    return app.screen._compositor.render_strips()  # type: ignore[no-any-return]


def screen_text(app: LibChatApp) -> str:
    """Everything on the screen as plain text, line by line."""
    return "\n".join(strip.text for strip in screen_strips(app))


def db(backend: Backend, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the desk's SQLite file (what was really stored)."""
    conn = sqlite3.connect(backend.data_dir / "desk.sqlite3")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def state(app: LibChatApp, chat_id: int) -> str:
    """A chat's state as the console knows it ("gone" once closed)."""
    chat = app.model.chats.get(chat_id)
    return "gone" if chat is None else chat.state.value
