"""Fault injection: a write that fails mid-command leaves no partial state anywhere."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from desk_ids import desk_id
from wire import join, librarian

from libchat_tui.backend.runtime import Backend
from libchat_tui.backend.store import Outcome, Tx


def _snapshot(backend: Backend) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    conn = sqlite3.connect(backend.data_dir / "desk.sqlite3")
    try:
        return {t: conn.execute(f"SELECT * FROM {t}").fetchall()
                for t in ("chats", "messages", "state_events", "notes", "tickets", "events", "commands")}
    finally:
        conn.close()


async def test_failing_statement_mid_command_changes_nothing(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    before = _snapshot(backend)
    memory = backend.desk.chats[chat_id]
    seq = backend.store.last_seq

    def fail_on_event(sql: str) -> None:  # the message row is written, then the event fails
        if sql.startswith("INSERT INTO events"):
            raise sqlite3.OperationalError("disk I/O error (injected)")

    backend.store.fault_hook = fail_on_event
    reply = await lib.request("send", chat_id=chat_id, text="This must not be half-saved")
    assert reply["type"] == "error" and reply["code"] == "storage_error"
    reply = await lib.request("end", chat_id=chat_id)
    assert reply["code"] == "storage_error"
    assert _snapshot(backend) == before
    assert backend.desk.chats[chat_id] == memory
    assert backend.store.last_seq == seq

    backend.store.fault_hook = None
    sent = await lib.ok("send", chat_id=chat_id, text="Now it works")
    event = await lib.next_event("message", text="Now it works")
    assert event["seq"] == seq + 1  # the failed commands gave their numbers back
    assert event["message"]["id"] == sent["message"]["id"]
    # The idempotency record of a failed command was rolled back too: a retry runs it.
    ended = await lib.ok("end", chat_id=chat_id)
    assert ended["chat"]["state"] == "ended"


async def test_failed_commit_fails_the_batch_and_keeps_serving(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    _pat, joined = await join(backend.url)
    before = _snapshot(backend)
    calls = {"n": 0}

    def fail_first(sql: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("database is locked (injected)")

    backend.store.fault_hook = fail_first
    reply = await lib.request("note", chat_id=desk_id(backend, joined), text="Follow up about ILL")
    assert reply["code"] == "storage_error" and "nothing was changed" in reply["message"]
    assert _snapshot(backend) == before
    note = await lib.ok("note", chat_id=desk_id(backend, joined), text="Follow up about ILL")
    assert note["note"]["text"] == "Follow up about ILL"


async def test_a_full_database_fails_the_write_naming_the_disk_and_recovers(backend: Backend) -> None:
    """A real SQLITE_FULL: the writer's connection is capped at the pages it has (max_page_count)."""
    lib, _ = await librarian(backend.url, backend.token)
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    before = _snapshot(backend)

    def cap(pages: str) -> Callable[[Tx], Outcome]:
        def work(tx: Tx) -> Outcome:
            tx.execute(f"PRAGMA max_page_count = {pages}")
            return Outcome()

        return work

    await backend.store.write(cap(str(await _page_count(backend))))
    reply = await lib.request("note", chat_id=chat_id, text="Follow up about ILL. " + "x" * 9000)
    assert reply["code"] == "storage_error" and "nothing was changed" in reply["message"]
    assert "full" in reply["message"] and "bytes free" in reply["message"]
    assert str(backend.data_dir) in reply["message"]  # which disk to free
    assert "database or disk is full" not in reply["message"]  # SQLite's words, not ours
    assert _snapshot(backend) == before

    await backend.store.write(cap("1073741823"))  # room again: the desk saves again
    note = await lib.ok("note", chat_id=chat_id, text="Follow up about ILL. " + "x" * 9000)
    assert note["note"]["text"].startswith("Follow up about ILL.")


async def _page_count(backend: Backend) -> int:
    return int(await backend.store.read(lambda conn: conn.execute("PRAGMA page_count").fetchone()[0]))
