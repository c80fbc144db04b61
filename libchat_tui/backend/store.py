"""The SQLite store: one writer thread with group commit, one reader thread.

Writes never run on the event loop. `Store.write(work)` queues a function that runs in the
writer thread inside its own savepoint; the writer drains whatever is queued, commits the
batch once, and only then, back on the loop and in commit order, applies each command's
in-memory change, publishes its events and resolves its future. So a command is
acknowledged only after its write is committed, memory never runs ahead of the disk, and
event sequence numbers follow commit order with no gaps.

A work function that raises is rolled back to its savepoint and changes nothing; a
commit that fails (disk full, database locked) fails the whole batch with StorageError, and
so does a statement after which SQLite rolled back the whole transaction itself (it does for
a full disk). A full disk is named as such, with the directory and the bytes free.

Opening takes the data dir's lock (one desk per dir), refuses a damaged database, and
records the file's identity; before each batch commits, one `os.stat` checks that the
file at the path is still the one being written. If it was deleted or replaced, the batch
is rolled back and fails, what was acknowledged before is copied out of the orphaned file
into a `desk-rescued-*.sqlite3` beside it, the store acknowledges nothing more, and it
says so once in the log. A desk that starts beside such a rescued copy says so loudly
(ERROR if it starts on an empty record). The whole contract is in docs/storage.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..domain import DomainError
from . import search_index
from .datadir import (
    DataDirError,
    DataDirLock,
    FileIdentity,
    check_database,
    check_dir,
    forget_own_journal,
    full_message,
    identity,
    is_disk_full,
    journal_identities,
    open_failure,
    quick_check,
    rescue,
    rescued_copies,
    stamp,
)
from .schema import SCHEMA

__all__ = ["DataDirError", "Outcome", "StorageError", "Store", "Tx"]

log = logging.getLogger(__name__)
T = TypeVar("T")


_MAX_BATCH = 512
_LOST_REPLY = ("The desk's database file was deleted or replaced while it was running, so the desk "
               "is not saving anything; nothing was changed. Ask the desk's administrator to restart it.")


class StorageError(DomainError):
    """The store could not commit; nothing was changed."""

    code = "storage_error"


@dataclass
class Outcome:
    """What a write produced: the ack result, event frames to publish, a memory update."""

    result: dict[str, Any] = field(default_factory=dict)
    frames: list[tuple[int, str]] = field(default_factory=list)
    apply: Callable[[], None] | None = None


Work = Callable[["Tx"], Outcome]


class Tx:
    """The writer's view of the database during one command (inside a savepoint)."""

    def __init__(self, store: Store, conn: sqlite3.Connection) -> None:
        self.store = store
        self.conn = conn
        self.frames: list[tuple[int, str]] = []

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        hook = self.store.fault_hook
        if hook is not None:
            hook(sql)
        return self.conn.execute(sql, params)

    def event(self, type_: str, body: dict[str, Any]) -> str:
        """Append a desk event; its sequence number is assigned here, in commit order."""
        seq = self.store._next_seq
        frame = json.dumps({"type": type_, "seq": seq, **body}, ensure_ascii=False, separators=(",", ":"))
        self.execute("INSERT INTO events(seq, frame) VALUES (?, ?)", (seq, frame))
        self.store._next_seq = seq + 1
        self.frames.append((seq, frame))
        return frame


@dataclass
class _Item:
    work: Work
    future: asyncio.Future[dict[str, Any]]
    idem: tuple[str, str] | None


