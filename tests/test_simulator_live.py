"""Simulated patrons against a real desk on port 0: each behaviour, as the librarian sees it.

The librarian side is a raw `/librarian` connection (tests/wire.py) driven by a small
bot that accepts chats and answers every patron line. The desk runs on a FakeClock, so
the reconnect grace period only runs out when a test advances it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from desk_ids import desk_id
from wire import Peer, librarian

from libchat_tui import protocol as p
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.patron_client import PatronError, PatronSession
from libchat_tui.simulator.data import THANKS
from libchat_tui.simulator.patrons import Behaviour, PatronResult, Simulator

TIMEOUT = 15.0
ANSWERS = ("You can do that from the library website under 'My account'.",
           "Yes, that works from off-campus too once you sign in.",
           "Let me check... yes, we have that.")


class DeskWatcher:
    """A librarian who accepts every chat (if told to) and answers each patron line."""

    def __init__(self, peer: Peer, *, accepts: bool = True, ends_on_thanks: bool = False) -> None:
        self.peer = peer
        self.accepts = accepts
        self.ends_on_thanks = ends_on_thanks
        self.chats: dict[int, dict[str, Any]] = {}
        self.states: dict[int, list[str]] = defaultdict(list)
        self.transcripts: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.tickets: list[dict[str, Any]] = []
        self._answers = itertools.cycle(ANSWERS)
        self._accepted: set[int] = set()
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        while True:
            frame = await self.peer.events.get()
            self._record(frame)
            self._changed.set()

    def _record(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "chat":
            chat = frame["chat"]
            cid = chat["id"]
            if not self.states[cid] or self.states[cid][-1] != chat["state"]:
                self.states[cid].append(chat["state"])
            self.chats[cid] = chat
            if chat["state"] == "waiting" and self.accepts and cid not in self._accepted:
                self._accepted.add(cid)
                self._spawn(self._accept(cid, chat["patron"]["name"]))
        elif frame["type"] == "message":
            message = frame["message"]
            cid = message["chat_id"]
            self.transcripts[cid].append(message)
            first = len([m for m in self.transcripts[cid] if m["sender"] == "patron"]) == 1
            if message["sender"] == "patron" and cid in self._accepted and not first:
                if self.ends_on_thanks and message["text"] in THANKS:
                    self._spawn(self.peer.request("end", chat_id=cid))
                else:
                    self._spawn(self.peer.request("send", chat_id=cid, text=next(self._answers)))
        elif frame["type"] == "ticket":
            self.tickets.append(frame["ticket"])

    async def _accept(self, cid: int, name: str) -> None:
        with contextlib.suppress(TimeoutError):  # the desk may be going away (see below)
            await self.peer.ok("accept", chat_id=cid)
            await self.peer.request("send", chat_id=cid,
                                    text=f"Hi {name}, I'm Ana. Let me look into that.")

    async def until(self, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
        async with asyncio.timeout(timeout):
            while not (found := check()):
                self._changed.clear()
                await self._changed.wait()
        return found

    def texts(self, cid: int, sender: str) -> list[str]:
        return [m["text"] for m in self.transcripts[cid] if m["sender"] == sender]


@contextlib.asynccontextmanager
async def desk(backend: Backend, **kwargs: Any) -> AsyncIterator[DeskWatcher]:
    peer, _ = await librarian(backend.url, backend.token)
    watcher = DeskWatcher(peer, **kwargs)
    task = asyncio.create_task(watcher.run())
    try:
        yield watcher
    finally:
        task.cancel()
        await peer.close()


def simulate(backend: Backend, behaviour: Behaviour, **kwargs: Any) -> Simulator:
    options = {"seed": 5, "speed": 100.0, "patrons": 1, "behaviours": [behaviour], **kwargs}
    return Simulator(backend.url, **options)


async def finish(sim: Simulator, task: asyncio.Task[None]) -> PatronResult:
    async with asyncio.timeout(TIMEOUT):
        await task
    (result,) = sim.results
    return result


async def test_a_conversing_patron_talks_until_the_librarian_ends_the_chat(backend: Backend) -> None:
    async with desk(backend, ends_on_thanks=True) as watch:
        sim = simulate(backend, Behaviour.CONVERSES)
        result = await finish(sim, asyncio.create_task(sim.run()))
        assert result.outcome == "ended_by_librarian"
        chat = await watch.until(lambda: watch.chats.get(desk_id(backend, result), {}).get("state") == "ended"
                                 and watch.chats[desk_id(backend, result)])
        assert chat["last_change"]["action"] == "end_by_librarian"
        said = watch.texts(chat["id"], "patron")
        assert said[0] == result.plan.question
        assert said[-1] == result.plan.thanks
        assert len(said) == result.plan.exchanges + 2


async def test_a_patron_can_end_the_chat_themselves(backend: Backend) -> None:
    async with desk(backend) as watch:
        sim = simulate(backend, Behaviour.ENDS_CHAT)
        result = await finish(sim, asyncio.create_task(sim.run()))
        assert result.outcome == "ended_by_patron"
        chat = await watch.until(lambda: watch.states[desk_id(backend, result)][-1:] == ["ended"]
                                 and watch.chats[desk_id(backend, result)])
        change = chat["last_change"]
        assert (change["action"], change["from"], change["by"]["kind"]) == (
            "end_by_patron", "active", "patron")
        assert watch.texts(chat["id"], "patron")[-1] == result.plan.thanks


async def test_a_patron_who_is_not_picked_up_gives_up_and_leaves_a_missed_chat(
    backend: Backend,
) -> None:
    async with desk(backend, accepts=False) as watch:
        sim = simulate(backend, Behaviour.GIVES_UP_WAITING, speed=200.0)
        result = await finish(sim, asyncio.create_task(sim.run()))
        assert result.outcome == "gave_up_waiting"
        chat = await watch.until(lambda: watch.states[desk_id(backend, result)] == ["waiting", "ended"]
                                 and watch.chats[desk_id(backend, result)])
        assert chat["last_change"]["action"] == "end_by_patron"
        assert chat["last_change"]["from"] == "waiting"
        assert chat["accepted_at"] is None and chat["owner"] is None


async def test_a_patron_whose_connection_drops_resumes_within_grace(backend: Backend) -> None:
    async with desk(backend) as watch:
        sim = simulate(backend, Behaviour.DROPS_AND_RESUMES)
        result = await finish(sim, asyncio.create_task(sim.run()))
        assert result.outcome == "resumed_and_ended"
        cid = desk_id(backend, result)
        await watch.until(lambda: watch.states[cid][-1:] == ["ended"])
        assert watch.states[cid] == ["waiting", "active", "reconnecting", "active", "ended"]
        system = watch.texts(cid, "system")
        assert "Patron reconnected" in system
        assert watch.chats[cid]["last_change"]["action"] == "end_by_patron"


async def test_a_patron_who_drops_for_good_is_disconnected_when_grace_runs_out(
    backend: Backend, clock: FakeClock
) -> None:
    async with desk(backend) as watch:
        sim = simulate(backend, Behaviour.DROPS_FOR_GOOD)
        result = await finish(sim, asyncio.create_task(sim.run()))
        assert result.outcome == "dropped"
        cid = desk_id(backend, result)
        await watch.until(lambda: watch.states[cid][-1:] == ["reconnecting"])
        await clock.advance(61)
        await watch.until(lambda: watch.states[cid][-1:] == ["disconnected"])
        assert watch.chats[cid]["ticket_offered"] is True
        assert watch.chats[cid]["patron_ticket_id"] is None
        assert watch.tickets == []


async def test_a_patron_back_after_grace_takes_the_ticket_offer(
    backend: Backend, clock: FakeClock
) -> None:
    async with desk(backend) as watch:
        # The patron stays away 1.0 * 1.1 + 0.5 = 1.6 s (real time, as they would for a real
        # desk's grace period); the fake clock jumps past the desk's 60 s long before that.
        sim = simulate(backend, Behaviour.DROPS_AND_TAKES_TICKET, grace_seconds=1.0)
        task = asyncio.create_task(sim.run())
        cid = await watch.until(lambda: next(
            (c for c, s in watch.states.items() if s[-1:] == ["reconnecting"]), None))
        await clock.advance(61)
        await watch.until(lambda: watch.states[cid][-1:] == ["disconnected"])
        result = await finish(sim, task)
        assert result.outcome == "ticket"
        ticket = await watch.until(lambda: next(iter(watch.tickets), None))
        assert ticket["chat_id"] == cid
        assert ticket["source"] == "patron"
        assert ticket["email"] == result.plan.ticket_email
        chat = await watch.until(lambda: watch.chats[cid]["patron_ticket_id"] and watch.chats[cid])
        assert chat["patron_ticket_id"] == ticket["id"]
        assert chat["state"] == "disconnected"


async def test_stop_ends_an_endless_simulation_cleanly(backend: Backend) -> None:
    async with desk(backend, accepts=False) as watch:
        sim = Simulator(backend.url, seed=9, speed=50.0, arrival_mean_seconds=5.0)
        task = asyncio.create_task(sim.run())
        await watch.until(lambda: len(watch.chats) >= 2)
        await sim.stop()
        async with asyncio.timeout(TIMEOUT):
            await task  # returns instead of raising CancelledError
        assert all(r.outcome != "running" for r in sim.results)


async def test_the_simulator_survives_a_desk_that_goes_away(tmp_path: Any) -> None:
    server = Backend(data_dir=tmp_path / "gone", clock=FakeClock())
    await server.start()
    sim = Simulator(server.url, seed=3, speed=100.0, patrons=3, arrival_mean_seconds=1.0,
                    behaviours=[Behaviour.CONVERSES], timeout=2.0)
    task = asyncio.create_task(sim.run())
    async with desk(server) as watch:
        await watch.until(lambda: "active" in itertools.chain(*watch.states.values()))
        await server.stop()
    async with asyncio.timeout(TIMEOUT):
        await task  # every patron ends with an error outcome; nothing is raised
    assert len(sim.results) == 3
    assert all(r.outcome.startswith("error") for r in sim.results), sim.results


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_seeded_desk_gets_the_same_patrons_every_time(tmp_path: Any, seed: int) -> None:
    questions = []
    for run in range(2):
        server = Backend(data_dir=tmp_path / f"{seed}-{run}", clock=FakeClock())
        async with server, desk(server, accepts=False) as watch:
            sim = Simulator(server.url, seed=seed, speed=400.0, patrons=3,
                            behaviours=[Behaviour.GIVES_UP_WAITING])
            await finish_all(sim)
            questions.append(sorted(c["question"] for c in watch.chats.values()))
    assert questions[0] == questions[1]
    assert len(questions[0]) == 3


async def finish_all(sim: Simulator) -> None:
    async with asyncio.timeout(TIMEOUT):
        await sim.run()


async def test_the_patron_client_raises_refusals_and_resumes_without_duplicates(
    backend: Backend,
) -> None:
    async with desk(backend, accepts=False) as watch:
        session = PatronSession(backend.url, timeout=5.0)
        with pytest.raises(PatronError) as refused:
            await session.join("Maya", "not an address", "Open on Sunday?")
        assert refused.value.code == "invalid_email"
        await session.join("Maya", None, "Open on Sunday?")
        with pytest.raises(PatronError) as no_offer:
            await session.submit_ticket("maya@example.edu")
        assert no_offer.value.code == "no_ticket_offer"
        cid = desk_id(backend, session)
        await watch.peer.ok("accept", chat_id=cid)
        first = await watch.peer.ok("send", chat_id=cid, text="Hello!")
        async with asyncio.timeout(TIMEOUT):
            async for event in session:
                if isinstance(event, p.PatronMessageEvent):
                    break
        assert session.last_message_id == first["message"]["id"]

        await session.drop()
        await watch.until(lambda: watch.states[cid][-1:] == ["reconnecting"])
        for text in ("Are you there?", "I'll wait a moment."):
            await watch.peer.ok("send", chat_id=cid, text=text)
        missed = await session.resume()
        assert [m["text"] for m in missed] == ["Are you there?", "I'll wait a moment."]
        assert session.state == "active"
        assert await session.resume() == []  # nothing new; nothing twice
        await session.leave()
        await watch.until(lambda: watch.states[cid][-1:] == ["ended"])
