"""The console survives a lost backend: banner, read-only use, queued commands, resync, drafts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from desk_ids import desk_id
from textual.message import Message
from textual.worker import Worker, WorkerState
from ui_support import Toasts, make_app, screen_text, wait_until
from wire import join

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.widgets.composer import Composer

FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


async def test_backend_restart_under_the_console(tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    port = backend.port
    pat, joined = await join(backend.url, name="Maya")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    try:
        async with app.run_test(size=(120, 40), message_hook=toasts) as pilot:
            await wait_until(pilot, lambda: chat_id in app.model.chats)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "active")

            await backend.stop()  # the desk goes away
            await wait_until(pilot, lambda: "Connection lost — reconnecting (attempt" in screen_text(app),
                             "banner")
            assert "Maya" in screen_text(app)  # still readable
            await pilot.press(*"Typed while offline", "enter")
            await wait_until(pilot, lambda: "1 queued" in screen_text(app), "queued")
            assert app.screen.query_one(Composer).value == ""

            backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t", port=port)
            await backend.start()
            await wait_until(pilot, lambda: app.status.state == "online", "reconnected", timeout=15)
            await wait_until(pilot, lambda: app.client is not None and app.client.queued == 0, "delivered")
            assert "not yet delivered" not in screen_text(app)
            assert "Connection lost" not in screen_text(app)
            await wait_until(pilot, lambda: any("Reconnected to the desk" in m for m in toasts.messages),
                             "said so")
            # The restart made the chat reconnecting (the patron's socket died with the desk).
            await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "reconnecting")
            last = backend.desk.store.last_seq
            await wait_until(pilot, lambda: app.client is not None and app.client.last_seq == last,
                             "caught up")
    finally:
        await backend.stop()
    conn = sqlite3.connect(tmp_path / "data" / "desk.sqlite3")
    texts = [r[0] for r in conn.execute("SELECT text FROM messages WHERE chat_id=?", (chat_id,))]
    assert texts.count("Typed while offline") == 1
    # No gaps or duplicates in what the console applied.
    assert app.client is not None and app.client.last_seq == conn.execute(
        "SELECT MAX(seq) FROM events").fetchone()[0]
    del pat


async def test_draft_survives_the_console_going_away(backend: Backend, clock: FakeClock,
                                                     tmp_path: Path) -> None:
    _pat, joined = await join(backend.url, name="Dara")
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "active")
        await pilot.press(*"Half a sentence about interlib")
        drafts = tmp_path / "console" / "drafts.json"
        # Saved while the app is still running (a crash after this loses nothing).
        await wait_until(pilot, lambda: drafts.exists() and "interlib" in drafts.read_text(),
                         "draft on disk", timeout=5)
    assert json.loads(drafts.read_text())[f"message:{chat_id}"] == "Half a sentence about interlib"

    again = make_app(backend, clock, tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in again.model.chats)
        await wait_until(pilot, lambda: again.screen.query_one(Composer).value ==
                         "Half a sentence about interlib", "draft restored")


async def test_wrong_token_stops_with_a_clear_message(backend: Backend, clock: FakeClock,
                                                       tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    app.token = "wrong"
    connection: list[Worker.StateChanged] = []

    def hook(message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.name == "connection":
            connection.append(message)

    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await wait_until(pilot, lambda: app.status.state == "failed", "failed")
        await wait_until(pilot, lambda: "refused this token" in screen_text(app), "message")
        # No retry loop: the connection worker has returned, and the state stays "failed".
        await wait_until(pilot, lambda: any(m.state in FINISHED for m in connection),
                         "the connection given up")
        assert app.status.state == "failed"
