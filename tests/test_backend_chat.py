"""A whole chat over real sockets: join, accept, talk, end, close; two librarians; grace."""

from __future__ import annotations

import asyncio
import sqlite3

from desk_ids import desk_id
from wire import join, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend


async def test_whole_chat_from_join_to_close(backend: Backend) -> None:
    lib, hello = await librarian(backend.url, backend.token)
    assert hello["mode"] == "snapshot" and hello["grace_seconds"] == 60
    assert "Chat" in hello["datasets"]

    pat, joined = await join(backend.url, question="Can I renew a book online?")
    chat_id = desk_id(backend, joined)
    assert joined["state"] == "waiting" and len(joined["resume_token"]) >= 40
    created = await lib.next_event("chat", id=chat_id)
    assert created["chat"]["state"] == "waiting"
    first = await lib.next_event("message", chat_id=chat_id)
    assert first["message"]["sender"] == "patron"
    assert first["message"]["text"] == "Can I renew a book online?"

    accepted = await lib.ok("accept", chat_id=chat_id)
    assert accepted["chat"]["state"] == "active"
    assert accepted["chat"]["owner"]["name"] == "Ana"
    told = await pat.next_event("state")
    assert told["state"] == "active" and "Ana joined" in told["text"]

    await lib.ok("send", chat_id=chat_id, text="Yes: My Account, then Renew.")
    got = await pat.next_event("message")
    assert got["message"]["text"] == "Yes: My Account, then Renew."
    assert got["message"]["sender"] == "librarian"

    await pat.ok("message", text="Thanks!")
    heard = await lib.next_event("message", sender="patron", text="Thanks!")
    assert heard["message"]["chat_id"] == chat_id

    ended = await lib.ok("end", chat_id=chat_id)
    change = ended["chat"]["last_change"]
    assert ended["chat"]["state"] == "ended"
    assert change["action"] == "end_by_librarian" and change["by"]["name"] == "Ana"
    assert change["at"] is not None
    assert (await pat.next_event("state"))["state"] == "ended"

    closed = await lib.ok("close", chat_id=chat_id)
    assert closed["chat"]["state"] == "closed"
    assert chat_id not in backend.desk.chats

    transcript = await lib.ok("transcript", chat_id=chat_id)
    texts = [m["text"] for m in transcript["messages"]]
    assert texts[0] == "Can I renew a book online?"
    assert "Chat accepted by Ana" in texts and "Chat ended by Ana" in texts
    assert "Chat closed by Ana" in texts

    # Sequence numbers increase by one per event.
    seqs = [f["seq"] for f in lib.seen if "seq" in f and f["type"] not in ("snapshot", "synced")]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    await lib.close()
    await pat.close()


async def test_patron_ends_chat_and_missed_chat(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url)
    left = await pat.ok("leave")
    assert left["state"] == "ended"
    event = await lib.next_event("chat", id=desk_id(backend, joined), state="ended")
    change = event["chat"]["last_change"]
    assert change["action"] == "end_by_patron" and change["by"]["kind"] == "patron"
    assert event["chat"]["accepted_at"] is None  # a missed chat


async def test_two_librarians_see_the_same_events_and_one_wins_accept(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, "Ana")
    ben, _ = await librarian(backend.url, backend.token, "Ben")
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await ana.next_event("chat", id=chat_id)
    await ben.next_event("chat", id=chat_id)

    first = await ana.request("accept", chat_id=chat_id)
    second = await ben.request("accept", chat_id=chat_id)
    assert first["type"] == "ack"
    assert second["type"] == "error" and second["code"] == "already_accepted"
    assert "Ana" in second["message"]
    for peer in (ana, ben):
        event = await peer.next_event("chat", id=chat_id, state="active")
        assert event["chat"]["owner"]["name"] == "Ana"
    refused = await ben.request("send", chat_id=chat_id, text="hi")
    assert refused["code"] == "not_owner"


async def test_resume_within_grace_and_expiry_into_disconnected(
    backend: Backend, clock: FakeClock
) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    await pat.next_event("state")

    pat.ws.transport.abort()  # the patron's connection drops
    event = await lib.next_event("chat", id=chat_id, state="reconnecting")
    assert event["chat"]["grace_deadline"] is not None
    # A message sent while the patron is away is kept for them.
    sent = await lib.ok("send", chat_id=chat_id, text="Are you still there?")

    await clock.advance(30)
    back, resumed = await _resume(backend, joined["resume_token"], 0)
    assert resumed["state"] == "active"
    assert [m["text"] for m in resumed["messages"]] == ["Are you still there?"]
    assert resumed["messages"][0]["id"] == sent["message"]["id"]
    await lib.next_event("message", text="Patron reconnected")

    back.ws.transport.abort()
    await lib.next_event("chat", id=chat_id, state="reconnecting")
    await clock.advance(59)
    assert backend.desk.chats[chat_id].state.value == "reconnecting"
    await clock.advance(2)
    gone = await lib.next_event("chat", id=chat_id, state="disconnected")
    assert gone["chat"]["ticket_offered"] is True
    assert gone["chat"]["last_change"]["by"]["kind"] == "system"

    # The patron comes back too late: offered a ticket, which arrives linked to the chat.
    late, info = await _resume(backend, joined["resume_token"], resumed["messages"][-1]["id"])
    assert info["state"] == "disconnected" and info["ticket_offered"] is True
    ticket = await late.ok("ticket", email="maya@example.edu", details="Still need the hours.")
    arrived = await lib.next_event("ticket")
    assert arrived["ticket"]["id"] == ticket["ticket_id"]
    assert arrived["ticket"]["chat_id"] == chat_id and arrived["ticket"]["source"] == "patron"
    updated = await lib.next_event("chat", id=chat_id)
    assert updated["chat"]["patron_ticket_id"] == ticket["ticket_id"]
    again = await late.request("ticket", email="maya@example.edu", details="")
    assert again["code"] == "no_ticket_offer"


