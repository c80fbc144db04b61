"""The storage contract from the command line: a second desk, every start-up error as one
line with exit status 2, `backup` while the desk writes, and `doctor` on a damaged file.

Real `libchat-tui` subprocesses on port 0 and real SQLite files under tmp_path. The
permission cases run the command without root's override capabilities (via setpriv) when
the tests themselves run as root, since root may write to read-only files.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from libchat_tui.backend.store import Outcome, Store, Tx

TIMEOUT = 20.0
_NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable", "--"]


def _env(config: Path) -> dict[str, str]:
    return {**os.environ, "LIBCHAT_CONFIG": str(config)}


def _as_plain_user() -> list[str]:
    """A prefix that runs a command without root's permission overrides (or nothing)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: read-only files are writable to root")
    return _NO_OVERRIDE


def run_cli(*args: str, tmp: Path, config: Path | None = None,
            prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [*(prefix or []), sys.executable, "-m", "libchat_tui.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env=_env(config or tmp / "config.toml"))


def assert_refused(result: subprocess.CompletedProcess[str], *names: str) -> None:
    """Exit status 2 and one line on stderr naming the path; no traceback, no port blamed."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "cannot listen" not in result.stderr
    for name in names:
        assert name in result.stderr, (name, result.stderr)


async def _serve(tmp: Path, data: Path,
                 said: list[str] | None = None) -> tuple[asyncio.subprocess.Process, str]:
    """Start `serve` on port 0; its URL, and in `said` every line it printed before it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0", "--data-dir", str(data),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=_env(tmp / "config.toml"),
    )
    assert proc.stdout is not None
    async with asyncio.timeout(TIMEOUT):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "serve exited before printing its URL"
            found = re.search(r"desk at (ws://\S+?)\s", line)
            if found:
                return proc, found.group(1)
            if said is not None:
                said.append(line)


async def _stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(TIMEOUT):
        return await proc.wait()


def _event(n: int) -> Callable[[Tx], Outcome]:
    def work(tx: Tx) -> Outcome:
        tx.event("probe", {"n": n, "text": f"row-{n:06d}-" + "x" * 120})
        return Outcome({"n": n})

    return work


async def _database(data: Path, rows: int = 0) -> Path:
    store = Store(data / "desk.sqlite3")
    await store.open()
    for n in range(1, rows + 1):
        await store.write(_event(n))
    await store.close()
    return store.path


# --- a second desk ----------------------------------------------------------------------


async def test_a_second_desk_on_one_data_dir_refuses_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, _url = await _serve(tmp_path, data)
    try:
        second = await asyncio.to_thread(run_cli, "serve", "--port", "0", "--data-dir", str(data),
                                         tmp=tmp_path)
        assert_refused(second, str(data), "another desk", f"pid {first.pid}")
        console = await asyncio.to_thread(run_cli, "--data-dir", str(data), tmp=tmp_path)
        assert_refused(console, str(data), "another desk")
        assert first.returncode is None  # the first desk is still running
    finally:
        assert await _stop(first) == 0
    again, _url = await _serve(tmp_path, data)  # the lock left with the first desk
    assert await _stop(again) == 0


# --- start-up errors ------------------------------------------------------------------------


async def test_damaged_header_stops_serve_and_console_with_one_line(tmp_path: Path) -> None:
    db = await _database(tmp_path / "data", rows=5)
    with open(db, "r+b") as handle:
        handle.write(b"garbage garbage!")
    for args in (["serve", "--port", "0"], []):
        result = run_cli(*args, "--data-dir", str(db.parent), tmp=tmp_path)
        assert_refused(result, str(db), "libchat-tui doctor")


async def test_damage_mid_file_stops_serve_with_one_line(tmp_path: Path) -> None:
    db = await _database(tmp_path / "data", rows=600)
    data = db.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    page = data.index(b"row-000300-") // page_size
    with open(db, "r+b") as handle:
        handle.seek(page * page_size)
        handle.write(b"\0" * page_size)
    result = run_cli("serve", "--port", "0", "--data-dir", str(db.parent), tmp=tmp_path)
    assert_refused(result, str(db), "damaged", "libchat-tui doctor")


@pytest.mark.parametrize("where", ["data dir", "its parent"])
def test_data_dir_that_is_a_file_is_one_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    data = tmp_path / "file" if where == "data dir" else tmp_path / "file" / "data"
    result = run_cli("serve", "--port", "0", "--data-dir", str(data), tmp=tmp_path)
    assert_refused(result, str(data), "file")


async def test_read_only_data_dir_is_one_line(tmp_path: Path) -> None:
    prefix = _as_plain_user()
    data = tmp_path / "data"
    await _database(data, rows=1)  # the files are there and writable; the dir is not
    data.chmod(0o500)
    try:
        result = run_cli("serve", "--port", "0", "--data-dir", str(data), tmp=tmp_path, prefix=prefix)
    finally:
        data.chmod(0o700)
    assert_refused(result, str(data), "not writable")


async def test_read_only_database_is_one_line(tmp_path: Path) -> None:
    prefix = _as_plain_user()
    db = await _database(tmp_path / "data", rows=1)
    db.chmod(0o400)
    result = run_cli("serve", "--port", "0", "--data-dir", str(db.parent), tmp=tmp_path, prefix=prefix)
    assert_refused(result, str(db), "read-only")


def _full_disk_prefix(mount: Path, db: Path) -> list[str]:
    """A prefix that runs a command with `mount` a full 1 MiB tmpfs holding a copy of `db`.

    The tmpfs is mounted in a private mount namespace (unshare), so it exists only for that
    one command and goes with it, however the command ends: nothing to unmount, no root
    left mounted. Skips where mount namespaces are not available.
    """
    unshare = shutil.which("unshare")
    if sys.platform != "linux" or unshare is None:
        pytest.skip("needs Linux's unshare to mount a private tmpfs")
    namespace = [unshare, "--mount"]
    if os.geteuid() != 0:
        namespace[1:1] = ["--user", "--map-root-user"]
    probe = subprocess.run([*namespace, "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")
    script = ('set -e; mount -t tmpfs -o size=1m tmpfs "$1"; mkdir -m 700 "$1/data"; '
              'cp "$2" "$1/data/desk.sqlite3"; cat /dev/zero > "$1/filler" 2>/dev/null || true; '
              'shift 2; exec "$@"')
    return [*namespace, "sh", "-c", script, "sh", str(mount), str(db)]


async def test_full_disk_at_start_says_the_disk_is_full(tmp_path: Path) -> None:
    db = await _database(tmp_path / "made", rows=50)
    mount = tmp_path / "disk"
    mount.mkdir()
    prefix = _full_disk_prefix(mount, db)
    result = run_cli("serve", "--port", "0", "--data-dir", str(mount / "data"), tmp=tmp_path, prefix=prefix)
    assert_refused(result, str(mount / "data"), "is full", "bytes free")
    assert "disk I/O error" not in result.stderr
    assert not any(mount.iterdir())  # the tmpfs went with the command


def test_unwritable_token_dir_is_one_line(tmp_path: Path) -> None:
    prefix = _as_plain_user()
    config_dir = tmp_path / "config"
    config_dir.mkdir(mode=0o500)
    result = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), tmp=tmp_path,
                     config=config_dir / "config.toml", prefix=prefix)
    assert_refused(result, str(config_dir / "token"), "LIBCHAT_CONFIG")


