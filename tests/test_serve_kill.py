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
        chat_id = (await lib.next_event("chat", state="waiting"))["chat"]["id"]  # the desk's id
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


async def test_sigkill_mid_patron_traffic_every_acked_patron_message_is_stored_once(tmp_path: Path) -> None:
    """The patron side has the librarians' contract: a resend after a lost ack is applied once."""
    proc, url, token = await _start_serve(tmp_path)
    sent: list[str] = []  # ids sent, in order (the last few may have no ack)
    acked: list[str] = []
    try:
        lib, _ = await librarian(url, token, lib_id="ana")
        pat, joined = await join(url)
        chat_id = (await lib.next_event("chat", state="waiting"))["chat"]["id"]  # the desk's id
        await lib.ok("accept", chat_id=chat_id)

        async def talk() -> None:
            for i in range(2000):
                sent.append(f"p{i}")
                reply = await pat.request("message", id=f"p{i}", text=f"patron line {i}")
                if reply["type"] == "error" and reply["code"] == "rate_limited":
                    sent.pop()
                    await asyncio.sleep(0.2)
                    continue
                assert reply["type"] == "ack", reply
                acked.append(f"p{i}")

        talker = asyncio.create_task(talk())
        async with asyncio.timeout(30):
            while len(acked) < 15:
                await asyncio.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        with contextlib.suppress(Exception):
            await talker
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    proc, url, token = await _start_serve(tmp_path)
    try:
        back = await patron(url)
        resumed = await back.ok("resume", token=joined["resume_token"], last_message_id=0)
        assert resumed["state"] == "active"
        # The client does not know whether its last messages were stored: it resends every
        # unacknowledged one with the same id, marked retry, as PatronSession.resume() does.
        for cid in [c for c in sent if c not in acked] + acked[-3:]:
            n = cid[1:]
            reply = await back.request("message", id=cid, text=f"patron line {n}", retry=True)
            assert reply["type"] == "ack", reply
        lib2, _ = await librarian(url, token, lib_id="ana")
        transcript = await lib2.ok("transcript", chat_id=chat_id)
        lines = [m["text"] for m in transcript["messages"] if m["sender"] == "patron"][1:]  # not the question
        assert lines == [f"patron line {c[1:]}" for c in sent]  # every one, in order, once
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            await proc.wait()
        assert proc.returncode == 0
