"""The desk's data dir: one desk at a time, a usable directory, a database that is what it says.

`DataDirLock` is an exclusive `flock` on `desk.lock`, held while a Store is open, so a
second desk on the same dir (another `serve`, or a console's embedded desk) refuses to
start instead of fighting the first over the file. `check_dir` and `check_database`
turn the ways a data dir can be unusable into one `DataDirError` line naming the path and
what to do. `identity` is how the store notices its database was deleted or replaced,
`rescued_copies` how it notices, at the next start, the copy it made then. `is_disk_full`
tells a full disk behind SQLite's "disk I/O error" apart, so the message can say so.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = "desk.lock"
SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100

#: (st_dev, st_ino) of a file: the same path may name a different file later.
FileIdentity = tuple[int, int]


def stamp() -> str:
    """A UTC timestamp for file names: 20260131-142501."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


class DataDirError(Exception):
    """The data dir or its database cannot be used; the message names the path and the fix."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def identity(path: Path) -> FileIdentity | None:
    """The identity of the file now at `path`, or None if there is none (one os.stat)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def check_dir(data_dir: Path) -> None:
    """Create the data dir (owner-only) if missing; refuse one that is a file or not writable."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(f"the data dir {data_dir} is a file, not a directory; "
                           "move it away or pass --data-dir with a directory")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError as exc:  # a parent is a file
        raise DataDirError(f"cannot create the data dir {data_dir}: a parent is a file ({exc.filename}); "
                           "pass --data-dir with a directory") from exc
    except OSError as exc:
        if is_disk_full(exc, data_dir):
            raise DataDirError(f"cannot create the data dir {data_dir}: {full_message(data_dir)}; "
                               "free some space there or pass --data-dir") from exc
        raise DataDirError(f"cannot create the data dir {data_dir} ({_reason(exc)}); "
                           "create it yourself or pass --data-dir with a writable directory") from exc
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DataDirError(f"the data dir {data_dir} is not writable; make it writable by this user "
                           "or pass --data-dir with a writable directory")


def check_database(path: Path) -> None:
    """Refuse a database file that is unwritable or whose header is not SQLite's.

    An empty or missing file is fine: the store creates the schema in it.
    """
    if not path.exists():
        return
    if not path.is_file():
        raise DataDirError(f"the desk database {path} is not a file; move it away")
    if not os.access(path, os.R_OK | os.W_OK):
        raise DataDirError(f"the desk database {path} is read-only; make it writable by this user "
                           "(chmod u+rw) or pass --data-dir with another directory")
    try:
        with open(path, "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except OSError as exc:
        raise DataDirError(f"cannot read the desk database {path} ({_reason(exc)})") from exc
    problem = header_problem(header)
    if problem is not None:
        raise DataDirError(corrupt_message(path, problem))


def header_problem(header: bytes) -> str | None:
    """What is wrong with a database file's first 100 bytes (None: fine, or an empty file)."""
    if not header:
        return None
    if not header.startswith(SQLITE_MAGIC):
        return "its header is not an SQLite header"
    if len(header) < HEADER_SIZE:
        return f"the file is cut short: it ends {len(header)} bytes into its {HEADER_SIZE}-byte header"
    if header_page_size(header) is None:
        return "its header has an impossible page size"
    return None


def header_page_size(header: bytes) -> int | None:
    """The page size a database header records (None: no whole header, or an impossible size)."""
    if len(header) < HEADER_SIZE:
        return None
    size = int.from_bytes(header[16:18], "big")
    size = 65536 if size == 1 else size
    if size < 512 or size > 65536 or size & (size - 1):
        return None
    return size


def header_page_count(header: bytes) -> int | None:
    """The database size in pages a header records, if it is one SQLite believes.

    SQLite trusts the count at offset 28 only when it is not zero and the change counter
    (offset 24) equals the version-valid-for number (offset 92); otherwise it goes by the
    file's size. A file shorter than a count it believes is refused as malformed.
    """
    if len(header) < HEADER_SIZE:
        return None
    pages = int.from_bytes(header[28:32], "big")
    if pages == 0 or header[24:28] != header[92:96]:
        return None
    return pages


#: Below this many free bytes, an I/O error writing the database is taken for a full disk.
NEARLY_FULL = 1 << 20


def free_bytes(path: Path) -> int | None:
    """Bytes an ordinary user may still write on the filesystem holding `path` (None: unknown)."""
    for candidate in (path, *path.parents):
        try:
            st = os.statvfs(candidate)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None


