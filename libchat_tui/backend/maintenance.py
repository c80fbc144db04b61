"""Keeping and rescuing the desk's record: integrity check, online backup, and `doctor`.

A library's record of its reference service lives in one SQLite file. `backup` copies it
with SQLite's online backup API through a read-only connection, so it works while the
desk runs (and without the desk's data-dir lock), and the copy is one consistent,
self-contained, owner-only file that passed `PRAGMA integrity_check`. `doctor` is for a
database the desk refuses: it checks it, keeps a copy exactly as it is, and dumps every
row it can still read into a `.sql` file. Restore steps are in docs/storage.md.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .datadir import HEADER_SIZE, DataDirLock, header_problem, stamp

#: How many unreadable stretches one table's salvaging scan carries on past.
_MAX_RECOVERIES = 10_000


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


def read_header_problem(path: Path) -> str | None:
    """A damaged-header description for the file at `path`, or None."""
    with open(path, "rb") as handle:
        return header_problem(handle.read(HEADER_SIZE))


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
    except sqlite3.Error as exc:
        raise MaintenanceError(f"cannot back up {db} ({exc}); "
                               f"run `libchat-tui doctor --data-dir {db.parent}`") from exc
    finally:
        source.close()
    return dest


# --- doctor ----------------------------------------------------------------------------


@dataclass
class DoctorReport:
    """What `doctor` found and where it put the copy and the dump."""

    db: Path
    out: Path
    desk_running: bool = False
    problems: list[str] = field(default_factory=list)
    copy: Path | None = None
    copy_note: str = ""
    dump: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems and not self.unreadable


def doctor(db: Path, out: Path | None = None) -> DoctorReport:
    """Check the database, keep a copy, and dump every readable row into `out`."""
    if not db.is_file():
        raise MaintenanceError(f"there is no desk database at {db}")
    out = out or db.parent / f"doctor-{stamp()}"
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=False)
    except OSError as exc:
        raise MaintenanceError(f"cannot create {out} ({exc.strerror or exc}); pass --out") from exc
    report = DoctorReport(db, out, desk_running=DataDirLock(db.parent).is_held_elsewhere())
    _keep_copy(report)  # first, before any connection opens the files
    header = read_header_problem(db)
    conn = open_read_only(db)
    try:
        report.problems = [header] if header else integrity_problems(conn)
        if header is None:
            report.dump = out / "desk-dump.sql"
            _private_file(report.dump)
            with open(report.dump, "w", encoding="utf-8") as handle:
                for line in dump_lines(conn, report):
                    handle.write(line + "\n")
    finally:
        conn.close()
    return report


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
    scan notes the damage in a comment and carries on past it. Full-text tables are
    dumped as rows of the virtual table (their index is rebuilt on restore).
    """
    yield f"-- libchat-tui doctor: what could be read from {report.db} at {stamp()}"
    yield "PRAGMA foreign_keys=OFF;"
    yield "BEGIN TRANSACTION;"
    schema = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid"
    ).fetchall()
    virtual = [name for type_, name, sql in schema if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    later: list[str] = []
    for type_, name, sql in schema:
        if type_ != "table":
            later.append(f"{sql};")
            continue
        if any(name.startswith(v + "_") for v in virtual):
            continue  # a full-text index's shadow table: rebuilt from the virtual table's rows
        yield f"{sql};"
        yield from _table_rows(conn, name, sql, report)
    yield from later
    yield "COMMIT;"


def _table_rows(conn: sqlite3.Connection, table: str, sql: str, report: DoctorReport) -> Iterator[str]:
    info = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    columns = [str(r[1]) for r in info]
    with_rowid = "WITHOUT ROWID" not in sql.upper()
    keys = [r for r in info if r[5]]
    rowid_alias = len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"
    names = (["rowid"] if with_rowid and not rowid_alias else []) + columns
    values = " || ',' || ".join(f"quote({_quote(c) if c != 'rowid' else 'rowid'})" for c in names)
    insert = f"'INSERT INTO {_quote(table)}({','.join(_quote(c) for c in names)}) VALUES(' || {values} || ')'"
    count = 0
    if not with_rowid:
        try:
            for (line,) in conn.execute(f"SELECT {insert} FROM {_quote(table)}"):
                count += 1
                yield f"{line};"
        except sqlite3.DatabaseError as exc:
            report.unreadable.append(f"{table}: stopped after {count} rows ({exc})")
            yield f"-- {table}: stopped after {count} rows ({exc})"
        report.rows[table] = count
        return
    start, resumed_at, recoveries = -(1 << 63), None, 0
    scan = f"SELECT rowid, {insert} FROM {_quote(table)} WHERE rowid >= ? ORDER BY rowid"
    while True:
        progressed = False
        try:
            for rowid, line in conn.execute(scan, (start,)):
                count += 1
                progressed = True
                start = rowid + 1
                yield f"{line};"
            break
        except sqlite3.DatabaseError as exc:
            note = f"{table}: unreadable rows from rowid {start} on ({exc})"
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
    report.rows[table] = count


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
