"""The command line: serve's errors, help, and exports straight from the store."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

from desk_ids import desk_id
from wire import join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend


def run_cli(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIBCHAT_CONFIG": str(tmp / "config.toml")}
    return subprocess.run([sys.executable, "-m", "libchat_tui.cli", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--data-dir", str(tmp_path / "d"), tmp=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_explains_the_options(tmp_path: Path) -> None:
    top = run_cli("--help", tmp=tmp_path).stdout
    for option in ("--seed", "--speed", "--patrons", "--grace", "--data-dir", "--server", "--token"):
        assert option in top
    serve = run_cli("serve", "--help", tmp=tmp_path).stdout
    for option in ("--host", "--port", "--simulate", "--allow-origin"):
        assert option in serve


def test_config_mistake_stops_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[desk]\ngrace_seconds = "soon"\n')
    result = run_cli("serve", "--data-dir", str(tmp_path / "d"), tmp=tmp_path)
    assert result.returncode == 2
    assert "config.toml, line 2" in result.stderr and "grace_seconds" in result.stderr


async def test_exports_read_the_store_without_a_backend(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Backend(data_dir=data, clock=FakeClock(), token="t") as backend:
        lib, _ = await librarian(backend.url, "t")
        pat, joined = await join(backend.url, name="=HYPERLINK(evil)", email="p@example.edu")
        chat_id = desk_id(backend, joined)
        await lib.ok("accept", chat_id=chat_id)
        await lib.ok("send", chat_id=chat_id, text="Here you go")
        await lib.ok("note", chat_id=chat_id, text="internal only")
        await lib.ok("end", chat_id=chat_id)
        await lib.ok("save_analytics", chat_id=chat_id, dataset="Chat",
                     fields={"question_type": "reference", "read_scale": 3, "topics": ["ill", "books"]})
        await lib.ok("create_ticket", chat_id=chat_id, name="Pat", email="p@example.edu",
                     subject="Follow up", body="body")
        day = (await lib.ok("transcript", chat_id=chat_id))["chat"]["created_at"][:10]
        del pat
    out = tmp_path / "ra.csv"
    result = run_cli("export", "--data-dir", str(data), "analytics", "--from", day, "--to", day,
                     "--out", str(out), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 1
    assert rows[0]["read_scale"] == "3" and rows[0]["topics"] == "ill; books"
    assert rows[0]["first_question"] == "Is the library open on Sunday?"
    tickets = run_cli("export", "--data-dir", str(data), "tickets", tmp=tmp_path)
    assert "Follow up" in tickets.stdout
    patron_copy = run_cli("export", "--data-dir", str(data), "transcript", str(chat_id), "--copy",
                          "patron", tmp=tmp_path).stdout
    assert "Here you go" in patron_copy and "internal only" not in patron_copy
    librarian_copy = run_cli("export", "--data-dir", str(data), "transcript", str(chat_id),
                             tmp=tmp_path).stdout
    assert "internal only" in librarian_copy and "Internal note" in librarian_copy
    backwards = run_cli("export", "--data-dir", str(data), "analytics", "--from", "2026-12-02",
                        "--to", "2026-12-01", tmp=tmp_path)
    assert backwards.returncode == 2 and "after" in backwards.stderr
    unknown = run_cli("export", "--data-dir", str(data), "analytics", "--dataset", "Nope",
                      "--from", day, "--to", day, tmp=tmp_path)
    assert unknown.returncode == 2 and "Nope" in unknown.stderr
