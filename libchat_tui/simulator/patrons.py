"""Simulated patrons, so a new desk (demo, training, tests) has someone to talk to.

Each patron is a real `/patron` client (`PatronSession`), so the simulator exercises the
same path as a real chat widget. Who arrives, what they ask and how they behave is
planned up front from `random.Random(seed)` by the pure `plan_patron`, so a seed always
gives the same patrons. A patron's waits are divided by `speed` (the desk's grace
period is not; see `Simulator`). A patron that hits an error is logged and ends; the
simulator itself never crashes and never floods the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import protocol as p
from ..domain import patron_can_talk
from ..patron_client import ConnectionClosedEvent, ConnectionLost, Event, PatronError, PatronSession
from . import data

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]


class Behaviour(enum.Enum):
    """How a simulated patron's chat goes."""

    CONVERSES = "converses"  # talks, then waits for the librarian to end the chat
    ENDS_CHAT = "ends_chat"  # ends the chat themselves after a few exchanges
    GIVES_UP_WAITING = "gives_up_waiting"  # leaves before anyone accepts: a missed chat
    DROPS_AND_RESUMES = "drops_and_resumes"  # loses the connection, resumes within grace
    DROPS_FOR_GOOD = "drops_for_good"  # loses the connection and never returns
    DROPS_AND_TAKES_TICKET = "drops_and_takes_ticket"  # returns too late, takes the ticket offer


WEIGHTS: dict[Behaviour, int] = {
    Behaviour.CONVERSES: 30,
    Behaviour.ENDS_CHAT: 25,
    Behaviour.GIVES_UP_WAITING: 12,
    Behaviour.DROPS_AND_RESUMES: 13,
    Behaviour.DROPS_FOR_GOOD: 8,
    Behaviour.DROPS_AND_TAKES_TICKET: 12,
}
DROPS = frozenset(
    {Behaviour.DROPS_AND_RESUMES, Behaviour.DROPS_FOR_GOOD, Behaviour.DROPS_AND_TAKES_TICKET}
)
#: Seconds (simulated) a patron will wait for a reply before leaving.
IDLE_SECONDS = 600.0


@dataclass(frozen=True)
class PatronPlan:
    """Everything about one simulated patron, decided before they connect.

    Times are simulated seconds (the simulator divides them by `speed`).
    """

    index: int
    name: str
    email: str | None
    topic: str
    question: str
    behaviour: Behaviour
    arrival_delay: float  # after the previous patron arrived
    patience: float  # how long they wait to be accepted
    exchanges: int  # replies to the librarian before saying thanks
    drop_at: int  # replies before the connection drops (DROPS_* only)
    offline_seconds: float  # how long a DROPS_AND_RESUMES patron is away
    chars_per_second: float  # typing speed
    follow_ups: tuple[str, ...]
    answers: tuple[tuple[str, str], ...]  # (word in a librarian's question, the reply)
    thanks: str = ""
    ticket_email: str = ""  # the e-mail given with a ticket (their own, or made up now)
    ticket_details: str = ""
    seed: int = 0  # for the small choices made while the chat runs


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _email(rng: random.Random, first: str, last: str) -> str:
    f, la = _ascii(first), _ascii(last)
    number = rng.randint(1, 99)
    local = rng.choice((f"{f}.{la}", f"{f[0]}{la}", f"{f}{la[:3]}{number}", f"{f}_{la}"))
    return f"{local}@{rng.choice(data.EMAIL_DOMAINS)}"


def _format(text: str, slots: dict[str, str]) -> str:
    return text.format(**slots)