def is_disk_full(exc: BaseException | None, where: Path) -> bool:
    """Whether `exc`, or an error that caused it, is the disk holding `where` running out of room.

    ENOSPC, EDQUOT and SQLITE_FULL say so; SQLite reports some writes that fail for want of
    room only as "disk I/O error" (SQLITE_IOERR_*, e.g. growing the -shm file), so an I/O
    error while fewer than NEARLY_FULL bytes are free counts too.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error):
            name = getattr(exc, "sqlite_errorname", "") or ""
            if name == "SQLITE_FULL":
                return True
            if name.startswith("SQLITE_IOERR"):
                free = free_bytes(where)
                if free is not None and free < NEARLY_FULL:
                    return True
        exc = exc.__cause__ or exc.__context__
    return False


def full_message(where: Path) -> str:
    """"the disk holding DIR is full (N bytes free)", or why it refuses although it has room."""
    free = free_bytes(where)
    if free is None:
        return f"the disk holding {where} is full"
    if free < NEARLY_FULL:
        return f"the disk holding {where} is full ({free:,} bytes free)"
    return (f"the disk holding {where} refuses to take more although it has {free:,} bytes free "
            "(a disk quota or a size limit is full)")


def corrupt_message(path: Path, detail: str) -> str:
    """The one line for a damaged database: which file, what is wrong, what to run."""
    return (f"the desk database {path} is damaged ({detail}); the desk will not start on it. "
            f"Run `libchat-tui doctor --data-dir {path.parent}` to save a copy and what can be "
            "read, then restore a backup (see docs/storage.md)")


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """PRAGMA quick_check on an open connection; DataDirError naming the file if it fails."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DataDirError(corrupt_message(path, str(exc))) from exc
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise DataDirError(corrupt_message(path, problems[0] + more))


class DataDirLock:
    """An exclusive, non-blocking flock on `<data dir>/desk.lock` (released on close or exit)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise DataDirError naming the dir (and the other desk's pid)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise DataDirError(f"cannot create the lock file {self.path} ({_reason(exc)}); "
                               "make the data dir writable or pass --data-dir") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise DataDirError(f"cannot lock {self.path} ({_reason(exc)})") from exc
            pid = self.holder()
            who = f" (pid {pid})" if pid else ""
            raise DataDirError(f"another desk{who} is already using the data dir {self.data_dir}; "
                               "stop it first, or pass --data-dir with another directory") from exc
        with contextlib.suppress(OSError):  # the pid is only for the message above
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def holder(self) -> int | None:
        """The pid written by the desk that holds (or last held) the lock, if readable."""
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def is_held_elsewhere(self) -> bool:
        """Whether some desk holds the lock now (probes without keeping it)."""
        if not self.path.exists():
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def open_failure(path: Path, exc: sqlite3.Error) -> DataDirError:
    """Turn SQLite's refusal to open or set up the database into one line naming the file."""
    name = getattr(exc, "sqlite_errorname", "")
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "malformed" in str(exc):
        return DataDirError(corrupt_message(path, str(exc)))
    if name.startswith("SQLITE_READONLY"):
        return DataDirError(f"the desk database {path} cannot be written ({exc}); make it and its "
                            "-wal and -shm files writable by this user, or pass --data-dir")
    if is_disk_full(exc, path.parent):
        return DataDirError(f"{full_message(path.parent)}, so the desk cannot start on {path}; "
                            "free some space there and start the desk again")
    if name == "SQLITE_CANTOPEN":
        return DataDirError(f"cannot open the desk database {path} ({exc}); check that this user can "
                            "read and write it and its directory")
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return DataDirError(f"the desk database {path} is locked by another program ({exc}); "
                            "close it and start the desk again")
    return DataDirError(f"cannot open the desk database {path} ({exc})")


JOURNAL_SUFFIXES = ("-wal", "-shm")


def rescued_copies(path: Path) -> list[Path]:
    """The `desk-rescued-*.sqlite3` copies beside the database at `path`, oldest first."""
    try:
        return sorted(path.parent.glob(f"{path.stem}-rescued-*.sqlite3"))
    except OSError:
        return []


def journal_identities(path: Path) -> dict[str, FileIdentity | None]:
    """The identities of the database's -wal and -shm files now (None: not there)."""
    return {suffix: identity(path.with_name(path.name + suffix)) for suffix in JOURNAL_SUFFIXES}


def forget_own_journal(path: Path, ours: dict[str, FileIdentity | None]) -> None:
    """Remove the -wal/-shm files at the path if they are still the ones the desk had open.

    After the database file was deleted or replaced, the desk's own WAL left beside it
    would be replayed into whatever file is at the path next: a restored backup would
    come back with the old desk's pages written over it.
    """
    for suffix, ident in ours.items():
        journal = path.with_name(path.name + suffix)
        if ident is not None and identity(journal) == ident:
            with contextlib.suppress(OSError):
                journal.unlink()


def rescue(conn: sqlite3.Connection, path: Path, stamp: str) -> Path:
    """Copy what `conn` still sees (a database whose file is gone) to a new owner-only file.

    The connection reads the orphaned file and its WAL through the descriptors it holds,
    so everything committed before the file went away is kept. Raises OSError or
    sqlite3.Error if no copy could be made.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest = path.with_name(f"{path.stem}-rescued-{stamp}.sqlite3")
    os.close(os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    copy = sqlite3.connect(dest)
    try:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
    return dest
