"""The storage contract, in process: one desk per data dir, no acks once the file is gone,
no start on a damaged file, and backups and doctor dumps that hold every acknowledged row.

Real SQLite files under tmp_path; writes go through `Store.write` exactly as the desk's do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from libchat_tui.backend import maintenance
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.backend.store import DataDirError, Outcome, StorageError, Store, Tx, Work

TIMEOUT = 10.0


def _event(n: int, applied: list[int] | None = None) -> Work:
    """A command that stores one desk event, marked so its page can be found in the file."""

    def work(tx: Tx) -> Outcome:
        tx.event("probe", {"n": n, "text": f"row-{n:06d}-" + "x" * 120})
        return Outcome({"n": n}, apply=(lambda: applied.append(n)) if applied is not None else None)

    return work


def _seqs(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [int(r[0]) for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    finally:
        conn.close()


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not predicate():
            await asyncio.sleep(0.005)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(tmp_path / "data" / "desk.sqlite3")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def _filled(tmp_path: Path, rows: int) -> Path:
    """A closed (fully checkpointed) database holding `rows` events."""
    filled = Store(tmp_path / "data" / "desk.sqlite3")
    await filled.open()
    await asyncio.gather(*(filled.write(_event(n)) for n in range(1, rows + 1)))
    await filled.close()
    assert not filled.path.with_name("desk.sqlite3-wal").exists()
    return filled.path


def _zero_page_holding(db: Path, marker: bytes) -> None:
    """Overwrite, with zeros, the whole page of the file that holds `marker`."""
    data = db.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    page = data.index(marker) // page_size
    assert page > 0  # never the header page
    with open(db, "r+b") as handle:
        handle.seek(page * page_size)
        handle.write(b"\0" * page_size)


# --- one desk per data dir ------------------------------------------------------------


async def test_a_second_store_on_the_same_dir_is_refused(store: Store) -> None:
    second = Store(store.path)
    with pytest.raises(DataDirError) as refused:
        await second.open()
    message = str(refused.value)
    assert "another desk" in message and str(store.path.parent) in message
    assert f"pid {os.getpid()}" in message
    assert await store.write(_event(1)) == {"n": 1}  # the first desk is untouched
    await store.close()
    await second.open()  # the lock goes with the first desk
    await second.close()


async def test_a_second_backend_on_a_running_desk_refuses_and_the_first_serves(tmp_path: Path) -> None:
    async with Backend(data_dir=tmp_path / "d", clock=FakeClock(), token="t") as first:
        embedded = Backend(data_dir=tmp_path / "d", clock=FakeClock(), token="t")
        with pytest.raises(DataDirError, match="already using the data dir"):
            await embedded.start()
        assert await first.store.write(_event(1)) == {"n": 1}


# --- no acknowledgement once the file is gone ----------------------------------------------


def _rescued(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("desk-rescued-*.sqlite3"))


async def test_deleted_database_fails_the_next_write_and_everything_after(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    applied: list[int] = []
    for n in (1, 2, 3):
        await store.write(_event(n, applied))
    await store.read(lambda conn: conn.execute("SELECT 1").fetchone())  # the reader is open too
    for suffix in ("", "-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR, logger="libchat_tui.backend.store"):
        with pytest.raises(StorageError, match="deleted or replaced"):
            await store.write(_event(4, applied))
        later = await asyncio.gather(*(store.write(_event(n, applied)) for n in range(5, 25)),
                                     return_exceptions=True)
        with pytest.raises(StorageError):
            await store.read(lambda conn: conn.execute("SELECT 1").fetchone())
    assert all(isinstance(r, StorageError) for r in later)
    assert applied == [1, 2, 3]  # memory never saw the refused commands
    assert store.last_seq == 3
    loud = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(loud) == 1  # one line, not one per refused write
    assert str(store.path) in loud[0] and "was deleted" in loud[0] and "STOPPED" in loud[0]
    assert not store.path.exists()  # nothing quietly re-created an empty database
    [rescued] = _rescued(store.path.parent)
    assert str(rescued) in loud[0]
    assert _seqs(rescued) == [1, 2, 3]  # every acknowledged write, none of the refused ones
    assert oct(rescued.stat().st_mode & 0o777) == "0o600"


async def test_deleted_while_idle_is_rescued_at_shutdown(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await store.write(_event(1))
    for suffix in ("", "-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR, logger="libchat_tui.backend.store"):
        await store.close()
    assert "was deleted" in caplog.text
    [rescued] = _rescued(store.path.parent)
    assert _seqs(rescued) == [1]


async def test_replaced_database_is_noticed_and_left_untouched(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await store.write(_event(1))
    await store.write(_event(2))
    copy = maintenance.backup(store.path, store.path.with_name("elsewhere.sqlite3"))
    await store.write(_event(3))
    os.replace(copy, store.path)  # e.g. a restore run while the desk was still up
    with caplog.at_level(logging.ERROR, logger="libchat_tui.backend.store"), pytest.raises(StorageError):
        await store.write(_event(4))
    assert "was replaced" in caplog.text
    await store.close()
    # The desk's own WAL is not left to be replayed into the file that replaced it.
    assert _seqs(store.path) == [1, 2]
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    [rescued] = _rescued(store.path.parent)
    assert _seqs(rescued) == [1, 2, 3]


async def test_a_desk_started_beside_a_rescued_copy_says_so_until_it_is_moved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "data" / "desk.sqlite3"
    first = Store(db)
    await first.open()
    await first.write(_event(1))
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    await first.close()
    [rescued] = _rescued(db.parent)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="libchat_tui.backend.store"):
        restarted = Store(db)  # a restart: the database is gone, an empty one is made
        await restarted.open()
        await restarted.close()
    [said] = [r for r in caplog.records if str(rescued) in r.getMessage()]
    assert said.levelno == logging.ERROR and restarted.rescued == [rescued]
    assert "new, empty" in said.getMessage() and "Restoring" in said.getMessage()
    assert str(db) in said.getMessage()  # where the rescued copy goes

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="libchat_tui.backend.store"):
        restored = Store(db)  # restored some other way (a backup): the copy is still there
        await restored.open()
        await restored.write(_event(1))
        await restored.close()
        again = Store(db)
        await again.open()
        await again.close()
    [said] = [r for r in caplog.records if r.levelno >= logging.WARNING and str(rescued) in r.getMessage()
              and "move it out" in r.getMessage()]
    assert said.levelno == logging.WARNING

    shutil.move(rescued, tmp_path / "kept.sqlite3")  # moved out of the data dir: quiet again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="libchat_tui.backend.store"):
        quiet = Store(db)
        await quiet.open()
        await quiet.close()
    assert not caplog.records and quiet.rescued == []


async def test_a_patron_leaving_after_the_file_was_deleted_logs_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from desk_ids import desk_id
    from wire import join, librarian

    async with Backend(data_dir=tmp_path / "data", clock=FakeClock(), token="t") as backend:
        lib, _ = await librarian(backend.url, backend.token)
        pat, joined = await join(backend.url)
        await lib.ok("accept", chat_id=desk_id(backend, joined))
        for suffix in ("", "-wal", "-shm"):
            backend.store.path.with_name(backend.store.path.name + suffix).unlink(missing_ok=True)
        caplog.set_level(logging.WARNING)
        await pat.close()  # the desk records the disconnect: the write that finds the file gone
        await _until(lambda: backend.store.lost is not None)
        await lib.close()
    # Leaving the block stopped the desk, which waits for every connection handler to finish.
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1, caplog.text


# --- no start on a damaged database ----------------------------------------------------


async def test_damage_mid_file_is_refused_at_open_naming_the_file(tmp_path: Path) -> None:
    db = await _filled(tmp_path, 600)
    _zero_page_holding(db, b"row-000300-")
    for _attempt in (1, 2):  # a refused open releases the data dir's lock
        with pytest.raises(DataDirError) as refused:
            await Store(db).open()
        assert str(db) in str(refused.value) and "libchat-tui doctor" in str(refused.value)


@pytest.mark.parametrize("offset, junk", [(0, b"not a database!!"), (16, b"\x03\x00")])
async def test_damaged_header_is_refused_at_open(tmp_path: Path, offset: int, junk: bytes) -> None:
    db = await _filled(tmp_path, 10)
    with open(db, "r+b") as handle:
        handle.seek(offset)
        handle.write(junk)
    with pytest.raises(DataDirError, match="header") as refused:
        await Store(db).open()
    assert str(db) in str(refused.value) and "doctor" in str(refused.value)


async def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("oops")
    with pytest.raises(DataDirError, match="is a file") as refused:
        await Store(tmp_path / "data" / "desk.sqlite3").open()
    assert str(tmp_path / "data") in str(refused.value)


# --- backup and doctor ------------------------------------------------------------------


async def test_backup_while_writes_continue_holds_every_acked_row(store: Store, tmp_path: Path) -> None:
    acked: list[int] = []
    stop = asyncio.Event()

    async def desk_traffic() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await store.write(_event(n))
            acked.append(n)

    traffic = asyncio.create_task(desk_traffic())
    await _until(lambda: len(acked) >= 300)
    acked_before = len(acked)
    dest = await asyncio.to_thread(maintenance.backup, store.path, tmp_path / "backup.sqlite3")
    after_backup = len(acked)
    await _until(lambda: len(acked) > after_backup + 50)  # the desk kept acknowledging
    stop.set()
    await traffic

    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    finally:
        conn.close()
    copied = _seqs(dest)
    assert copied == list(range(1, len(copied) + 1))  # a consistent snapshot: a prefix, no holes
    assert len(copied) >= acked_before  # every write acknowledged before the backup began
    with pytest.raises(maintenance.MaintenanceError, match="already exists"):
        maintenance.backup(store.path, dest)


async def test_doctor_dumps_a_healthy_desk_that_restores_identically(tmp_path: Path) -> None:
    async with Backend(data_dir=tmp_path / "data", clock=FakeClock(), token="t") as backend:
        for n in range(1, 41):
            await backend.store.write(_event(n))

        def index(tx: Tx) -> Outcome:
            tx.execute("INSERT INTO search(text, chat_id, kind) VALUES ('interlibrary loan', 7, 'm')")
            return Outcome()

        await backend.store.write(index)
        report = maintenance.doctor(backend.store.path, tmp_path / "doctor")
    assert report.healthy and report.desk_running and report.rows["events"] == 40
    assert report.copy is not None and report.dump is not None
    restored = tmp_path / "restored.sqlite3"
    conn = sqlite3.connect(restored)
    conn.executescript(report.dump.read_text(encoding="utf-8"))
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    hits = conn.execute("SELECT chat_id FROM search WHERE search MATCH 'interlibrary'").fetchall()
    assert hits == [(7,)]  # the full-text index came back too
    conn.close()
    assert _seqs(restored) == _seqs(report.copy) == list(range(1, 41))


async def test_doctor_salvages_the_rows_around_a_damaged_page(tmp_path: Path) -> None:
    db = await _filled(tmp_path, 2000)
    _zero_page_holding(db, b"row-001000-")
    report = maintenance.doctor(db, tmp_path / "doctor")
    assert report.problems and not report.healthy
    assert report.copy is not None and report.copy.read_bytes() == db.read_bytes()
    assert any(line.startswith("events:") for line in report.unreadable)
    assert report.dump is not None
    restored = tmp_path / "restored.sqlite3"
    conn = sqlite3.connect(restored)
    conn.executescript(report.dump.read_text(encoding="utf-8"))
    conn.close()
    saved = _seqs(restored)
    assert 1 in saved and 2000 in saved and 1000 not in saved  # before and after the damage
    assert 1900 < len(saved) < 2000
    shutil.move(restored, db)  # the documented restore: the rebuilt file in the old one's place
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    back = Store(db)
    await back.open()
    assert await back.write(_event(2001)) == {"n": 2001}
    await back.close()


async def test_doctor_on_a_damaged_header_keeps_the_file_as_it_is(tmp_path: Path) -> None:
    db = await _filled(tmp_path, 10)
    with open(db, "r+b") as handle:
        handle.write(b"not a database!!")
    report = maintenance.doctor(db, tmp_path / "doctor")
    assert report.problems == ["its header is not an SQLite header"] and report.dump is None
    assert report.copy is not None and report.copy.read_bytes() == db.read_bytes()
