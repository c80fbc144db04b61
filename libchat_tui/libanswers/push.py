"""Durable, exactly-once delivery of tickets and Reference Analytics entries to LibAnswers.

The desk records a push job (table `push_jobs`) in the same store write that creates or
edits the record, so a job exists if and only if the record does. `PushWorker` then
delivers due jobs one at a time, every step through the store's write path:

1. claim: the job becomes `sending` (committed) before any request leaves;
2. send, with the API client's own 401 re-login;
3. finish: `sent` with the remote id, `waiting` with a reason and a jittered backoff
   (or the server's Retry-After), or `refused` with LibAnswers' message.

The worker logs in before it claims a job, so a job is `sending` only while its own
request may be on its way: a login that fails (LibAnswers busy, slow, unreachable) leaves
the job waiting like any other transient fault, and shows as the integration's `problem`.

A job found `sending` when a worker starts was cut off by a crash or a stop: its request
may or may not have arrived. A transaction is reconciled first: the transactions listing
is searched for the job's marker (sent in the internal note) before anything is resent;
a listed transaction is never taken by two jobs (see `PushWorker._reconcile`).
Tickets have no listing in API 1.1, so such a ticket (or one whose request timed out) is
held as refused with "it may already be in LibAnswers": a librarian checks the queue for
the marker and retries. That window, between a request reaching LibAnswers and its
answer being committed here, is the only place a ticket could be lost track of; it is
never resent on its own, so it is never duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import secrets
import sqlite3
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..analytics import Dataset
from ..backend.clock import Clock, TimerHandle
from ..backend.store import Outcome, StorageError, Store, Tx
from ..domain import iso
from .mapping import DatasetPlan, MappingError, plan_dataset, transaction_form, utc_text
from .settings import LibAnswersConfig

if TYPE_CHECKING:  # httpx is imported only when a desk really pushes
    from .api import LibAnswersApi, LibAnswersError

log = logging.getLogger(__name__)

KINDS = ("ticket", "analytics")
_COLUMNS = ("id", "kind", "record_id", "payload", "version", "marker", "state", "attempts",
            "next_try_at", "reason", "refused_by", "uncertain", "remote_id", "remote_url",
            "created_at", "updated_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM push_jobs"
_BACKOFF_BASE, _BACKOFF_CAP = 5.0, 900.0
_MARKER = re.compile(r"libchat-[a-z]\d+-[0-9a-f]+")  # any job's marker, as `_enqueue` makes them
_RUNNING: weakref.WeakKeyDictionary[Store, PushWorker] = weakref.WeakKeyDictionary()
OnChange = Callable[[str, int, dict[str, Any]], None]


# --- enqueue (inside the desk's own store write) -------------------------------------


def enqueue_ticket(tx: Tx, ticket: dict[str, Any]) -> None:
    """Record that this new ticket (a `rows.load_ticket` dict) must reach LibAnswers."""
    keep = ("id", "chat_id", "name", "email", "subject", "body", "source", "created_by", "created_at")
    _enqueue(tx, "ticket", int(ticket["id"]), {k: ticket.get(k) for k in keep}, ticket["created_at"])


def enqueue_analytics(tx: Tx, entry: dict[str, Any]) -> None:
    """Record that this saved or edited RA entry (a `rows.entry_from_row` dict) must be sent.

    An edit before the entry was sent replaces what will be sent. After it was sent, API
    1.1 cannot change the transaction and a second one would count the chat twice, so the
    job stays sent and says the entry was edited since.
    """
    _enqueue(tx, "analytics", int(entry["id"]), dict(entry), entry["updated_at"])


def _enqueue(tx: Tx, kind: str, record_id: int, payload: dict[str, Any], at: str) -> None:
    text = json.dumps(payload, ensure_ascii=False)
    row = tx.execute("SELECT state, remote_id FROM push_jobs WHERE kind=? AND record_id=?",
                     (kind, record_id)).fetchone()
    if row is None:
        marker = f"libchat-{kind[0]}{record_id}-{secrets.token_hex(4)}"
        tx.execute("INSERT INTO push_jobs(kind, record_id, payload, marker, state, next_try_at, created_at,"
                   " updated_at) VALUES (?,?,?,?, 'waiting', ?,?,?)",
                   (kind, record_id, text, marker, at, at, at))
    elif row[0] == "sent":
        tx.execute("UPDATE push_jobs SET payload=?, version=version+1, reason=?, updated_at=? WHERE kind=?"
                   " AND record_id=?", (text, _edited(kind, row[1]), at, kind, record_id))
    elif row[0] == "sending":  # the worker sees the new version when it finishes
        tx.execute("UPDATE push_jobs SET payload=?, version=version+1, updated_at=? WHERE kind=? AND"
                   " record_id=?", (text, at, kind, record_id))
    else:  # waiting or refused: send the new content now
        tx.execute("UPDATE push_jobs SET payload=?, version=version+1, state='waiting', attempts=0,"
                   " next_try_at=?, reason='', refused_by=NULL, updated_at=? WHERE kind=? AND record_id=?",
                   (text, at, at, kind, record_id))
    worker = _RUNNING.get(tx.store)
    if worker is not None and worker.loop is not None:  # its claim is a later write: it sees this
        worker.loop.call_soon_threadsafe(worker.wake)


def _edited(kind: str, remote_id: str | None) -> str:
    noun = f"{'ticket' if kind == 'ticket' else 'transaction'} {remote_id or ''}".strip()
    return (f"edited here after it was sent; LibAnswers still has the earlier version ({noun}) "
            "and API 1.1 cannot change it: make the same change in LibAnswers")


# --- states ---------------------------------------------------------------------------


def push_states(conn: sqlite3.Connection, kind: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each record's push state: state (sent | waiting | refused), remote_id, remote_url,
    reason, next_try_at, attempts, refused_by. Records without a job are left out."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"{_SELECT} WHERE kind=? AND record_id IN ({marks})", (kind, *chunk)):
            job = dict(zip(_COLUMNS, row, strict=True))
            found[job["record_id"]] = _public(job)
    return found


def _public(job: dict[str, Any]) -> dict[str, Any]:
    state, reason = job["state"], job["reason"]
    if state == "sending":
        state, reason = "waiting", reason or "sending now"
    return {"state": state, "remote_id": job["remote_id"], "remote_url": job["remote_url"],
            "reason": reason, "next_try_at": job["next_try_at"] if job["state"] == "waiting" else None,
            "attempts": job["attempts"], "refused_by": job["refused_by"], "marker": job["marker"]}


async def retry_failed(store: Store, kind: str | None = None, record_id: int | None = None) -> int:
    """Put every refused job (or just this record's) back in line now; return how many.
    Wakes a running worker."""
    def work(tx: Tx) -> Outcome:
        where = "state='refused'"
        params: tuple[Any, ...] = ()
        if kind is not None and record_id is not None:
            where, params = "state='refused' AND kind=? AND record_id=?", (kind, record_id)
        cur = tx.execute("UPDATE push_jobs SET state='waiting', attempts=0, next_try_at=created_at,"
                         f" reason='', refused_by=NULL WHERE {where}", params)
        return Outcome({"count": cur.rowcount})

    count = int((await store.write(work))["count"])
    worker = _RUNNING.get(store)
    if worker is not None and count:
        worker.wake()
    return count


# --- the worker -------------------------------------------------------------------------


class PushWorker:
    """Delivers due push jobs to LibAnswers, one at a time, in the background.

    `on_change(kind, record_id, state)` is called on the loop after each new state is
    committed (the desk can publish it to librarians). One worker per database.
    """

    def __init__(self, store: Store, cfg: LibAnswersConfig, datasets: Mapping[str, Dataset], clock: Clock,
                 *, on_change: OnChange | None = None, rng: random.Random | None = None,
                 poll_seconds: float = 60.0) -> None:
        self.store, self.cfg, self.datasets, self.clock = store, cfg, datasets, clock
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Set while the worker waits for work (nothing due, nothing in flight).
        self.idle = asyncio.Event()
        self._rng = rng or random.Random()
        self._trouble: str | None = None  # the last transient fault of a call (None once one is sent)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._api: LibAnswersApi | None = None
        self._plans: dict[str, DatasetPlan] = {}

    def start(self) -> None:
        """Begin delivering (on the running loop)."""
        if self._task is not None:
            return
        from .api import LibAnswersApi

        self.loop = asyncio.get_running_loop()
        self._api = LibAnswersApi(self.cfg)
        _RUNNING[self.store] = self
        self._task = asyncio.create_task(self._run(), name="libanswers-push")

    async def stop(self) -> None:
        """Stop at once; a job cut off mid-request is reconciled by the next worker."""
        task, self._task = self._task, None
        if _RUNNING.get(self.store) is self:
            del _RUNNING[self.store]
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    @property
    def problem(self) -> str | None:
        """The trouble with LibAnswers the desk bar shows, or None when all is well: the login's
        (until a login works again), else the last transient fault (until a push succeeds)."""
        login = None if self._api is None else self._api.login_problem
        return login or self._trouble

    def wake(self) -> None:
        """Look for due jobs now (a job was queued or retried)."""
        self.idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        recovered = False
        while True:
            self._wake.clear()
            try:
                if not recovered:
                    await self.store.write(self._recover)
                    recovered = True
                due = await self.store.write(self._due)  # a write: it sees every enqueue before it
                if not due["job"]:
                    await self._idle(due["next"])
                    continue
                login_failed = await self._log_in()
                got = await self.store.write(self._claim)
                if got["job"] is None:
                    await self._idle(got["next"])
                else:
                    await self._deliver(got["job"], login_failed)
            except StorageError as exc:
                log.warning("LibAnswers pushes wait for the store: %s", exc)
                recovered = False  # a job left `sending` is treated as cut off
                await self._idle(None)
            except Exception:  # a bug must not end every future push
                log.exception("the LibAnswers push worker failed; it tries again later")
                recovered = False
                await self._idle(None)

    async def _idle(self, next_at: str | None) -> None:
        handles: list[TimerHandle] = [
            self.clock.call_at(self.clock.now() + timedelta(seconds=self.poll_seconds), self.wake)]
        if next_at is not None:
            handles.append(self.clock.call_at(datetime.fromisoformat(next_at), self.wake))
        if not self._wake.is_set():
            self.idle.set()
        try:
            await self._wake.wait()
        finally:
            self.idle.clear()
            for handle in handles:
                handle.cancel()

    def _recover(self, tx: Tx) -> Outcome:
        """Jobs a previous run left `sending`: their request may have arrived."""
        tx.execute("UPDATE push_jobs SET state='waiting', uncertain=1 WHERE state='sending' AND"
                   " kind='analytics'")
        for (marker,) in tx.execute("SELECT marker FROM push_jobs WHERE state='sending'").fetchall():
            reason = _unsure("the desk stopped while sending it", marker)
            tx.execute("UPDATE push_jobs SET state='refused', refused_by='unsure', uncertain=1, reason=?"
                       " WHERE marker=?", (reason, marker))
        return Outcome({})

    def _due(self, tx: Tx) -> Outcome:
        """Whether a job is due now, else when the next one is."""
        (nxt,) = tx.execute("SELECT MIN(next_try_at) FROM push_jobs WHERE state='waiting'").fetchone()
        return Outcome({"job": nxt is not None and nxt <= iso(self.clock.now()), "next": nxt})

    async def _log_in(self) -> LibAnswersError | None:
        """Get a token (or keep the one held) before a job is claimed; the failure, if any.

        A job is marked `sending` only after this, so a login that times out or that the
        desk's stop cuts off can never make a ticket look as if its own request went out."""
        from .api import LibAnswersError

        try:
            await self.api.login()
        except LibAnswersError as exc:
            return exc
        return None

    def _claim(self, tx: Tx) -> Outcome:
        now = iso(self.clock.now())
        row = tx.execute(f"{_SELECT} WHERE state='waiting' AND next_try_at<=? ORDER BY next_try_at, id"
                         " LIMIT 1", (now,)).fetchone()
        if row is None:
            (nxt,) = tx.execute("SELECT MIN(next_try_at) FROM push_jobs WHERE state='waiting'").fetchone()
            return Outcome({"job": None, "next": nxt})
        job = dict(zip(_COLUMNS, row, strict=True))
        tx.execute("UPDATE push_jobs SET state='sending', attempts=attempts+1, updated_at=? WHERE id=?",
                   (now, job["id"]))
        job["attempts"] += 1
        return Outcome({"job": job})

    async def _deliver(self, job: dict[str, Any], login_failed: LibAnswersError | None = None) -> None:
        from .api import LoginUnavailable, PermanentError, RetryableError

        payload = json.loads(job["payload"])
        try:
            if login_failed is not None:
                raise login_failed
            if job["kind"] == "ticket":
                remote = await self._send_ticket(job, payload)
            else:
                remote = await self._send_analytics(job, payload)
        except RetryableError as exc:
            if not isinstance(exc, LoginUnavailable):  # the API keeps the login's own problem
                self._trouble = str(exc)
            if job["kind"] == "ticket" and exc.maybe_sent and (exc.status or 0) < 400:
                await self._finish(job, "refused", _unsure(str(exc), job["marker"]), by="unsure", unsure=True)
            else:
                wait = exc.retry_after if exc.retry_after is not None else self._backoff(job["attempts"])
                await self._finish(job, "waiting", str(exc), delay=wait, unsure=exc.maybe_sent)
        except PermanentError as exc:  # a refused login is the API's `login_problem`
            self._plans.clear()  # the dataset may have changed in LibAnswers
            await self._finish(job, "refused", str(exc), by="libanswers")
        except MappingError as exc:
            self._plans.clear()
            await self._finish(job, "refused", str(exc), by="settings")
        except (StorageError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug must not stop every other push
            log.exception("pushing %s %s to LibAnswers failed", job["kind"], job["record_id"])
            await self._finish(job, "waiting", f"unexpected error ({type(exc).__name__})",
                               delay=self._backoff(job["attempts"]))
        else:
            self._trouble = None
            await self._finish(job, "sent", "", remote=remote)

    def _backoff(self, attempts: int) -> float:
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0 ** min(max(attempts - 1, 0), 20))
        return ceiling * (0.5 + self._rng.random() / 2)

    async def _finish(self, job: dict[str, Any], state: str, reason: str, *, by: str | None = None,
                      delay: float = 0.0, unsure: bool = False,
                      remote: tuple[str | None, str | None] = (None, None)) -> None:
        now = self.clock.now()

        def work(tx: Tx) -> Outcome:
            row = tx.execute("SELECT state, version FROM push_jobs WHERE id=?", (job["id"],)).fetchone()
            if row is None or row[0] != "sending":
                return Outcome({})
            edited = row[1] != job["version"]
            if state == "sent":
                tx.execute("UPDATE push_jobs SET state='sent', remote_id=?, remote_url=?, reason=?,"
                           " refused_by=NULL, uncertain=0, sent_version=?, updated_at=? WHERE id=?",
                           (*remote, _edited(job["kind"], remote[0]) if edited else "", job["version"],
                            iso(now), job["id"]))
            elif edited and by != "unsure":  # new content arrived while this try failed: try it now
                tx.execute("UPDATE push_jobs SET state='waiting', attempts=0, next_try_at=?, reason='',"
                           " refused_by=NULL, uncertain=MAX(uncertain, ?), updated_at=? WHERE id=?",
                           (iso(now), int(unsure), iso(now), job["id"]))
            else:
                tx.execute("UPDATE push_jobs SET state=?, reason=?, refused_by=?, next_try_at=?,"
                           " uncertain=MAX(uncertain, ?), updated_at=? WHERE id=?",
                           (state, reason, by, iso(now + timedelta(seconds=delay)), int(unsure), iso(now),
                            job["id"]))
            new = _public(dict(zip(_COLUMNS, tx.execute(f"{_SELECT} WHERE id=?", (job["id"],)).fetchone(),
                                   strict=True)))
            return Outcome({"state": new}, apply=lambda: self._changed(job, new))

        await self.store.write(work)
        log.info("LibAnswers push of %s %s: %s", job["kind"], job["record_id"], state)

    def _changed(self, job: dict[str, Any], state: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change(job["kind"], job["record_id"], state)

    # --- sending ---------------------------------------------------------------------

    @property
    def api(self) -> LibAnswersApi:
        assert self._api is not None, "PushWorker.start() first"
        return self._api

    async def _send_ticket(self, job: dict[str, Any], t: dict[str, Any]) -> tuple[str | None, str | None]:
        subject = " ".join(str(t.get("subject") or "").split()) or "Follow-up from a chat"
        details = str(t.get("body") or "")
        if len(subject) > 150:  # the API's limit for the question
            details = f"{subject}\n\n{details}"
        details += f"\n\n(From chat {t.get('chat_id')} at the libchat-tui desk; ref {job['marker']})"
        created = await self.api.ticket_create(question=subject[:150], details=details.strip(),
                                               name=str(t.get("name") or ""), email=str(t.get("email") or ""))
        return created.id, created.url

    async def _send_analytics(self, job: dict[str, Any], entry: dict[str, Any]) -> tuple[str | None, None]:
        name = str(entry["dataset"])
        link = self.cfg.datasets.get(name)
        if link is None:
            raise MappingError(name, f"The local dataset '{name}' is not linked to a LibAnswers dataset: "
                               f"add [libanswers.datasets.{name}] dataset_id = <id>.")
        local = self.datasets.get(name)
        if local is None:
            raise MappingError(name, f"The dataset '{name}' is no longer defined in [analytics].")
        who = str(entry.get("author") or "")
        owner = (self.cfg.owners.get(who) or self.cfg.owners.get(str(entry.get("librarian_id")))
                 or self.cfg.owner_email)
        if owner is None:
            raise MappingError("owner_email", f"No LibAnswers account is known for {who}: add "
                               f"[libanswers.owners] \"{who}\" = \"<email>\", or owner_email.")
        if job["uncertain"]:
            found = await self._reconcile(job, link.dataset_id, entry)
            if found is not None:
                log.info("transaction for RA entry %s was already in LibAnswers", job["record_id"])
                return found or None, None
        plan = self._plans.get(name)
        if plan is None:
            plan = plan_dataset(local, link, await self.api.formfields(link.dataset_id))
            self._plans[name] = plan
        form = transaction_form(plan, entry, owner, job["marker"])
        return await self.api.create_transaction(link.dataset_id, form), None

    async def _reconcile(self, job: dict[str, Any], dataset_id: int, entry: dict[str, Any]) -> str | None:
        """The id ("" if unnamed) of a transaction this job already made, or None if none is listed.

        A transaction carrying this job's marker is its own. One carrying another job's
        marker, or an internal note without this one's, was made by someone else. Only when
        the listing shows no note can the question and the second stand in for the marker,
        and then only for a transaction no other job here has claimed: two local entries
        asking the same in the same second never share one transaction.
        """
        values = entry["fields"]
        when = utc_text(values.get("date_time") or entry["created_at"])
        day = datetime.fromisoformat(when).date()
        listed = await self.api.transactions(dataset_id, day - timedelta(days=1), day + timedelta(days=1))
        for row in listed:
            if job["marker"] in json.dumps(row, ensure_ascii=False):
                return _remote_id(row)
        question = str(values.get("first_question") or "")
        if not question:
            return None
        claimed = await self.store.read(lambda conn: _claimed(conn, job["id"]))
        for row in listed:
            found = _remote_id(row)
            if (found and found not in claimed and row.get("question") == question
                    and str(row.get("date_time")) == when and not str(row.get("internal_note") or "").strip()
                    and _MARKER.search(json.dumps(row, ensure_ascii=False)) is None):
                return found
        return None


def _remote_id(row: dict[str, Any]) -> str:
    return str(row.get("id") or row.get("transaction_id") or "")


def _claimed(conn: sqlite3.Connection, job_id: int) -> set[str]:
    """The transactions other jobs already stand for."""
    return {str(remote) for (remote,) in conn.execute(
        "SELECT remote_id FROM push_jobs WHERE kind='analytics' AND remote_id IS NOT NULL AND id<>?",
        (job_id,))}


def _unsure(what: str, marker: str) -> str:
    return (f"{what}, so it may already be in LibAnswers. Search the queue for {marker}; "
            "if it is not there, retry to send it")
