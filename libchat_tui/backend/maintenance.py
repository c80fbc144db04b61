"""Keeping and rescuing the desk's record: integrity check, online backup, and `doctor`.

A library's record of its reference service lives in one SQLite file. `backup` copies it
with SQLite's online backup API through a read-only connection, so it works while the
desk runs (and without the desk's data-dir lock), and the copy is one consistent,
self-contained, owner-only file that passed `PRAGMA integrity_check`. `doctor` is for a
database the desk refuses: it checks it, keeps a copy exactly as it is, and dumps every
row it can still read into a `.sql` file, saying table by table how many rows it saved out
of how many there were (as far as an index still lists them). It reads only its own copy,
so a read-only data dir is fine with `--out`, and a truncated copy is read through a
second copy whose header records the pages the file really has (SQLite refuses a file
shorter than its header says). Restore steps are in docs/storage.md.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .datadir import (
    HEADER_SIZE,
    DataDirLock,
    full_message,
    header_page_count,
    header_page_size,
    header_problem,
    is_disk_full,
    stamp,
)

#: How many unreadable stretches one table's salvaging scan carries on past.
_MAX_RECOVERIES = 10_000

#: What "integrity: ok" does not cover. docs/storage.md says the same, in these words.
NOT_DETECTED = ("integrity_check finds structural damage: unreadable or inconsistent pages, and index "
                "entries that no longer match their rows. It does not find a changed byte inside a "
                "record's text, such as one flipped bit in a message, which the desk then serves as "
                "it reads it.")


class MaintenanceError(Exception):
    """A backup or check could not be made; the message names the path and the fix."""


def _dated(folder: Path) -> Path:
    """A new name in `folder`: desk-YYYYmmdd-HHMMSS.sqlite3 (then -2, -3, … within a second)."""
    now = stamp()
    for n in itertools.count(1):
        candidate = folder / (f"desk-{now}.sqlite3" if n == 1 else f"desk-{now}-{n}.sqlite3")
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that never creates the file and takes no desk lock."""
    if not path.is_file():
        raise MaintenanceError(f"there is no desk database at {path}")
    try:
        return sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"cannot open {path} ({exc})") from exc


def integrity_problems(conn: sqlite3.Connection, *, quick: bool = False) -> list[str]:
    """What `PRAGMA integrity_check` (or quick_check) reports; [] when the database is sound."""
    try:
        rows = conn.execute(f"PRAGMA {'quick_check' if quick else 'integrity_check'}").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [str(r[0]) for r in rows if r[0] != "ok"]


def _private_file(path: Path) -> None:
    """Create `path` empty and owner-only; refuse to overwrite anything."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError as exc:
        raise MaintenanceError(f"{path} already exists; choose a new name") from exc
    except OSError as exc:
        if is_disk_full(exc, path.parent):
            raise MaintenanceError(f"cannot write {path}: {full_message(path.parent)}") from exc
        raise MaintenanceError(f"cannot write {path} ({exc.strerror or exc})") from exc


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(db: Path, dest: Path, *, verify: bool = True) -> Path:
    """Copy the database to `dest` (a new file, or a directory to put a dated file in).

    The copy is written beside `dest` and renamed into place only once complete (and, with
    `verify`, once it passes integrity_check), so `dest` never holds half a backup.
    """
    source = open_read_only(db)
    if dest.is_dir():
        dest = _dated(dest)
    if dest.exists():
        source.close()
        raise MaintenanceError(f"{dest} already exists; choose a new name")
    partial = dest.with_name(dest.name + ".partial")
    try:
        _private_file(partial)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # one step: one consistent snapshot, even while the desk writes
                copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal
                problems = integrity_problems(copy) if verify else []
            finally:
                copy.close()
            if problems:
                raise MaintenanceError(f"the copy of {db} fails its integrity check ({problems[0]}); "
                                       f"run `libchat-tui doctor --data-dir {db.parent}`")
            _fsync(partial)
            os.replace(partial, dest)
            _fsync(dest.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
    except (sqlite3.Error, OSError) as exc:
        if is_disk_full(exc, dest.parent):
            raise MaintenanceError(f"cannot back up {db}: {full_message(dest.parent)}; "
                                   "nothing was kept") from exc
        if isinstance(exc, OSError):
            raise MaintenanceError(f"cannot write {dest} ({exc.strerror or exc})") from exc
        raise MaintenanceError(f"cannot back up {db} ({exc}); "
                               f"run `libchat-tui doctor --data-dir {db.parent}`") from exc
    finally:
        source.close()
    return dest


# --- doctor ----------------------------------------------------------------------------


@dataclass
class TableCount:
    """One table's rows: how many the dump holds, and how many there were, as far as known."""

    saved: int = 0
    #: Rows known to have been there: those saved, and those only an index still lists.
    known: int = 0
    #: Whether `known` is all there were (the table, or one of its indexes, read to the end).
    complete: bool = True
    #: The ids (rowids) an index lists whose rows could not be read.
    lost_ids: list[int] = field(default_factory=list)


