"""Helpers for Pilot tests: the real app on a real backend, and waiting on conditions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
    """Let the app run until `predicate()` holds (bounded; fails with `what`)."""
    steps = int(timeout / 0.02)
    for _ in range(steps):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def screen_strips(app: LibChatApp) -> list[Strip]:
    """The whole screen as the compositor renders it for the terminal."""
    return app.screen._compositor.render_strips()  # type: ignore[no-any-return]


def screen_text(app: LibChatApp) -> str:
    """Everything on the screen as plain text, line by line."""
    return "\n".join(strip.text for strip in screen_strips(app))