def plan_patron(
    rng: random.Random,
    index: int,
    *,
    arrival_mean_seconds: float = 20.0,
    behaviours: Sequence[Behaviour] | None = None,
) -> PatronPlan:
    """Plan patron number `index` from `rng` (pure: no I/O, no clock)."""
    first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.LAST_NAMES)
    name = first if rng.random() < 0.4 else f"{first} {last}"
    email = _email(rng, first, last) if rng.random() < 0.75 else None
    key = rng.choice(sorted(data.TOPICS))
    topic: data.Topic = data.TOPICS[key]
    slots = {slot: rng.choice(options) for slot, options in sorted(data.SLOTS.items())}
    slots["author"] = data.AUTHOR_OF[slots["title"]]  # drawn all the same: seeds keep their chats
    slots["email"] = email or ""
    question = _format(rng.choice(topic.questions), slots)
    kinds = list(behaviours) if behaviours else list(WEIGHTS)
    behaviour = rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
    arrival = rng.uniform(0.5, 3.0) if index == 0 else rng.expovariate(1.0 / arrival_mean_seconds)
    arrival = min(max(arrival, 0.5), arrival_mean_seconds * 5)
    giving_up = behaviour is Behaviour.GIVES_UP_WAITING
    patience = rng.uniform(20.0, 90.0) if giving_up else rng.uniform(600.0, 1200.0)
    exchanges = rng.randint(1, 3)
    shuffled = rng.sample(topic.follow_ups, len(topic.follow_ups))
    follow_ups = tuple(_format(f, slots) for f in shuffled)
    ticket_email = email or _email(rng, first, last)
    return PatronPlan(
        index=index, name=name, email=email, topic=key, question=question, behaviour=behaviour,
        arrival_delay=arrival, patience=patience, exchanges=exchanges,
        drop_at=rng.randint(1, exchanges), offline_seconds=rng.uniform(3.0, 15.0),
        chars_per_second=rng.uniform(3.0, 8.0), follow_ups=follow_ups,
        answers=tuple((k, v.format(**slots)) for k, v in topic.answers + data.COMMON_ANSWERS),
        thanks=rng.choice(data.THANKS), ticket_email=ticket_email,
        ticket_details=f"I was asking: {question} Please e-mail me when you can.",
        seed=rng.getrandbits(32),
    )


def plan_patrons(seed: int, count: int, **kwargs: Any) -> list[PatronPlan]:
    """The first `count` patrons a `Simulator(seed=seed)` would send."""
    rng = random.Random(seed)
    return [plan_patron(rng, i, **kwargs) for i in range(count)]


def reply_to(plan: PatronPlan, librarian_text: str, turn: int, rng: random.Random) -> str:
    """What the patron says back: answers a question if it can, else a topic follow-up."""
    text = librarian_text.lower()
    if "?" in text:
        if "mail" in text:
            if plan.email:
                return f"Sure, it's {plan.email}."
            return "I'd rather not give my e-mail, sorry."
        for keyword, answer in plan.answers:
            if keyword in text:
                return answer
    if "http" in text or "link" in text:
        return rng.choice(("Thanks, opening the link now.", "Okay, I see the page."))
    if turn < len(plan.follow_ups):
        return plan.follow_ups[turn]
    return rng.choice(data.ACKS)


@dataclass
class PatronResult:
    """How a simulated patron's visit went (for tests and the demo's log)."""

    plan: PatronPlan
    chat_id: str | None = None  # the patron's opaque reference to the chat
    resume_token: str | None = None
    outcome: str = "running"


class _Ended(Exception):
    """The librarian ended the chat."""