@dataclass
class DoctorReport:
    """What `doctor` found and where it put the copy and the dump."""

    db: Path
    out: Path
    desk_running: bool = False
    problems: list[str] = field(default_factory=list)
    copy: Path | None = None
    copy_note: str = ""
    #: (pages the file holds, pages its header records) when the file is cut short.
    truncated: tuple[int, int] | None = None
    #: The copy with a corrected page count that was read instead, for a truncated file.
    readable: Path | None = None
    dump: Path | None = None
    tables: dict[str, TableCount] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, int]:
        """The rows saved in the dump, table by table."""
        return {name: count.saved for name, count in self.tables.items()}

    @property
    def healthy(self) -> bool:
        return not self.problems and not self.unreadable


def doctor(db: Path, out: Path | None = None) -> DoctorReport:
    """Check the database, keep a copy, and dump every readable row into `out`.

    Raises MaintenanceError (one line: what, where, what to do) when it cannot run; any
    damage it meets is in the report instead.
    """
    if not db.is_file():
        raise MaintenanceError(f"there is no desk database at {db}")
    out = _make_out(db, out)
    report = DoctorReport(db, out, desk_running=DataDirLock(db.parent).is_held_elsewhere())
    try:
        _keep_copy(report)  # first; everything after reads this copy, never the desk's files
        source = _source(report)
        if source is not None:
            _check_and_dump(report, source)
    except OSError as exc:
        if is_disk_full(exc, out):
            raise MaintenanceError(f"doctor stopped: {full_message(out)}; what it made so far is in "
                                   f"{out}; pass --out with a disk that has room") from exc
        raise MaintenanceError(f"doctor stopped: cannot write in {out} ({exc.strerror or exc}); "
                               f"what it made so far is in {out}") from exc
    return report


def _make_out(db: Path, out: Path | None) -> Path:
    chosen = out is not None
    out = out or db.parent / f"doctor-{stamp()}"
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=False)
    except FileExistsError as exc:
        raise MaintenanceError(f"{out} already exists; pass --out with a new directory") from exc
    except OSError as exc:
        if is_disk_full(exc, out.parent):
            raise MaintenanceError(f"cannot create {out}: {full_message(out.parent)}; "
                                   "pass --out with a disk that has room") from exc
        if not chosen and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            size = sum(f.stat().st_size for f in (db, db.with_name(db.name + "-wal")) if f.exists())
            raise MaintenanceError(
                f"the data dir {db.parent} is not writable, so doctor cannot put its copy of the "
                f"database and what it reads from it in {out}; nothing was changed. Run it again with "
                f"--out and a new directory on a disk with room for about {2 * size:,} bytes, e.g. "
                f"`libchat-tui doctor --data-dir {db.parent} --out /tmp/desk-doctor`") from exc
        raise MaintenanceError(f"cannot create {out} ({exc.strerror or exc}); "
                               "pass --out with a new directory you can write") from exc
    return out


