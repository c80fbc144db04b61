"""The push queue: a real Store on a SQLite file, a PushWorker, and the LibAnswers test server.

Each test asserts what a librarian would notice: the item's push state as the console
shows it, and what arrived in LibAnswers (exactly once). Time is a FakeClock; waits are
on the worker's state changes, its `idle` event, or the server's condition, all bounded.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from libanswers_support import (
    DATASET_ID,
    DATASETS,
    SECRET,
    FakeLibAnswers,
    Fault,
    config,
    new_chat,
    new_ticket,
    save_entry,
)

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.store import Store
from libchat_tui.domain import iso
from libchat_tui.libanswers.mapping import utc_text
from libchat_tui.libanswers.push import PushWorker, push_states, retry_failed
from libchat_tui.libanswers.settings import LibAnswersConfig, Secret
from libchat_tui.libanswers.states import describe_push

TIMEOUT = 5.0
TRANSACTION = f"POST /ra/dataset/{DATASET_ID}/transaction"
LOGIN = "POST /oauth/token"


class Desk:
    """A store and a push worker, opened, stopped and reopened the way the desk does."""

    def __init__(self, path: Path, clock: FakeClock, cfg: LibAnswersConfig) -> None:
        self.path, self.clock, self.cfg = path, clock, cfg
        self.changes: asyncio.Queue[tuple[str, int, dict[str, Any]]] = asyncio.Queue()
        self.store: Store | None = None
        self.worker: PushWorker | None = None

    async def open(self, *, push: bool = True) -> Store:
        self.store = Store(self.path)
        await self.store.open()
        if push:
            self.worker = PushWorker(self.store, self.cfg, DATASETS, self.clock, rng=random.Random(16),
                                     on_change=lambda *change: self.changes.put_nowait(change))
            self.worker.start()
        return self.store

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def until(self, kind: str, record_id: int, state: str) -> dict[str, Any]:
        """The next committed state of that record that is `state`."""
        while True:
            got = await asyncio.wait_for(self.changes.get(), TIMEOUT)
            if got[:2] == (kind, record_id) and got[2]["state"] == state:
                return got[2]

    async def idle(self) -> None:
        assert self.worker is not None
        await asyncio.wait_for(self.worker.idle.wait(), TIMEOUT)

    async def states(self, kind: str, ids: list[int]) -> dict[int, dict[str, Any]]:
        assert self.store is not None
        return await self.store.read(lambda conn: push_states(conn, kind, ids))

    def shown(self, kind: str, state: dict[str, Any]) -> str:
        return describe_push(kind, state, self.clock.now())


@pytest.fixture
def fake() -> Iterator[FakeLibAnswers]:
    with FakeLibAnswers() as server:
        yield server


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, fake: FakeLibAnswers) -> AsyncIterator[Desk]:
    it = Desk(tmp_path / "data" / "desk.sqlite3", clock, config(fake, timeout_seconds=0.5))
    try:
        yield it
    finally:
        await it.close()


async def test_a_new_ticket_is_sent_once_and_shows_its_ticket_number(desk: Desk, fake: FakeLibAnswers,
                                                                      clock: FakeClock) -> None:
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    state = await desk.until("ticket", ticket["id"], "sent")
    assert desk.shown("ticket", state) == "sent to LibAnswers (ticket 1234)"
    assert state["remote_url"] == "https://library.libanswers.com/admin/ticket?qid=1234"
    (sent,) = fake.tickets
    assert sent["pquestion"] == "Scan of the 1923 yearbook" and sent["pname"] == "Grace Hopper"
    assert state["marker"] in sent["pdetails"]  # what a librarian searches for in the queue
    assert (await desk.states("ticket", [ticket["id"]]))[ticket["id"]] == state
    await clock.advance(3600)
    await desk.idle()
    assert fake.count("POST /ticket/create") == 1


async def test_500s_then_success_backs_off_and_records_one_transaction(desk: Desk, fake: FakeLibAnswers,
                                                                       clock: FakeClock) -> None:
    fake.fail(TRANSACTION, Fault(500), Fault(502, "Bad Gateway"))
    store = await desk.open()
    entry = await save_entry(store, clock, await new_chat(store, clock))
    first = await desk.until("analytics", entry["id"], "waiting")
    assert desk.shown("analytics", first).startswith("waiting to send: LibAnswers had a problem (500): "
                                                     "Internal error, next try in ")
    await desk.idle()
    await clock.advance(5)  # the first backoff is 2.5-5 s
    second = await desk.until("analytics", entry["id"], "waiting")
    assert "(502): Bad Gateway" in second["reason"] and second["attempts"] == 2
    await desk.idle()
    await clock.advance(10)
    sent = await desk.until("analytics", entry["id"], "sent")
    assert desk.shown("analytics", sent) == "sent to LibAnswers (transaction 9001)"
    assert len(fake.transactions[DATASET_ID]) == 1
    # After a 500 LibAnswers may have kept it: each later try checks the listing first.
    assert fake.count(f"GET /ra/dataset/{DATASET_ID}/transactions") == 2


async def test_429_waits_as_long_as_retry_after_says(desk: Desk, fake: FakeLibAnswers,
                                                      clock: FakeClock) -> None:
    fake.fail("POST /ticket/create", Fault(429, {"error": "Rate limit exceeded"}, {"Retry-After": "40"}))
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    state = await desk.until("ticket", ticket["id"], "waiting")
    assert desk.shown("ticket", state) == ("waiting to send: LibAnswers asks us to slow down (429); it says "
                                           "to wait 40 s, next try in 40 s")
    await desk.idle()
    await clock.advance(39)
    await desk.idle()
    assert fake.count("POST /ticket/create") == 1
    await clock.advance(1)
    await desk.until("ticket", ticket["id"], "sent")
    assert len(fake.tickets) == 1


async def test_a_validation_error_is_refused_not_retried_and_retry_failed_sends_it(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.formfields[DATASET_ID][1]["options"][2]["label"] = "Three"  # READ level 3 renamed remotely
    store = await desk.open()
    entry = await save_entry(store, clock, await new_chat(store, clock))
    refused = await desk.until("analytics", entry["id"], "refused")
    assert desk.shown("analytics", refused).startswith(
        "not sent to LibAnswers: The LibAnswers field \"READ Scale\" has no option labelled \"3\" for '3' "
        "of 'read_scale'")
    fake.formfields[DATASET_ID][1]["options"][2]["label"] = "3"
    fake.fail(TRANSACTION, Fault(400, {"error": "owner_email is not a LibAnswers user"}))
    assert await retry_failed(store) == 1
    refused = await desk.until("analytics", entry["id"], "refused")
    assert desk.shown("analytics", refused) == "refused by LibAnswers: owner_email is not a LibAnswers user"
    await desk.idle()
    await clock.advance(24 * 3600)
    await desk.idle()
    assert fake.count(TRANSACTION) == 1  # never retried on its own
    assert await retry_failed(store) == 1
    await desk.until("analytics", entry["id"], "sent")
    assert len(fake.transactions[DATASET_ID]) == 1 and fake.count(TRANSACTION) == 2


async def test_a_timeout_is_reconciled_with_the_listing_instead_of_sent_twice(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail(TRANSACTION, Fault(stall=True, store_first=True))  # recorded, then no answer
    store = await desk.open()
    entry = await save_entry(store, clock, await new_chat(store, clock))
    waiting = await desk.until("analytics", entry["id"], "waiting")
    assert waiting["reason"] == "LibAnswers did not answer within 0.5 s"
    await desk.idle()
    await clock.advance(5)
    sent = await desk.until("analytics", entry["id"], "sent")
    assert sent["remote_id"] == "9001"
    assert fake.count(TRANSACTION) == 1 and len(fake.transactions[DATASET_ID]) == 1


async def test_a_ticket_that_timed_out_is_held_for_a_librarian_not_resent(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail("POST /ticket/create", Fault(stall=True, store_first=True))
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    held = await desk.until("ticket", ticket["id"], "refused")
    assert desk.shown("ticket", held) == (
        "not sent again: LibAnswers did not answer within 0.5 s, so it may already be in LibAnswers. "
        f"Search the queue for {held['marker']}; if it is not there, retry to send it")
    await desk.idle()
    await clock.advance(3600)
    await desk.idle()
    assert len(fake.tickets) == 1 and fake.count("POST /ticket/create") == 1


async def test_a_job_committed_before_the_desk_stopped_is_delivered_after_restart_once(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    store = await desk.open(push=False)  # the push never happened: the desk went down
    chat_id = await new_chat(store, clock)
    ticket = await new_ticket(store, clock, chat_id)
    entry = await save_entry(store, clock, chat_id)
    states = await desk.states("ticket", [ticket["id"]])
    assert desk.shown("ticket", states[ticket["id"]]) == "waiting to send"
    await desk.close()
    assert fake.requests == []

    await desk.open()
    await desk.until("ticket", ticket["id"], "sent")
    await desk.until("analytics", entry["id"], "sent")
    await desk.close()
    await desk.open()  # and once more: nothing is sent twice
    await desk.idle()
    assert len(fake.tickets) == 1 and len(fake.transactions[DATASET_ID]) == 1
    assert fake.count("POST /ticket/create") == 1 and fake.count(TRANSACTION) == 1


async def test_a_desk_stopped_mid_request_reconciles_after_restart(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail(TRANSACTION, Fault(stall=True, store_first=True))
    desk.cfg = config(fake, timeout_seconds=30)
    store = await desk.open()
    chat_id = await new_chat(store, clock)
    entry = await save_entry(store, clock, chat_id)
    await fake.wait_for(lambda: len(fake.transactions[DATASET_ID]) == 1)
    ticket = await new_ticket(store, clock, chat_id)  # queued behind the stuck transaction
    await desk.close()  # the desk stops while the transaction's answer is still out
    fake.release.set()

    await desk.open()
    sent = await desk.until("analytics", entry["id"], "sent")
    held = await desk.until("ticket", ticket["id"], "sent")  # never left: sent normally
    assert sent["remote_id"] == "9001" and held["remote_id"] == "1234"
    assert len(fake.transactions[DATASET_ID]) == 1 and fake.count(TRANSACTION) == 1


async def test_a_ticket_cut_off_mid_request_is_held_after_restart(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail("POST /ticket/create", Fault(stall=True, store_first=True))
    desk.cfg = config(fake, timeout_seconds=30)
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    await fake.wait_for(lambda: len(fake.tickets) == 1)
    await desk.close()
    await desk.open()
    await desk.idle()
    (state,) = (await desk.states("ticket", [ticket["id"]])).values()
    assert desk.shown("ticket", state).startswith("not sent again: the desk stopped while sending it, so it "
                                                  "may already be in LibAnswers")
    assert fake.count("POST /ticket/create") == 1
    assert await retry_failed(desk.store) == 1  # type: ignore[arg-type]  # the librarian decides
    await desk.until("ticket", ticket["id"], "sent")


async def test_an_entry_edited_before_sending_sends_the_new_version_once(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    store = await desk.open(push=False)
    chat_id = await new_chat(store, clock)
    entry = await save_entry(store, clock, chat_id, read_scale=2)
    await save_entry(store, clock, chat_id, read_scale=5)
    await desk.close()
    await desk.open()
    state = await desk.until("analytics", entry["id"], "sent")
    (stored,) = fake.transactions[DATASET_ID]
    assert stored["fields"]["813"] == ["3405"]  # READ 5, the edited value
    assert desk.store is not None
    await save_entry(desk.store, clock, chat_id, read_scale=6)
    (after,) = (await desk.states("analytics", [entry["id"]])).values()
    assert desk.shown("analytics", after).startswith(
        "sent to LibAnswers (transaction 9001); edited here after it was sent")
    await desk.idle()
    assert len(fake.transactions[DATASET_ID]) == 1 and state["remote_id"] == "9001"


async def test_the_secret_never_reaches_logs_or_librarians(desk: Desk, fake: FakeLibAnswers, clock: FakeClock,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    desk.cfg = config(fake, client_secret=Secret(SECRET + "-old"))  # rotated in LibAnswers, not here
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    refused = await desk.until("ticket", ticket["id"], "refused")
    assert refused["reason"].startswith("LibAnswers refused the API login for client 1286APP-001: Client "
                                        "authentication failed for ***.")
    assert desk.worker is not None and desk.worker.problem is not None
    assert "refused the API login" in desk.worker.problem and SECRET not in desk.worker.problem
    await desk.close()
    desk.cfg = config(fake)
    await desk.open()
    assert await retry_failed(desk.store) == 1  # type: ignore[arg-type]
    await desk.until("ticket", ticket["id"], "sent")
    assert SECRET not in caplog.text
    assert all(SECRET not in str(s) for s in (await desk.states("ticket", [ticket["id"]])).values())


# --- reconciliation never takes another entry's transaction ------------------------------


@pytest.mark.parametrize("notes_listed", [True, False], ids=["notes-listed", "notes-left-out"])
async def test_two_chats_asking_the_same_in_the_same_second_each_get_their_own_transaction(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock, notes_listed: bool) -> None:
    fake.notes_in_listing = notes_listed
    store = await desk.open()
    first = await save_entry(store, clock, await new_chat(store, clock, "Hello?"), first_question="Hello?")
    done = await desk.until("analytics", first["id"], "sent")
    fake.fail(TRANSACTION, Fault(500))  # not kept, but a 500 leaves the desk unsure
    second = await save_entry(store, clock, await new_chat(store, clock, "Hello?"), first_question="Hello?")
    await desk.until("analytics", second["id"], "waiting")
    await desk.idle()
    await clock.advance(5)
    sent = await desk.until("analytics", second["id"], "sent")
    assert (done["remote_id"], sent["remote_id"]) == ("9001", "9002")
    kept = fake.transactions[DATASET_ID]
    assert len(kept) == 2 and fake.count(TRANSACTION) == 3
    assert done["marker"] in kept[0]["internal_note"] and sent["marker"] in kept[1]["internal_note"]


async def test_a_transaction_recorded_by_hand_is_not_taken_for_the_entry(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    by_hand = fake.record_by_hand(DATASET_ID, utc_text(iso(clock.now())), "Hello?", "typed in at the desk")
    fake.fail(TRANSACTION, Fault(500))
    store = await desk.open()
    entry = await save_entry(store, clock, await new_chat(store, clock, "Hello?"), first_question="Hello?")
    await desk.until("analytics", entry["id"], "waiting")
    await desk.idle()
    await clock.advance(5)
    sent = await desk.until("analytics", entry["id"], "sent")
    assert by_hand == 9001 and sent["remote_id"] == "9002"
    assert len(fake.transactions[DATASET_ID]) == 2


async def test_without_notes_in_the_listing_the_same_question_and_second_still_reconciles(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.notes_in_listing = False  # the marker cannot be seen: the question and second are all there is
    fake.fail(TRANSACTION, Fault(stall=True, store_first=True))
    store = await desk.open()
    entry = await save_entry(store, clock, await new_chat(store, clock))
    await desk.until("analytics", entry["id"], "waiting")
    await desk.idle()
    await clock.advance(5)
    sent = await desk.until("analytics", entry["id"], "sent")
    assert sent["remote_id"] == "9001"
    assert fake.count(TRANSACTION) == 1 and len(fake.transactions[DATASET_ID]) == 1


# --- login faults -------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "said"), [
    (Fault(500), "LibAnswers had a problem (500): Internal error"),
    (Fault(503, {"error": "Maintenance"}), "LibAnswers had a problem (503): Maintenance"),
    (Fault(502, "<html>Bad Gateway</html>"), "LibAnswers had a problem (502): <html>Bad Gateway</html>"),
    (Fault(stall=True), "LibAnswers did not answer within 0.5 s"),
], ids=["500", "503", "502-html", "timeout"])
async def test_a_login_fault_waits_and_shows_on_the_desk_bar_until_a_login_works(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock, fault: Fault, said: str) -> None:
    fake.fail(LOGIN, fault)
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    waiting = await desk.until("ticket", ticket["id"], "waiting")
    assert desk.shown("ticket", waiting).startswith(
        f"waiting to send: could not log in to LibAnswers: {said}, next try in ")
    assert desk.worker is not None and desk.worker.problem == waiting["reason"]  # the desk bar's ⚠
    assert fake.count("POST /ticket/create") == 0
    await desk.idle()
    await clock.advance(5)  # the first backoff is 2.5-5 s, as for any other transient fault
    sent = await desk.until("ticket", ticket["id"], "sent")
    assert sent["remote_id"] == "1234" and len(fake.tickets) == 1
    assert desk.worker.problem is None


async def test_a_login_asked_to_slow_down_waits_as_long_as_retry_after_says(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail(LOGIN, Fault(429, {"error": "Too many requests"}, {"Retry-After": "30"}))
    store = await desk.open()
    entry = await save_entry(store, clock, await new_chat(store, clock))
    waiting = await desk.until("analytics", entry["id"], "waiting")
    assert desk.shown("analytics", waiting) == ("waiting to send: could not log in to LibAnswers: LibAnswers "
                                                "asks us to slow down (429); it says to wait 30 s, next try "
                                                "in 30 s")
    await desk.idle()
    await clock.advance(29)
    await desk.idle()
    assert fake.count(LOGIN) == 1
    await clock.advance(1)
    await desk.until("analytics", entry["id"], "sent")
    assert fake.count(LOGIN) == 2 and len(fake.transactions[DATASET_ID]) == 1


async def test_a_login_problem_clears_once_a_login_works_even_if_the_item_is_refused(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail(LOGIN, Fault(503, {"error": "Maintenance"}))
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock), email="not an address")
    await desk.until("ticket", ticket["id"], "waiting")
    assert desk.worker is not None and desk.worker.problem is not None
    await desk.idle()
    await clock.advance(5)
    refused = await desk.until("ticket", ticket["id"], "refused")
    assert desk.shown("ticket", refused) == "refused by LibAnswers: pemail must be a valid email address"
    assert desk.worker.problem is None  # LibAnswers answers: the desk bar is healthy again


async def test_a_fault_when_logging_in_again_after_a_401_waits_instead_of_refusing(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    store = await desk.open()
    chat_id = await new_chat(store, clock)
    first = await new_ticket(store, clock, chat_id)
    await desk.until("ticket", first["id"], "sent")
    fake.expire_tokens()  # revoked in LibAnswers: the next call is refused and the desk logs in again
    fake.fail(LOGIN, Fault(503, {"error": "Maintenance"}))
    second = await new_ticket(store, clock, chat_id, subject="Another scan")
    waiting = await desk.until("ticket", second["id"], "waiting")
    assert waiting["reason"] == "could not log in to LibAnswers: LibAnswers had a problem (503): Maintenance"
    await desk.idle()
    await clock.advance(5)
    await desk.until("ticket", second["id"], "sent")
    assert len(fake.tickets) == 2


async def test_a_desk_stopped_while_logging_in_sends_the_ticket_after_restart(
        desk: Desk, fake: FakeLibAnswers, clock: FakeClock) -> None:
    fake.fail(LOGIN, Fault(stall=True))
    desk.cfg = config(fake, timeout_seconds=30)
    store = await desk.open()
    ticket = await new_ticket(store, clock, await new_chat(store, clock))
    await fake.wait_for(lambda: fake.count(LOGIN) == 1)
    await desk.close()  # the login is still out; the ticket's own request never left
    fake.release.set()
    await desk.open()
    sent = await desk.until("ticket", ticket["id"], "sent")  # not "it may already be in LibAnswers"
    assert sent["remote_id"] == "1234" and len(fake.tickets) == 1


def test_waiting_states_read_as_the_librarian_sees_them() -> None:
    now = datetime.fromisoformat("2026-11-28T14:00:00+00:00")
    state = {"state": "waiting", "reason": "LibAnswers could not be reached (connection refused)",
             "next_try_at": "2026-11-28T14:00:40.000+00:00", "remote_id": None}
    assert describe_push("ticket", state, now) == ("waiting to send: LibAnswers could not be reached "
                                                   "(connection refused), next try in 40 s")
    state["next_try_at"] = "2026-11-28T14:15:00.000+00:00"
    assert describe_push("ticket", state, now).endswith("next try in 15 min")
