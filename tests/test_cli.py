"""The command line: serve's errors and start-up lines, help, options in any position, where logs
go, and exports straight from the store."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import logging.handlers
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import websockets
from desk_ids import desk_id
from wire import join, librarian

from libchat_tui import cli
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.config import Settings, load_settings


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


# -- global options in any position ---------------------------------------------------------------

#: What each command needs besides the global options, to parse at all.
NEEDS: dict[tuple[str, ...], list[str]] = {
    ("backup",): ["DEST"],
    ("export", "analytics"): ["--from", "2026-01-01", "--to", "2026-01-02"],
    ("export", "transcript"): ["7"],
    ("libanswers", "push"): ["--retry-failed"],
}


def leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command line path down to a command that runs: ("serve",), ("export", "tickets")..."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return [path]
    return [leaf for name, sub in subparsers[0].choices.items() for leaf in leaf_commands(sub, (*path, name))]


def test_every_command_is_known_to_these_tests() -> None:
    leaves = leaf_commands(cli.build_parser())
    assert {("serve",), ("patron",), ("export", "transcript"), ("backup",), ("doctor",),
            ("libanswers", "check")} <= set(leaves)
    assert set(NEEDS) <= set(leaves)


@pytest.mark.parametrize("command", [(), *leaf_commands(cli.build_parser())],
                         ids=lambda c: " ".join(c) or "console")
def test_config_and_data_dir_work_before_between_and_after_the_command(command: tuple[str, ...]) -> None:
    rest = NEEDS.get(command, [])
    given = ["--config", "/tmp/c.toml", "--data-dir", "/tmp/desk"]
    places = [[*given, *command, *rest], [*command, *rest, *given]]
    if len(command) == 2:  # `export --data-dir DIR transcript 7`
        places.append([command[0], *given, command[1], *rest])
    for argv in places:
        args = cli.build_parser().parse_args(argv)
        assert (args.config, args.data_dir) == (Path("/tmp/c.toml"), Path("/tmp/desk")), argv
    if command:  # given once before and once after the command: the later one wins, as usual
        argv = ["--data-dir", "/tmp/a", *command, *rest, "--data-dir", "/tmp/b"]
        assert cli.build_parser().parse_args(argv).data_dir == Path("/tmp/b")


def test_desk_options_before_serve_are_kept() -> None:
    args = cli.build_parser().parse_args(["--grace", "30", "--seed", "4", "serve", "--port", "0"])
    assert (args.grace, args.seed, args.port) == (30.0, 4, 0)
    args = cli.build_parser().parse_args(["serve", "--grace", "40", "--simulate", "3"])
    assert (args.grace, args.patrons, args.speed, args.data_dir) == (40.0, 3, 1.0, None)


def test_serve_reads_the_config_given_after_it(tmp_path: Path) -> None:
    bad = tmp_path / "other.toml"
    bad.write_text('[desk]\ngrace_seconds = "soon"\n')
    result = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--config", str(bad),
                     tmp=tmp_path)
    assert result.returncode == 2 and f"{bad}, line 2" in result.stderr, result.stderr


async def test_export_transcript_takes_the_data_dir_after_the_chat(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Backend(data_dir=data, clock=FakeClock(), token="t") as backend:
        lib, _ = await librarian(backend.url, "t")
        _pat, joined = await join(backend.url, name="Pat")
        chat_id = desk_id(backend, joined)
        await lib.ok("accept", chat_id=chat_id)
        await lib.ok("send", chat_id=chat_id, text="Found it on the shelf")
    result = run_cli("export", "transcript", str(chat_id), "--data-dir", str(data), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Found it on the shelf" in result.stdout


# -- serve says where patrons chat ---------------------------------------------------------------


async def test_serve_prints_the_chat_page_and_the_embed_tag(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "LIBCHAT_CONFIG": str(tmp_path / "config.toml")})
    assert proc.stdout is not None and proc.stderr is not None
    try:
        said: list[str] = []
        async with asyncio.timeout(30):
            while not any("<script" in line for line in said):
                line = (await proc.stdout.readline()).decode()
                assert line, f"serve stopped: {said}"
                said.append(line)
        text = "".join(said)
        desk = re.search(r"desk at ws://(\S+?)\s", text)
        assert desk, text
        where = desk.group(1)
        assert f"http://{where}/chat" in text, text
        assert f'<script src="http://{where}/widget.js" async></script>' in text, text
        page = await asyncio.to_thread(urllib.request.urlopen, f"http://{where}/chat", timeout=10)
        assert page.status == 200
        # serve keeps logging to stderr (journald reads it): a failed login is said there.
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(f"ws://{where}/librarian",
                                     additional_headers={"Authorization": "Bearer wrong"})
        logged = ""
        async with asyncio.timeout(30):
            while "failed librarian login" not in logged:
                line = (await proc.stderr.readline()).decode()
                assert line, logged
                logged += line
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await proc.wait()


# -- logs: to a file in console and plain modes, never to the terminal ------------------------------

#: Run `cli.main` with the console (or plain mode) replaced by something that logs and warns.
LOGS_THEN_STOPS = """
import logging, sys, warnings
import libchat_tui.ui.launch as console
from libchat_tui import cli