class Simulator:
    """Sends seeded simulated patrons to a desk's `/patron` endpoint.

    Every patron-side wait (arrivals, thinking, typing, patience) is divided by `speed`
    and slept with `clock_sleep`. The desk's reconnect timer does not speed up, so
    `grace_seconds` is the desk's grace period in wall-clock seconds: a patron who drops
    and resumes is back within a third of it; one who takes the ticket stays away longer.
    """

    def __init__(
        self,
        url: str,
        *,
        seed: int,
        speed: float = 1.0,
        patrons: int | None = None,
        arrival_mean_seconds: float = 20.0,
        clock_sleep: Sleep = asyncio.sleep,
        grace_seconds: float = 60.0,  # the desk's, in wall-clock seconds: NOT scaled by speed
        behaviours: Sequence[Behaviour] | None = None,
        max_active: int = 12,
        timeout: float = 10.0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.url = url
        self.seed = seed
        self.speed = speed
        self.patrons = patrons
        self.arrival_mean_seconds = arrival_mean_seconds
        self.grace_seconds = grace_seconds
        self.behaviours = tuple(behaviours) if behaviours else None
        self.timeout = timeout  # for each connect and command
        self.results: list[PatronResult] = []
        self._sleep_real = clock_sleep
        self._rng = random.Random(seed)
        self._slots = asyncio.Semaphore(max_active)  # keeps under the server's per-address cap
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[Any] | None = None
        self._stopping = False
        self._failures = 0

    async def _sleep(self, seconds: float) -> None:
        await self._sleep_real(max(0.0, seconds) / self.speed)

    # --- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Send patrons until `patrons` have come (and finished) or `stop()` is called."""
        self._runner = runner = asyncio.current_task()
        index = 0
        try:
            while not self._stopping and (self.patrons is None or index < self.patrons):
                plan = plan_patron(self._rng, index, arrival_mean_seconds=self.arrival_mean_seconds,
                                   behaviours=self.behaviours)
                await self._sleep(plan.arrival_delay + min(60.0, 2.0 ** self._failures - 1))
                await self._slots.acquire()
                task = asyncio.create_task(self._visit(plan), name=f"patron-{index}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                index += 1
            while self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            if runner is not None:
                runner.uncancel()
        finally:
            await self._cancel_patrons()

    async def stop(self) -> None:
        """Stop sending patrons and end the ones still chatting."""
        self._stopping = True
        runner = self._runner
        if runner is not None and not runner.done() and runner is not asyncio.current_task():
            runner.cancel()
            await asyncio.wait([runner])
        await self._cancel_patrons()

    async def _cancel_patrons(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # --- one patron ------------------------------------------------------------------

    async def _visit(self, plan: PatronPlan) -> None:
        result = PatronResult(plan)
        self.results.append(result)
        session = PatronSession(self.url, timeout=self.timeout)
        try:
            await session.join(plan.name, plan.email, plan.question)
            self._failures = 0
            result.chat_id, result.resume_token = session.chat_id, session.resume_token
            result.outcome = await self._chat(plan, session, random.Random(plan.seed))
        except asyncio.CancelledError:
            result.outcome = "stopped"
            raise
        except _Ended:
            result.outcome = "ended_by_librarian"
        except ConnectionLost as exc:
            self._failures = min(self._failures + 1, 6)
            result.outcome = f"error: {exc.code}"
            log.info("patron %s lost the desk: %s", plan.name, exc.message)
        except Exception as exc:  # a simulated patron must never take the simulator down
            result.outcome = f"error: {getattr(exc, 'code', type(exc).__name__)}"
            log.warning("patron %s ended after an error: %s", plan.name, exc)
        finally:
            self._slots.release()
            with contextlib.suppress(Exception):
                await session.close()

    async def _chat(self, plan: PatronPlan, session: PatronSession, rng: random.Random) -> str:
        if not await self._wait_for_librarian(session, plan.patience):
            await self._leave(session)
            return "gave_up_waiting"
        turn = 0
        while turn < plan.exchanges:
            if plan.behaviour in DROPS and turn == plan.drop_at - 1:
                outcome = await self._drop(plan, session, rng)
                if outcome is not None:
                    return outcome
            heard = await self._next_librarian_line(session)
            if heard is None:
                await self._leave(session)
                return "left_idle"
            await self._say(session, plan, rng, reply_to(plan, heard, turn, rng))
            turn += 1
        await self._next_librarian_line(session)
        await self._say(session, plan, rng, plan.thanks)
        if plan.behaviour is Behaviour.CONVERSES:
            if await self._wait_for_end(session):
                return "ended_by_librarian"
            await self._leave(session)
            return "left_idle"
        await self._sleep(rng.uniform(1.0, 4.0))
        await self._leave(session)
        return "resumed_and_ended" if plan.behaviour in DROPS else "ended_by_patron"

    async def _drop(
        self, plan: PatronPlan, session: PatronSession, rng: random.Random
    ) -> str | None:
        """Lose the connection; None means the patron is back and the chat goes on."""
        await session.drop()
        if plan.behaviour is Behaviour.DROPS_FOR_GOOD:
            return "dropped"
        if plan.behaviour is Behaviour.DROPS_AND_RESUMES:  # back well within the grace period
            await self._sleep_real(min(plan.offline_seconds / self.speed, self.grace_seconds / 3))
        else:  # back only once the desk has given up
            await self._sleep_real(self.grace_seconds * 1.1 + 0.5)
        missed = await self._resume(session)
        if session.state == "disconnected":
            if not session.ticket_offered:
                return "disconnected"
            await self._sleep(len(plan.ticket_details) / plan.chars_per_second / 4)
            await session.submit_ticket(plan.ticket_email, plan.ticket_details)
            return "ticket"
        if not patron_can_talk(session.state or "ended"):
            return f"came_back_{session.state}"
        await self._say(session, plan, rng, rng.choice(data.SORRY))
        if missed:  # put the last missed line back so the conversation answers it
            session.events.put_nowait(p.PatronMessageEvent(missed[-1]))
        return None

    async def _leave(self, session: PatronSession) -> None:
        """Leave; if the librarian ended the chat a moment before, that is how it ended."""
        try:
            await session.leave()
        except PatronError as exc:
            if exc.code == "illegal_transition":
                raise _Ended("ended") from exc
            raise

    async def _resume(self, session: PatronSession) -> list[dict[str, Any]]:
        for attempt in range(4):
            try:
                return await session.resume()
            except ConnectionLost:
                if attempt == 3:
                    raise
                await self._sleep(2.0**attempt)
        return []

    async def _say(self, session: PatronSession, plan: PatronPlan, rng: random.Random,
                   text: str) -> None:
        """Think, type (a typing signal, then a pause that grows with the text), send."""
        await self._sleep(rng.uniform(1.0, 4.0))
        await session.typing()
        await self._sleep(min(len(text) / plan.chars_per_second, 30.0))
        for attempt in range(3):
            try:
                await session.send(text)
                return
            except PatronError as exc:
                if exc.code != "rate_limited" or attempt == 2:
                    raise
                await self._sleep_real(1.0 + attempt)

    # --- waiting on the desk ---------------------------------------------------------

    async def _event(self, session: PatronSession, deadline: float | None) -> Event | None:
        """The next event before `deadline` (loop time; None: only one already here), or None.

        Raises _Ended when the chat is over, ConnectionLost when the socket closed.
        """
        event = session.poll_event()
        if event is None and deadline is not None:
            remaining = deadline - asyncio.get_running_loop().time()
            with contextlib.suppress(TimeoutError):
                event = await session.next_event(remaining) if remaining > 0 else None
        if event is None:
            return None
        if isinstance(event, ConnectionClosedEvent):
            raise ConnectionLost(f"The desk closed the connection ({event.code}).")
        if isinstance(event, p.StateEvent) and not patron_can_talk(event.state):
            raise _Ended(event.state)
        return event

    def _deadline(self, seconds: float) -> float:
        return asyncio.get_running_loop().time() + seconds / self.speed

    async def _wait_for_librarian(self, session: PatronSession, patience: float) -> bool:
        """Wait to be accepted; False if patience ran out first."""
        deadline = self._deadline(patience)
        while session.state != "active":  # updated by the reader as the state event arrives
            if await self._event(session, deadline) is None:
                return False
        return True

    async def _next_librarian_line(self, session: PatronSession) -> str | None:
        """The librarian's next message (the latest, if several came at once), or None."""
        deadline = self._deadline(IDLE_SECONDS)
        text: str | None = None
        while True:
            event = await self._event(session, deadline if text is None else None)
            if event is None:
                return text
            if isinstance(event, p.PatronMessageEvent) and event.message.get("sender") == "librarian":
                text = str(event.message.get("text", ""))

    async def _wait_for_end(self, session: PatronSession) -> bool:
        """After saying thanks, wait for the librarian to end the chat."""
        deadline = self._deadline(IDLE_SECONDS)
        try:
            while await self._event(session, deadline) is not None:
                pass
        except _Ended:
            return True
        return False