# --- backup and doctor ----------------------------------------------------------------------


async def test_backup_command_while_the_desk_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "data" / "desk.sqlite3")
    await store.open()  # the desk holds the data dir's lock throughout
    acked: list[int] = []
    stop = asyncio.Event()

    async def desk_traffic() -> None:
        while not stop.is_set():
            await store.write(_event(len(acked) + 1))
            acked.append(len(acked) + 1)

    traffic = asyncio.create_task(desk_traffic())
    try:
        async with asyncio.timeout(TIMEOUT):
            while len(acked) < 200:
                await asyncio.sleep(0.005)
        acked_before = len(acked)
        dest = tmp_path / "backups" / "monday.sqlite3"
        dest.parent.mkdir()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "libchat_tui.cli", "backup", str(dest), "--data-dir",
            str(store.path.parent), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=_env(tmp_path / "config.toml"))
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err
        assert str(dest) in out.decode() and "integrity check: ok" in out.decode()
        stop.set()
        await traffic
    finally:
        stop.set()
        await store.close()
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    finally:
        conn.close()
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= acked_before
    again = run_cli("backup", str(dest), "--data-dir", str(store.path.parent), tmp=tmp_path)
    assert_refused(again, str(dest), "already exists")
    dated = run_cli("backup", str(dest.parent), "--data-dir", str(store.path.parent), tmp=tmp_path)
    again_dated = run_cli("backup", str(dest.parent), "--data-dir", str(store.path.parent), tmp=tmp_path)
    assert dated.returncode == 0 and again_dated.returncode == 0
    assert len(list(dest.parent.glob("desk-*.sqlite3"))) == 2  # never one over another
    missing = run_cli("backup", str(dest.parent), "--data-dir", str(tmp_path / "none"), tmp=tmp_path)
    assert_refused(missing, str(tmp_path / "none" / "desk.sqlite3"))


