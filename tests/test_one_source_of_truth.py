"""Each rule lives once: regressions for the bugs the copies caused (issue 10).

- who may End: the desk and the console ask `domain.refusal`, so they agree;
- the message count is the desk's, never re-derived by the console;
- a failed outbox write is reported, and the console goes on;
- the palette's chat commands exist only on the dashboard.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from desk_ids import desk_id
from textual.message import Message
from ui_support import make_app, screen_text, wait_until
from wire import join, librarian

from libchat_tui import domain
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.domain import PATRON, Act, Action, Actor, Chat, ChatState
from libchat_tui.ui.messages import DeskChanged
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.history import HistoryScreen
from libchat_tui.ui.widgets.chat_pane import NOT_OPEN, ChatPane


def _chat(state: ChatState, owner: str | None) -> Chat:
    now = FakeClock().now()
    who = None if owner is None else Actor("librarian", owner, owner.title())
    return Chat(1, "Maya", None, "Q", state, now, now, owner=who)


@pytest.mark.parametrize("state", list(ChatState))
@pytest.mark.parametrize("owner", [None, "ana", "ben"])
def test_end_and_send_belong_to_the_owner_in_every_state(state: ChatState, owner: str | None) -> None:
    chat = _chat(state, owner)
    live = state in (ChatState.ACTIVE, ChatState.RECONNECTING)
    assert domain.may(chat, Act.END, "ana") == (live and owner == "ana")
    assert domain.may(chat, Act.SEND, "ana") == (live and owner == "ana")
    assert domain.may(chat, Act.CLOSE, "ana") == (state in domain.FINISHED_STATES)
    assert domain.may(chat, Act.ACCEPT, "ana") == (state is ChatState.WAITING)


def test_the_patron_talks_only_while_connected() -> None:
    assert [s for s in ChatState if domain.patron_can_talk(s)] == [ChatState.WAITING, ChatState.ACTIVE]


async def test_nobody_can_end_an_unowned_reconnecting_chat(backend: Backend) -> None:
    """The desk used to let anyone end it while the console greyed the key out."""
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    pat.ws.transport.abort()
    await lib.next_event("chat", id=chat_id, state="reconnecting")
    reply = await lib.request("end", chat_id=chat_id)
    assert reply["type"] == "error" and reply["code"] == "not_owner"
    assert "nobody has accepted it" in reply["message"]


async def test_a_colleagues_chat_offers_no_end_and_the_desk_refuses_it(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    _pat, joined = await join(backend.url, name="Maya")
    chat_id = desk_id(backend, joined)
    await ben.ok("accept", chat_id=chat_id)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats and app.screen.chat is not None,
                         "Ben's chat in the pane")
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        assert dashboard.check_action("end_chat", ()) is False
        assert not app.screen.query_one("#btn-end").display  # no button that silently does nothing
        pane = app.screen.query_one(ChatPane)
        assert pane.why_not_sent() == "This chat is Ben's."  # typing there sends nothing
        assert pane.composer.border_title == NOT_OPEN
        assert await app.request("end", chat_id=chat_id) is None  # and the desk says why
        await wait_until(pilot, lambda: "belongs to Ben" in screen_text(app), "the desk's reason")


async def test_the_console_shows_the_desks_message_count(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    """After accept → end the desk counts 3 lines (question, accepted, ended); so does the console."""
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    seen: list[DeskChanged] = []

    def hook(message: Message) -> None:
        if isinstance(message, DeskChanged):
            seen.append(message)

    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat")
        await app.request("accept", chat_id=chat_id)
        await app.request("end", chat_id=chat_id)
        await wait_until(pilot, lambda: any(chat_id in m.changes.chats and
                                            app.model.chats[chat_id].state is ChatState.ENDED
                                            for m in seen), "a DeskChanged for the end")
        stored = (await backend.desk.transcript(chat_id))["chat"]["message_count"]
        assert stored == 3
        assert app.model.chats[chat_id].message_count == stored


async def test_an_outbox_that_cannot_be_written_is_reported_and_the_console_goes_on(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online")
        outbox = tmp_path / "console" / "outbox.json"
        outbox.unlink(missing_ok=True)
        outbox.mkdir(parents=True)  # a directory where the file should go: every write fails
        assert await app.request("accept", chat_id=chat_id) is not None  # the command still runs
        await wait_until(pilot, lambda: "not safe on disk" in screen_text(app), "the error shown")
        assert "⚠ not saved" in app.connection_text() or app.status.outbox_error == ""
        assert app.is_running
        os.rmdir(outbox)
        assert await app.request("send", chat_id=chat_id, text="still here") is not None
        await wait_until(pilot, lambda: app.status.outbox_error == "", "recovered once it can write")


async def test_the_palette_offers_chat_commands_only_on_the_dashboard(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    """"Close chat" from History used to close the chat highlighted on the hidden dashboard."""
    lib, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    await pat.ok("leave")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen)
                         and app.screen.chat is not None, "the ended chat in the pane")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Close chat" in titles
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), "history")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Close chat" not in titles and not any(t.startswith("Accept") for t in titles)


async def test_a_restart_never_gives_a_reconnecting_patron_more_time(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The deadline is stored with the chat: a restart keeps it, and every console sees it."""
    backend = Backend(data_dir=tmp_path / "data", grace_seconds=20, clock=clock, token="t")
    await backend.start()
    lib, _ = await librarian(backend.url, "t")
    pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    pat.ws.transport.abort()
    dropped = await lib.next_event("chat", id=chat_id, state="reconnecting")
    deadline = dropped["chat"]["grace_deadline"]
    await lib.close()
    await clock.advance(15)
    await backend.stop()
    backend = Backend(data_dir=tmp_path / "data", grace_seconds=20, clock=clock, token="t", port=backend.port)
    await backend.start()
    try:
        assert domain.iso(backend.desk.chats[chat_id].grace_deadline) == deadline
        lib, _ = await librarian(backend.url, "t")
        await clock.advance(6)  # 21 s after the drop: past the one deadline there is
        await lib.next_event("chat", id=chat_id, state="disconnected")
    finally:
        await backend.stop()


