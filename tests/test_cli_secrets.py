"""The command line keeps secrets out of `ps` and says plainly what is wrong (issues 11, 12)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from libchat_tui import cli


def run_cli(*args: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "LIBCHAT_CONFIG": str(tmp / "config.toml"), **env}
    environ.pop("LIBCHAT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "libchat_tui.cli", *args], capture_output=True,
                          text=True, timeout=60, env=environ, stdin=subprocess.DEVNULL)


def test_a_generated_token_never_starts_with_a_dash() -> None:
    tokens = [cli.new_token() for _ in range(2000)]  # about 30 would start with "-" otherwise
    assert not any(t.startswith("-") for t in tokens)
    assert all(len(t) >= 43 for t in tokens)


def test_a_token_file_readable_by_others_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret-token\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert cli.read_token_file(path) == "s3cret-token"
    assert "can be read by other users" in caplog.text and "chmod 600" in caplog.text
    assert "s3cret-token" not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        cli.read_token_file(path)
    assert caplog.text == ""


def test_a_server_address_without_a_scheme_is_one_clear_line(tmp_path: Path) -> None:
    out = run_cli("--server", "localhost:8765", tmp=tmp_path, LIBCHAT_TOKEN="t")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "ws://" in out.stderr and "localhost:8765" in out.stderr


@pytest.mark.parametrize("grace", ["2", "4000"])
def test_grace_outside_what_the_settings_allow_is_refused(tmp_path: Path, grace: str) -> None:
    out = run_cli("serve", "--grace", grace, "--port", "0", "--data-dir", str(tmp_path / "d"), tmp=tmp_path)
    assert out.returncode == 2 and "between 5 and 3600" in out.stderr


def test_libanswers_check_without_the_section_says_where_to_add_it(tmp_path: Path) -> None:
    out = run_cli("libanswers", "check", tmp=tmp_path)
    assert out.returncode == 2
    assert "no [libanswers] section" in out.stderr and "docs/libanswers.md" in out.stderr


def test_a_token_on_the_command_line_is_warned_about(tmp_path: Path) -> None:
    token_file = tmp_path / "tok"
    token_file.write_text("abc\n")
    token_file.chmod(0o600)
    # --plain against a desk that is not there: it fails to connect, but it got past the token.
    out = run_cli("--plain", "--server", "ws://127.0.0.1:9", "--token", "abc", tmp=tmp_path, TERM="dumb")
    assert "visible to other local users" in out.stderr
    out = run_cli("--plain", "--server", "ws://127.0.0.1:9", "--token-file", str(token_file), tmp=tmp_path,
                  TERM="dumb")
    assert "visible to other local users" not in out.stderr