def noisy(*args, **kwargs):
    logging.getLogger("libchat_tui.backend.server").warning("MARK-backend")
    logging.getLogger("websockets.server").error("MARK-websockets")
    warnings.warn("MARK-warning")
    print("RAN")
    return 0

console.launch = noisy
cli.plain_command = noisy
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("mode", [[], ["--plain"]], ids=["console", "plain"])
def test_the_console_and_plain_mode_log_to_a_file_not_the_terminal(tmp_path: Path, mode: list[str]) -> None:
    logs = tmp_path / "logs"
    result = subprocess.run(
        [sys.executable, "-c", LOGS_THEN_STOPS, *mode, "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "LIBCHAT_CONFIG": str(tmp_path / "config.toml"), "LIBCHAT_LOG_DIR": str(logs)})
    assert result.returncode == 0 and "RAN" in result.stdout, result.stderr
    assert "MARK" not in result.stdout + result.stderr, result.stderr
    written = (logs / "libchat-tui.log").read_text(encoding="utf-8")
    for mark in ("MARK-backend", "MARK-websockets", "MARK-warning"):
        assert mark in written


def test_help_says_where_the_log_is(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "libchat_tui.cli", "--help"], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "LIBCHAT_LOG_DIR": str(tmp_path / "my logs"),
                                 "COLUMNS": "500"})  # a path is not broken across lines
    flat = " ".join(result.stdout.split())
    assert f"{tmp_path / 'my logs' / 'libchat-tui.log'}" in flat and "LIBCHAT_LOG_DIR" in flat, flat
    assert "stderr" in flat


def test_the_log_file_is_capped(tmp_path: Path) -> None:
    handler = cli.log_file_handler(tmp_path)
    logger = logging.getLogger("libchat_tui.test-log-cap")
    logger.propagate = False
    try:
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        assert 0 < handler.maxBytes <= 10_000_000 and 1 <= handler.backupCount <= 10
        logger.addHandler(handler)
        for _ in range(200):
            logger.warning("x" * (handler.maxBytes // 50))
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = list(tmp_path.iterdir())
    assert 1 < len(files) <= 1 + handler.backupCount
    assert all(f.stat().st_size <= handler.maxBytes for f in files)


# -- the librarian's name when the account is root -------------------------------------------------


def test_plain_mode_as_root_is_librarian_and_says_once_how_to_set_a_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    monkeypatch.delenv("LIBCHAT_TOKEN", raising=False)
    names: list[str] = []

    async def run_plain(settings: Settings, *, name: str | None, **_: object) -> int:
        names.append(name or settings.librarian.name)
        return 0

    monkeypatch.setattr("libchat_tui.plain.run_plain", run_plain)
    settings = load_settings(tmp_path / "config.toml", env={})
    argv = ["--plain", "--server", "ws://127.0.0.1:9", "--token", "t", "--data-dir", str(tmp_path / "d")]
    assert cli.plain_command(cli.build_parser().parse_args(argv), settings) == 0
    first = capsys.readouterr().out
    assert cli.plain_command(cli.build_parser().parse_args(argv), settings) == 0
    second = capsys.readouterr().out
    assert names == ["Librarian", "Librarian"]
    assert "Root" not in first + second
    assert "--name" in first and "[librarian]" in first and str(tmp_path / "config.toml") in first
    assert second == ""  # told once, not at every start