def test_transitions_record_who_and_when() -> None:
    chat = _chat(ChatState.ACTIVE, "ana")
    at = chat.created_at + timedelta(minutes=3)
    ended, change = chat.apply(Action.END_BY_PATRON, PATRON, at)
    assert (ended.state, change.by, change.at) == (ChatState.ENDED, PATRON, at)


async def test_no_reply_or_event_grows_past_one_frame_with_patron_volume(backend: Backend) -> None:
    """A long chat's transcript, and its ticket, stay under the frame limit every client accepts."""
    from libchat_tui import protocol as p

    lib, _ = await librarian(backend.url, backend.token, lib_id="ana")
    pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    noisy = "\x01" * 3900  # JSON writes each control character as six bytes
    for i in range(60):
        await lib.ok("send", chat_id=chat_id, text=f"{i} {noisy}")
    transcript = await lib.ok("transcript", chat_id=chat_id)
    assert len(p.encode(p.Ack("x", transcript)).encode()) < p.MAX_SERVER_FRAME_BYTES
    assert transcript["omitted"]["messages"] > 0
    assert transcript["messages"][-1]["text"].startswith("59 ")  # the newest lines are the ones kept
    ticket = await lib.ok("create_ticket", chat_id=chat_id, name="Maya", email="maya@example.edu",
                          subject="Follow-up", body="x" * 20_000)
    event = await lib.next_event("ticket")
    assert event["ticket"]["body_clipped"] is True and len(event["ticket"]["body"]) <= p.CLIPPED_BODY
    assert ticket["ticket"]["id"] == event["ticket"]["id"]
    del pat


async def test_a_console_started_after_a_flood_of_long_questions_gets_online(
    backend: Backend, clock: FakeClock, tmp_path: Path
) -> None:
    """120 chats with 2,000-character control-character questions: the snapshot is paged."""
    from libchat_tui import protocol as p

    noisy = "\x01" * 1_990
    peers = []
    for i in range(120):
        peers.append(await join(backend.url, name=f"P{i}", question=f"{i} {noisy}"))
    _seq, chats = backend.desk.snapshot()
    assert len(p.encode(p.Snapshot(1, chats)).encode()) > p.MAX_SERVER_FRAME_BYTES  # one frame would not do
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online", timeout=15)
        await wait_until(pilot, lambda: len(app.model.chats) == 120, "every chat", timeout=15)
    del peers


async def test_retry_push_on_a_desk_without_libanswers_says_so(backend: Backend) -> None:
    lib, hello = await librarian(backend.url, backend.token, lib_id="ana")
    assert hello["libanswers"] is None  # not configured: consoles show no indicator
    reply = await lib.request("retry_push", kind="ticket", record_id=1)
    assert reply["code"] == "libanswers_off" and "[libanswers]" in reply["message"]
