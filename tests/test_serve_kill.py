"""SIGKILL `libchat-tui serve` mid-traffic, restart it: every acknowledged write is there once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from pathlib import Path

from wire import join, librarian, patron


async def _start_serve(tmp: Path) -> tuple[asyncio.subprocess.Process, str, str]:
    env = {**os.environ, "LIBCHAT_CONFIG": str(tmp / "config.toml")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0",
        "--data-dir", str(tmp / "data"), "--grace", "120",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "serve exited before printing its URL"
            found = re.search(r"desk at (ws://\S+?)\s", line)
            if found:
                url = found.group(1)
                break
    token = (tmp / "token").read_text().strip()
    return proc, url, token


async def test_sigkill_mid_traffic_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    proc, url, token = await _start_serve(tmp_path)
    assert oct((tmp_path / "token").stat().st_mode & 0o777) == "0o600"
    try:
        lib, _ = await librarian(url, token, lib_id="ana")
        pat, joined = await join(url)
        chat_id = joined["chat_id"]
        await lib.ok("accept", chat_id=chat_id)

        acked: list[str] = []

        async def talk() -> None:
            for i in range(2000):
                reply = await lib.request("send", id=f"m{i}", chat_id=chat_id, text=f"line {i}")
                assert reply["type"] == "ack"
                acked.append(f"line {i}")

        talker = asyncio.create_task(talk())
        async with asyncio.timeout(20):
            while len(acked) < 50:
                await asyncio.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        with contextlib.suppress(Exception):  # the socket died under it
            await talker
        assert 50 <= len(acked) < 2000
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    proc, url, token = await _start_serve(tmp_path)
    try:
        lib2, _ = await librarian(url, token, lib_id="ana")
        transcript = await lib2.ok("transcript", chat_id=chat_id)
        lines = [m["text"] for m in transcript["messages"] if m["sender"] == "librarian"]
        assert lines[: len(acked)] == acked  # every acknowledged message, in order
        assert len(lines) == len(set(lines))  # none twice
        assert transcript["chat"]["state"] == "reconnecting"
        # A retried command that had committed is not applied twice.
        first_id = "m0"
        again = await lib2.request("send", id=first_id, chat_id=chat_id, text="line 0", retry=True)
        assert again["type"] == "ack"
        # The patron resumes within grace and carries on.
        back = await patron(url)
        resumed = await back.ok("resume", token=joined["resume_token"], last_message_id=0)
        assert resumed["state"] == "active"
        assert [m["text"] for m in resumed["messages"]] == lines
        transcript = await lib2.ok("transcript", chat_id=chat_id)
        assert [m["text"] for m in transcript["messages"]].count("line 0") == 1
        await pat.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            await proc.wait()
        assert proc.returncode == 0
