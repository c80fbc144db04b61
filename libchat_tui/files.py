"""Writing files so that a crash never leaves half of one: the one helper for every file we write.

`write_atomic` writes a temporary file beside the target (owner-only from the first
byte), fsyncs it, renames it over the target and fsyncs the directory, so after a crash
the path holds either the old contents or the new, never a mix, and never readable by
other local users. Drafts, the outbox, exports and the desk token all go through it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

OWNER_ONLY = 0o600


def write_atomic(path: Path, data: str | bytes, *, mode: int = OWNER_ONLY, exclusive: bool = False) -> None:
    """Replace `path` with `data` atomically and durably.

    With `exclusive`, refuse (FileExistsError) if `path` already exists: for exports the
    librarian did not ask to overwrite.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if exclusive and path.exists():
        raise FileExistsError(f"{path} already exists")
    # A new file of a name nobody can guess, made with O_EXCL (mkstemp): a symlink planted
    # at a predictable temporary name can neither be followed nor have its target chmodded.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # set on the file we made, never through a name
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if someone made the file meanwhile
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