def _source(report: DoctorReport) -> Path | None:
    """The file to read: the copy, a copy of it whose header fits its size, or None (nothing to read)."""
    assert report.copy is not None
    copy = report.copy
    with open(copy, "rb") as handle:
        header = handle.read(HEADER_SIZE)
    problem = header_problem(header)
    if problem is not None:
        report.problems.append(problem)
        return None
    size = copy.stat().st_size
    wal = copy.with_name(copy.name + "-wal")
    if size == 0:
        if not wal.exists() or wal.stat().st_size == 0:
            report.problems.append("the file is empty (0 bytes) and has no WAL beside it: "
                                   "it holds no desk record")
            return None
        return copy  # everything is still in the WAL
    page_size = header_page_size(header)
    recorded = header_page_count(header)
    assert page_size is not None  # header_problem said the header is whole and sound
    if recorded is None or size >= recorded * page_size:
        return copy
    held = max(size // page_size, 1)  # a page cut part way is left out: its cells are half there
    report.truncated = (held, recorded)
    report.problems.append(
        f"the file is truncated: it holds {held:,} whole pages of the {recorded:,} its header records "
        f"({size:,} of {recorded * page_size:,} bytes); the rows on the missing pages are lost")
    readable = report.out / "desk-readable.sqlite3"
    for src, dst in ((copy, readable), (wal, readable.with_name(readable.name + "-wal"))):
        if src.exists():
            _private_file(dst)
            shutil.copyfile(src, dst)
    with open(readable, "r+b") as handle:
        handle.truncate(held * page_size)
        handle.seek(28)  # the in-header database size, in pages
        handle.write(held.to_bytes(4, "big"))
    report.readable = readable
    return readable


def _check_and_dump(report: DoctorReport, source: Path) -> None:
    made = [source.with_name(source.name + s) for s in ("-wal", "-shm")]
    made = [f for f in made if not f.exists()]  # SQLite's own, beside the copy: not kept
    conn = open_read_only(source)
    try:
        report.problems += integrity_problems(conn)
        report.dump = report.out / "desk-dump.sql"
        _private_file(report.dump)
        with open(report.dump, "w", encoding="utf-8") as handle:
            for line in dump_lines(conn, report):
                handle.write(line + "\n")
    finally:
        conn.close()
        for file in made:
            with contextlib.suppress(OSError):
                file.unlink()


def _keep_copy(report: DoctorReport) -> None:
    """The files byte for byte (with their WAL) while no desk writes to them; with a desk
    running, a consistent snapshot through SQLite's backup API instead."""
    if report.desk_running:
        try:
            report.copy = backup(report.db, report.out / "desk-copy.sqlite3", verify=False)
            report.copy_note = "a consistent snapshot made with SQLite's backup API"
            return
        except MaintenanceError:
            pass
    for suffix in ("", "-wal"):
        src = report.db.with_name(report.db.name + suffix)
        if src.exists():
            target = report.out / (report.db.name + suffix)
            _private_file(target)
            shutil.copyfile(src, target)
    report.copy = report.out / report.db.name
    report.copy_note = "the file and its WAL byte for byte"
    if report.desk_running:
        report.copy_note += " (the running desk may have changed them while they were copied)"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dump_lines(conn: sqlite3.Connection, report: DoctorReport) -> Iterator[str]:
    """SQL that rebuilds every table with every row that could be read (cf. iterdump).

    Unlike `Connection.iterdump`, an unreadable page does not end the dump: the table's
    scan notes the damage in a comment and carries on past it, and an unreadable table
    does not stop the next one. Full-text tables are dumped as rows of the virtual table
    (their index is rebuilt on restore). Fills `report.tables`; raises no sqlite3.Error.
    """
    yield f"-- libchat-tui doctor: what could be read from {report.db} at {stamp()}"
    yield "PRAGMA foreign_keys=OFF;"
    yield "BEGIN TRANSACTION;"
    try:
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        note = f"the list of tables (sqlite_master) cannot be read ({exc}), so no table could be"
        report.unreadable.append(note)
        yield f"-- {note}"
        yield "COMMIT;"
        return
    virtual = [name for type_, name, sql in schema if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    later: list[str] = []
    for type_, name, sql in schema:
        if type_ != "table":
            later.append(f"{sql};")
            continue
        if any(name.startswith(v + "_") for v in virtual):
            continue  # a full-text index's shadow table: rebuilt from the virtual table's rows
        yield f"{sql};"
        count = report.tables[name] = TableCount()
        try:
            yield from _table_rows(conn, name, sql, count, report)
        except sqlite3.DatabaseError as exc:  # its columns or indexes cannot even be listed
            count.complete = False
            note = f"{name}: cannot be read ({exc})"
            report.unreadable.append(note)
            yield f"-- {note}"
        count.known = max(count.known, count.saved)
    yield from later
    yield "COMMIT;"


def _table_rows(conn: sqlite3.Connection, table: str, sql: str, count: TableCount,
                report: DoctorReport) -> Iterator[str]:
    info = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    columns = [str(r[1]) for r in info]
    with_rowid = "WITHOUT ROWID" not in sql.upper()
    keys = [r for r in info if r[5]]
    rowid_alias = len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"
    names = (["rowid"] if with_rowid and not rowid_alias else []) + columns
    values = " || ',' || ".join(f"quote({_quote(c) if c != 'rowid' else 'rowid'})" for c in names)
    insert = f"'INSERT INTO {_quote(table)}({','.join(_quote(c) for c in names)}) VALUES(' || {values} || ')'"
    if not with_rowid:
        try:
            for (line,) in conn.execute(f"SELECT {insert} FROM {_quote(table)}"):
                count.saved += 1
                yield f"{line};"
        except sqlite3.DatabaseError as exc:
            count.complete = False
            report.unreadable.append(f"{table}: stopped after {count.saved} rows ({exc})")
            yield f"-- {table}: stopped after {count.saved} rows ({exc})"
        return
    saved: set[int] = set()
    start, resumed_at, recoveries = -(1 << 63), None, 0
    scan = f"SELECT rowid, {insert} FROM {_quote(table)} WHERE rowid >= ? ORDER BY rowid"
    while True:
        progressed = False
        try:
            for rowid, line in conn.execute(scan, (start,)):
                count.saved += 1
                saved.add(rowid)
                progressed = True
                start = rowid + 1
                yield f"{line};"
            break
        except sqlite3.DatabaseError as exc:
            count.complete = False
            where = f"rowid {start} on" if start > -(1 << 63) else "its first row on"
            note = f"{table}: unreadable rows from {where} ({exc})"
            if report.unreadable[-1:] != [note]:
                report.unreadable.append(note)
            yield f"-- {note}"
        recoveries += 1
        if recoveries >= _MAX_RECOVERIES:
            break
        # A row that can be found but not read (its overflow page is gone) is skipped.
        stuck = not progressed and start == resumed_at
        found = _next_readable(conn, table, start + 1 if stuck else start)
        if found is None:
            break
        yield f"-- {table}: carrying on from rowid {found}"
        start = resumed_at = found
    if not count.complete:
        _count_from_indexes(conn, table, saved, count)


def _count_from_indexes(conn: sqlite3.Connection, table: str, saved: set[int], count: TableCount) -> None:
    """How many rows a damaged table had, from its indexes: each entry holds its row's rowid.

    An index read to the end lists every row (`complete`); one that stops part way still
    names rows that were there. Rows listed but not saved are the rows lost.
    """
    listed: set[int] = set()
    for index in conn.execute(f"PRAGMA index_list({_quote(table)})").fetchall():
        if index[4]:
            continue  # a partial index lists only some rows
        entries: set[int] = set()
        try:
            for (rowid,) in conn.execute(f"SELECT rowid FROM {_quote(table)} INDEXED BY {_quote(index[1])}"):
                entries.add(rowid)
        except sqlite3.DatabaseError:
            pass
        else:
            count.complete = count.complete or saved <= entries  # read to the end: every row
        listed |= entries
    lost = listed - saved
    count.known = len(saved) + len(lost)
    count.lost_ids = sorted(lost)


def _next_readable(conn: sqlite3.Connection, table: str, start: int) -> int | None:
    """The first rowid at or after `start` that can be reached past unreadable pages.

    Seeks ahead in growing steps until one lands on a readable page, then bisects back
    to where readable rows begin, so only the damaged pages' rows are lost.
    """
    seek = f"SELECT rowid FROM {_quote(table)} WHERE rowid >= ? ORDER BY rowid LIMIT 1"

    def reachable(rowid: int) -> bool | None:  # None: no rows from there on
        try:
            return conn.execute(seek, (rowid,)).fetchone() is not None or None
        except sqlite3.DatabaseError:
            return False

    bad, good = start - 1, None
    for shift in range(64):
        probe = start + (1 << shift) - 1
        if probe >= 1 << 63:
            return None
        found = reachable(probe)
        if found is None:
            return None
        if found:
            good = probe
            break
        bad = probe
    if good is None:
        return None
    while good - bad > 1:
        mid = (bad + good) // 2
        if reachable(mid) is False:
            bad = mid
        else:
            good = mid
    row = conn.execute(seek, (good,)).fetchone()
    return int(row[0]) if row is not None else None