async def _resume(backend: Backend, token: str, last: int) -> tuple[object, dict]:  # type: ignore[type-arg]
    from wire import patron

    peer = await patron(backend.url)
    return peer, await peer.ok("resume", token=token, last_message_id=last)


async def test_backend_restart_restores_open_chats_and_patron_resumes(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    first = Backend(data_dir=data, clock=clock, token="t")
    await first.start()
    lib, _ = await librarian(first.url, "t")
    _pat, joined = await join(first.url)
    chat_id = desk_id(first, joined)
    await lib.ok("accept", chat_id=chat_id)
    await lib.ok("send", chat_id=chat_id, text="One moment please.")
    _, waiting = await join(first.url, name="Sam", question="Where is the printer?")
    waiting_id = desk_id(first, waiting)
    await lib.close()
    await first.stop()

    second = Backend(data_dir=data, clock=clock, token="t")
    await second.start()
    try:
        restored = second.desk.chats
        assert restored[chat_id].state.value == "reconnecting"
        assert restored[waiting_id].state.value == "reconnecting"
        assert restored[chat_id].owner is not None and restored[chat_id].owner.name == "Ana"
        _peer, resumed = await _resume(second, joined["resume_token"], 0)
        assert resumed["state"] == "active"
        assert [m["text"] for m in resumed["messages"]] == ["One moment please."]
        _, back = await _resume(second, waiting["resume_token"], 0)
        assert back["state"] == "waiting"  # nobody had accepted it yet
    finally:
        await second.stop()
    conn = sqlite3.connect(data / "desk.sqlite3")
    actions = [r[0] for r in conn.execute(
        "SELECT action FROM state_events WHERE chat_id=? ORDER BY id", (chat_id,))]
    assert actions == ["accept", "connection_lost", "resume"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_librarian_resumes_from_sequence_number(backend: Backend) -> None:
    lib, hello = await librarian(backend.url, backend.token)
    start = hello["seq"]
    await lib.close()
    _pat, joined = await join(backend.url)
    again, hello2 = await librarian(backend.url, backend.token, since=start)
    assert hello2["mode"] == "replay"
    replayed = [f for f in again.seen if f["type"] in ("chat", "message")]
    assert [f["seq"] for f in replayed] == list(range(start + 1, start + 1 + len(replayed)))
    assert replayed[0]["chat"]["id"] == desk_id(backend, joined)
    synced = next(f for f in again.seen if f["type"] == "synced")
    assert synced["mode"] == "replay" and synced["seq"] == replayed[-1]["seq"]
    # A client ahead of the desk (e.g. a replaced database) gets a snapshot instead.
    ahead, hello3 = await librarian(backend.url, backend.token, since=10_000)
    assert hello3["mode"] == "snapshot"
    snap = next(f for f in ahead.seen if f["type"] == "snapshot")
    assert [c["id"] for c in snap["chats"]] == [desk_id(backend, joined)]


async def test_idempotent_retry_returns_the_original_ack(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    first = await lib.ok("send", id="msg-1", chat_id=chat_id, text="Hello")
    again = await lib.ok("send", id="msg-1", chat_id=chat_id, text="Hello", retry=True)
    assert again == first
    await lib.ok("end", id="end-1", chat_id=chat_id)
    # Retrying an end that was committed gives the original ack, not an illegal transition.
    assert (await lib.request("end", id="end-1", chat_id=chat_id, retry=True))["type"] == "ack"
    transcript = await lib.ok("transcript", chat_id=chat_id)
    assert [m["text"] for m in transcript["messages"]].count("Hello") == 1


async def test_old_connection_closing_late_does_not_undo_a_resume(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    old, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    # The patron resumes on a new socket while the old one is not yet noticed dead.
    new, resumed = await _resume(backend, joined["resume_token"], 0)
    assert resumed["state"] == "active"
    await old.close()
    await asyncio.sleep(0.1)
    assert backend.desk.chats[chat_id].state.value == "active"
    await lib.ok("send", chat_id=chat_id, text="Still here for you")
    got = await new.next_event("message")  # type: ignore[attr-defined]
    assert got["message"]["text"] == "Still here for you"


async def test_late_patron_gets_the_ticket_offer_text(backend: Backend, clock: FakeClock) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url)
    await lib.ok("accept", chat_id=desk_id(backend, joined))
    pat.ws.transport.abort()
    await lib.next_event("chat", id=desk_id(backend, joined), state="reconnecting")
    await clock.advance(61)
    await lib.next_event("chat", id=desk_id(backend, joined), state="disconnected")
    late, info = await _resume(backend, joined["resume_token"], 0)
    assert info["ticket_offered"] is True
    offer = await late.next_event("ticket_offer")  # type: ignore[attr-defined]
    assert "e-mail" in offer["text"]