async def test_doctor_reports_keeps_a_copy_and_dumps_what_it_can(tmp_path: Path) -> None:
    db = await _database(tmp_path / "data", rows=600)
    healthy = run_cli("doctor", "--data-dir", str(db.parent), "--out", str(tmp_path / "ok"), tmp=tmp_path)
    assert healthy.returncode == 0, healthy.stderr
    assert "integrity: ok" in healthy.stdout and "events 600" in healthy.stdout

    data = db.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    page = data.index(b"row-000300-") // page_size
    with open(db, "r+b") as handle:
        handle.seek(page * page_size)
        handle.write(b"\0" * page_size)
    out = tmp_path / "rescue"
    damaged = run_cli("doctor", "--data-dir", str(db.parent), "--out", str(out), tmp=tmp_path)
    assert damaged.returncode == 1, damaged.stderr
    assert "Traceback" not in damaged.stdout + damaged.stderr
    assert "DAMAGED" in damaged.stdout and "docs/storage.md" in damaged.stdout
    assert str(out / "desk.sqlite3") in damaged.stdout and str(out / "desk-dump.sql") in damaged.stdout
    assert (out / "desk.sqlite3").read_bytes() == db.read_bytes()
    assert oct((out / "desk-dump.sql").stat().st_mode & 0o777) == "0o600"

    nothing = run_cli("doctor", "--data-dir", str(tmp_path / "empty"), tmp=tmp_path)
    assert_refused(nothing, str(tmp_path / "empty" / "desk.sqlite3"))


async def test_doctor_on_a_read_only_data_dir_says_where_it_would_write(tmp_path: Path) -> None:
    prefix = _as_plain_user()
    data = tmp_path / "data"
    await _database(data, rows=20)
    data.chmod(0o500)
    out = tmp_path / "elsewhere"
    try:
        before = sorted(os.listdir(data))
        nowhere = run_cli("doctor", "--data-dir", str(data), tmp=tmp_path, prefix=prefix)
        elsewhere = run_cli("doctor", "--data-dir", str(data), "--out", str(out), tmp=tmp_path, prefix=prefix)
        after = sorted(os.listdir(data))
    finally:
        data.chmod(0o700)
    assert_refused(nowhere, "not writable", f"{data}/doctor-", "--out")  # where, and what to do
    assert "Traceback" not in elsewhere.stdout + elsewhere.stderr, elsewhere.stderr
    assert elsewhere.returncode == 0, (elsewhere.stdout, elsewhere.stderr)
    assert "integrity: ok" in elsewhere.stdout and "events 20" in elsewhere.stdout
    assert (out / "desk-dump.sql").stat().st_size > 0
    assert after == before  # doctor left the data dir as it was


async def test_serve_beside_a_rescued_copy_tells_the_operator(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data / "desk.sqlite3")
    await store.open()
    await store.write(_event(1))
    for suffix in ("", "-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    await store.close()  # the desk rescues what it had: desk-rescued-TIMESTAMP.sqlite3
    [rescued] = data.glob("desk-rescued-*.sqlite3")

    said: list[str] = []
    proc, _url = await _serve(tmp_path, data, said)
    assert await _stop(proc) == 0
    told = [line for line in said if str(rescued) in line]
    assert told, said
    assert "ERROR" in told[0] and "new, empty" in told[0] and "Restoring" in told[0]