class Store:
    """The desk's SQLite database (WAL, synchronous=FULL) and its two threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fault_hook: Callable[[str], None] | None = None
        self.publish: Callable[[list[tuple[int, str]]], None] = lambda frames: None
        self._next_seq = 1
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="libchat-store-read")
        self._read_conn: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = DataDirLock(path.parent)
        self._identity: FileIdentity | None = None
        self._journal: dict[str, FileIdentity | None] = {}
        #: Set (once, never cleared) when the file at the path is no longer the one open.
        self.lost: str | None = None
        #: `desk-rescued-*.sqlite3` copies found beside the database when it opened.
        self.rescued: list[Path] = []

    # --- lifecycle -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: never create an empty database behind the desk's back (open() creates it).
        uri = self.path.absolute().as_uri() + "?mode=rw"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def open(self) -> None:
        """Lock the data dir, check the file, create it (owner-only) and the schema, start writing.

        Raises DataDirError (one line naming the path and what to do) if the dir is in use
        by another desk, unusable, or the database is damaged.
        """
        self._loop = asyncio.get_running_loop()
        check_dir(self.path.parent)
        self._lock.acquire()
        try:
            conn = await asyncio.to_thread(self._open_database)
        except BaseException:
            self._lock.release()
            raise
        row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self._next_seq = int(row[0]) + 1
        self._published_seq = self._next_seq - 1
        self.rescued = rescued_copies(self.path)
        if self.rescued:
            self._say_rescued(empty=self._next_seq == 1)
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="libchat-store-write", daemon=True
        )
        self._writer.start()

    def _open_database(self) -> sqlite3.Connection:
        check_database(self.path)
        if not self.path.exists():
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                if is_disk_full(exc, self.path.parent):
                    raise DataDirError(f"cannot create the desk database {self.path}: "
                                       f"{full_message(self.path.parent)}; free some space there") from exc
                raise DataDirError(f"cannot create the desk database {self.path} "
                                   f"({exc.strerror or exc}); make the data dir writable") from exc
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise open_failure(self.path, exc) from exc
        try:
            quick_check(conn, self.path)
            conn.executescript(SCHEMA)
            search_index.ensure(conn)  # once, for a database made before the index existed
        except sqlite3.Error as exc:
            conn.close()
            raise open_failure(self.path, exc) from exc
        except BaseException:
            conn.close()
            raise
        self._identity = identity(self.path)
        self._journal = journal_identities(self.path)
        return conn

    def _say_rescued(self, *, empty: bool) -> None:
        """A rescued copy lies beside the database: the operator must hear of it at every start."""
        newest = self.rescued[-1]
        others = f" (and {len(self.rescued) - 1} older)" if len(self.rescued) > 1 else ""
        if empty:
            log.error(
                "the desk started on a new, empty database %s, but the data dir holds a rescued copy "
                "of the desk's record: %s%s, saved when the database was deleted or replaced under "
                "a running desk. To bring that record back: stop the desk, move %s (and its -wal "
                "and -shm) out of %s, move the rescued copy to %s, and start the desk again "
                "(docs/storage.md, \"Restoring\"); what is saved before then is only in the new file.",
                self.path, newest, others, self.path.name, self.path.parent, self.path,
            )
        else:
            log.warning(
                "the data dir %s holds a rescued copy of an earlier desk database: %s%s. If its "
                "record has not been brought back, see docs/storage.md, \"Restoring\"; once it has "
                "(or it is not needed), move it out of the data dir and this warning stops.",
                self.path.parent, newest, others,
            )

    async def close(self) -> None:
        """Finish every queued write, stop both threads, release the data dir."""
        if self._writer is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._read_conn is not None:
            conn, self._read_conn = self._read_conn, None
            await asyncio.get_running_loop().run_in_executor(self._reader, conn.close)
        self._reader.shutdown(wait=True)
        self._lock.release()

    @property
    def last_seq(self) -> int:
        """The last sequence number committed and published (loop side)."""
        return self._published_seq

    _published_seq = 0

    # --- writes ----------------------------------------------------------------------

    async def write(self, work: Work, *, idem: tuple[str, str] | None = None) -> dict[str, Any]:
        """Run `work` in the writer thread; return its result once committed and applied.

        `idem` = (librarian id, command id): if that command was committed before, its
        stored result is returned and `work` does not run.
        """
        if self._writer is None or self._loop is None:
            raise StorageError("The desk's store is not open; nothing was changed.")
        if self.lost is not None:
            raise StorageError(_LOST_REPLY)
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._queue.put(_Item(work, future, idem))
        return await future

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            try:
                self._run_batch(conn, batch)
            except Exception as exc:  # never a dead writer with commands waiting on it
                log.exception("the store's writer failed on a batch")
                self._abandon(conn)
                self._deliver_all_failed(batch, exc)
        if self.lost is None and identity(self.path) != self._identity:
            self._lose_file(conn)  # gone while idle: still keep what was acknowledged
        conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        done: list[tuple[_Item, Outcome | BaseException, bool]] = []
        seq_at_start = self._next_seq
        if self.lost is not None:
            self._deliver_all_failed(batch, StorageError(_LOST_REPLY), quiet=True)
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._deliver_all_failed(batch, exc)
            return
        for item in batch:
            seq_before = self._next_seq
            try:
                conn.execute("SAVEPOINT cmd")
                outcome, replayed = self._run_item(conn, item)
                conn.execute("RELEASE cmd")
                done.append((item, outcome, replayed))
            except BaseException as exc:
                if not conn.in_transaction:  # SQLite rolled the whole batch back (a full disk)
                    self._next_seq = seq_at_start
                    self._deliver_all_failed(batch, exc)
                    return
                try:
                    conn.execute("ROLLBACK TO cmd")
                    conn.execute("RELEASE cmd")
                except sqlite3.Error as undo:
                    self._abandon(conn)
                    self._deliver_all_failed(batch, undo)
                    return
                self._next_seq = seq_before
                if isinstance(exc, sqlite3.Error):
                    exc = self._failure("store write failed", exc)
                done.append((item, exc, False))
        if identity(self.path) != self._identity:  # the one os.stat of the batch
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._next_seq = seq_at_start
            self._lose_file(conn)
            self._deliver_all_failed(batch, StorageError(_LOST_REPLY), quiet=True)
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._next_seq = seq_at_start
            self._deliver_all_failed(batch, exc)
            return
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, done, self._next_seq - 1)

    def _run_item(self, conn: sqlite3.Connection, item: _Item) -> tuple[Outcome, bool]:
        if item.idem is not None:
            row = conn.execute(
                "SELECT result FROM commands WHERE librarian_id=? AND command_id=?", item.idem
            ).fetchone()
            if row is not None:
                return Outcome(result=json.loads(row[0])), True
        tx = Tx(self, conn)
        outcome = item.work(tx)
        outcome.frames = tx.frames
        if item.idem is not None:
            tx.execute(
                "INSERT INTO commands(librarian_id, command_id, result) VALUES (?, ?, ?)",
                (*item.idem, json.dumps(outcome.result, ensure_ascii=False)),
            )
        return outcome, False

    def _lose_file(self, conn: sqlite3.Connection) -> None:
        """The file at the path is not the one open: keep what it held, stop, say so once."""
        gone = "was deleted" if identity(self.path) is None else "was replaced by another file"
        self.lost = gone
        try:
            kept = f"everything acknowledged until then is saved in {rescue(conn, self.path, stamp())}"
        except (OSError, sqlite3.Error) as exc:
            kept = f"the acknowledged changes could not be copied out ({exc}) and are lost"
        conn.close()
        self._reader.submit(self._close_reader)
        forget_own_journal(self.path, self._journal)
        log.error(
            "the desk database %s %s while the desk was running; the desk has STOPPED saving and "
            "acknowledges no more changes; %s. Stop the desk, put that file (or a backup) at %s, "
            "and start it again (docs/storage.md, \"Restoring\").", self.path, gone, kept, self.path,
        )

    def _abandon(self, conn: sqlite3.Connection) -> None:
        """Roll back whatever the writer has open and take event numbers from what is committed."""
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._next_seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]) + 1

    def _failure(self, what: str, exc: BaseException) -> StorageError:
        """Log one line for a failed write or commit; the StorageError its commands are answered with."""
        if is_disk_full(exc, self.path.parent):
            full = full_message(self.path.parent)
            log.error("%s: %s (%s)", what, full, exc)
            return StorageError(f"The desk could not save this: {full}; nothing was changed.")
        log.error("%s: %s", what, exc)
        return StorageError(f"The desk could not save this ({exc}); nothing was changed.")

    def _close_reader(self) -> None:
        if self._read_conn is not None:
            conn, self._read_conn = self._read_conn, None
            conn.close()

    def _deliver_all_failed(self, batch: list[_Item], exc: BaseException, *, quiet: bool = False) -> None:
        error = exc if quiet and isinstance(exc, StorageError) else self._failure("store commit failed", exc)
        assert self._loop is not None
        failed: list[tuple[_Item, Outcome | BaseException, bool]] = [(i, error, False) for i in batch]
        self._loop.call_soon_threadsafe(self._deliver, failed, None)

    def _deliver(
        self, done: list[tuple[_Item, Outcome | BaseException, bool]], last_seq: int | None
    ) -> None:
        for item, outcome, _replayed in done:
            if isinstance(outcome, BaseException):
                if not item.future.done():
                    item.future.set_exception(outcome)
                continue
            try:
                if outcome.apply is not None:
                    outcome.apply()
                if outcome.frames:
                    self.publish(outcome.frames)
            except Exception:  # a bug after commit must not hide the commit
                log.exception("applying a committed change failed")
            if not item.future.done():
                item.future.set_result(outcome.result)
        if last_seq is not None:
            self._published_seq = last_seq

    # --- reads -----------------------------------------------------------------------

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a query function in the reader thread (its own connection, WAL snapshot)."""
        if self.lost is not None:
            raise StorageError(_LOST_REPLY)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, self._read_call, fn)

    def _read_call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._read_conn is None:
            self._read_conn = self._connect()
            self._read_conn.execute("PRAGMA query_only=ON")
        self._read_conn.execute("BEGIN")
        try:
            return fn(self._read_conn)
        finally:
            self._read_conn.execute("COMMIT")

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read on a private connection, for start-up and command-line exports."""
        conn = self._connect() if self.path.exists() else sqlite3.connect(":memory:")
        try:
            return fn(conn)
        finally:
            conn.close()
