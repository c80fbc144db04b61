"""DeskClient against a real backend that goes away and comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from desk_ids import desk_id
from wire import join

from libchat_tui import protocol as p
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.client import CommandError, DeskClient, Status
from libchat_tui.model import DeskModel


class Console:
    """A client plus the model it feeds, recording every frame and status."""

    def __init__(self, url: str, token: str, outbox: Path | None = None) -> None:
        self.frames: list[p.Frame] = []
        self.statuses: list[Status] = []
        self.model = DeskModel("ana")
        self.client = DeskClient(url, token, librarian_id="ana", name="Ana", on_frame=self._frame,
                                 on_status=self.statuses.append, outbox=outbox, backoff_max=0.2)
        self.task = asyncio.create_task(self.client.run())

    def _frame(self, frame: p.Frame) -> None:
        self.frames.append(frame)
        self.model.apply([frame])

    async def until(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        await self.client.stop()
        await asyncio.wait_for(self.task, 5)


async def _restart(old: Backend, tmp: Path, clock: FakeClock) -> Backend:
    new = Backend(data_dir=tmp / "data", clock=clock, token=old.token, port=old.port)
    await new.start()
    return new


async def test_resync_after_outage_has_no_gaps_and_no_duplicates(tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    console = Console(backend.url, "t")
    await console.until(lambda: console.client.online)
    _p, first = await join(backend.url, name="Ann")
    await console.until(lambda: desk_id(backend, first) in console.model.chats)

    await backend.stop()  # the desk goes away
    await console.until(lambda: console.statuses[-1].state == "offline")
    assert console.statuses[-1].attempt >= 1
    backend = await _restart(backend, tmp_path, clock)
    # While the console was away several things happened on the desk.
    try:
        joined = [await join(backend.url, name=f"P{i}") for i in range(3)]
        await console.until(lambda: all(desk_id(backend, j[1]) in console.model.chats for j in joined))
        await console.until(lambda: console.client.online)
        assert console.statuses[-1].resync == "replay"
        seqs = [f.seq for f in console.frames if isinstance(f, p.ChatEvent | p.MessageEvent)]
        assert seqs == sorted(set(seqs))  # no duplicates, in order
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gaps
        assert console.model.chats[desk_id(backend, first)].state.value == "reconnecting"
    finally:
        await console.stop()
        await backend.stop()


async def test_commands_issued_offline_are_delivered_exactly_once(tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    outbox = tmp_path / "outbox.json"
    console = Console(backend.url, "t", outbox)
    await console.until(lambda: console.client.online)
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await console.client.command("accept", chat_id=chat_id)
    await backend.stop()
    await console.until(lambda: not console.client.online)

    sends = [asyncio.create_task(console.client.command("send", chat_id=chat_id, text=f"offline {i}"))
             for i in range(3)]
    note = asyncio.create_task(console.client.command("note", chat_id=chat_id, text="typed offline"))
    await console.until(lambda: console.client.queued == 4)
    await console.until(lambda: len(json.loads(outbox.read_text())) == 4)  # kept on disk while waiting
    with pytest.raises(CommandError) as info:
        await console.client.command("transcript", chat_id=chat_id)
    assert info.value.code == "offline"

    backend = await _restart(backend, tmp_path, clock)
    try:
        results = await asyncio.wait_for(asyncio.gather(*sends, note), 10)
        assert [r["message"]["text"] for r in results[:3]] == ["offline 0", "offline 1", "offline 2"]
        transcript = await console.client.command("transcript", chat_id=chat_id)
        texts = [m["text"] for m in transcript["messages"]]
        for i in range(3):
            assert texts.count(f"offline {i}") == 1
        assert [n["text"] for n in transcript["notes"]] == ["typed offline"]
        await console.until(lambda: json.loads(outbox.read_text()) == [])  # rewritten once answered
    finally:
        await console.stop()
        await backend.stop()


async def test_outbox_survives_a_console_crash(tmp_path: Path, clock: FakeClock) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    outbox = tmp_path / "outbox.json"
    try:
        first = Console(backend.url, "t", outbox)
        await first.until(lambda: first.client.online)
        _pat, joined = await join(backend.url)
        await first.client.command("accept", chat_id=desk_id(backend, joined))
        port = backend.port
        await backend.stop()
        await first.until(lambda: not first.client.online)
        chat_id = desk_id(backend, joined)
        pending = asyncio.create_task(first.client.command("send", chat_id=chat_id, text="kept"))
        await first.until(lambda: first.client.queued == 1)
        first.task.cancel()  # the console dies with the command unacknowledged
        pending.cancel()
        backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t", port=port)
        await backend.start()
        second = Console(backend.url, "t", outbox)
        await second.until(lambda: second.client.queued == 0 and second.client.online)
        transcript = await second.client.command("transcript", chat_id=desk_id(backend, joined))
        assert [m["text"] for m in transcript["messages"]].count("kept") == 1
        await second.stop()
    finally:
        await backend.stop()


async def test_stale_offline_command_is_refused_with_a_clear_message(
    tmp_path: Path, clock: FakeClock
) -> None:
    backend = Backend(data_dir=tmp_path / "data", clock=clock, token="t")
    await backend.start()
    console = Console(backend.url, "t")
    await console.until(lambda: console.client.online)
    pat, joined = await join(backend.url)
    await console.client.command("accept", chat_id=desk_id(backend, joined))
    await pat.ok("leave")  # the patron ends it...
    await console.until(lambda: console.model.chats[desk_id(backend, joined)].state.value == "ended")
    with pytest.raises(CommandError) as info:  # ...so ending it now is refused, clearly
        await console.client.command("end", chat_id=desk_id(backend, joined))
    assert info.value.code == "illegal_transition" and "ended" in info.value.message
    await console.stop()
    await backend.stop()


async def test_wrong_token_stops_the_retry_loop(backend: Backend) -> None:
    console = Console(backend.url, "not-the-token")
    await asyncio.wait_for(console.task, 5)  # run() returns instead of retrying forever
    assert console.statuses[-1].state == "failed"
    assert "token" in console.statuses[-1].detail
