"""What we write is ours alone and written whole (issue 22: exports were 0644, and the
temporary file followed a symlink planted at its predictable name)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from libchat_tui.backend.runtime import Backend
from libchat_tui.files import write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_symlink_at_the_old_temporary_name_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("keep me", encoding="utf-8")
    secret.chmod(0o600)
    out = tmp_path / "exports" / "chat-2-patron.md"
    out.parent.mkdir()
    # An attacker who can write the export folder plants links at every name the old code
    # could have picked (its name was the target's, the process id and ".tmp").
    for pid in {os.getpid(), os.getppid(), *range(os.getpid() - 5, os.getpid() + 5)}:
        (out.parent / f".{out.name}.{pid}.tmp").symlink_to(secret)
    write_atomic(out, "the transcript")
    assert secret.read_text(encoding="utf-8") == "keep me"
    assert mode(secret) == 0o600
    assert out.read_text(encoding="utf-8") == "the transcript" and not out.is_symlink()


async def test_exports_are_owner_only(backend: Backend, tmp_path: Path) -> None:
    import asyncio
    import sys

    out = tmp_path / "tickets.csv"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libchat_tui.cli", "export", "--data-dir", str(backend.data_dir), "tickets",
        "--out", str(out), stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert mode(out) == 0o600
