"""Access: patrons reach nothing of the librarian's; logins and connections are bounded."""

from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
from desk_ids import desk_id
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from wire import join, librarian, patron

from libchat_tui.backend import server as server_module
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits


async def test_patron_never_receives_notes_tickets_analytics_or_other_chats(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url, name="Maya", email="maya@example.edu")
    other, other_joined = await join(backend.url, name="Sam", question="Other question")
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    await lib.ok("accept", chat_id=desk_id(backend, other_joined))
    await lib.ok("note", chat_id=chat_id, text="SECRET-NOTE while active")
    await lib.ok("send", chat_id=chat_id, text="public reply")
    await lib.ok("send", chat_id=desk_id(backend, other_joined), text="SECRET-OTHER-CHAT")
    await lib.ok("create_ticket", chat_id=chat_id, name="Maya", email="maya@example.edu",
                 subject="SECRET-TICKET", body="body")
    await lib.ok("save_analytics", chat_id=chat_id, dataset="Chat",
                 fields={"question_type": "reference", "read_scale": 2, "answer_summary": "SECRET-RA"})
    await lib.ok("end", chat_id=chat_id)
    await lib.ok("note", chat_id=chat_id, text="SECRET-NOTE after end")
    await pat.next_event("state", state="ended")
    # Everything the patron's socket received, byte for byte.
    received = json.dumps(pat.seen)
    assert "public reply" in received
    for secret in ("SECRET-NOTE", "SECRET-OTHER-CHAT", "SECRET-TICKET", "SECRET-RA", "note", "ticket"):
        assert secret not in received, secret
    # A patron cannot call librarian commands.
    for kind in ("note", "history", "tickets", "accept", "end"):
        reply = await other.request(kind, chat_id=chat_id, text="x")
        assert reply["code"] in ("unknown_type", "invalid_field"), reply
    # `transcript` on /patron is the patron's own copy, whatever chat id is asked for.
    copy = json.dumps(await other.ok("transcript", chat_id=chat_id))
    assert "SECRET-OTHER-CHAT" in copy  # theirs
    for secret in ("public reply", "SECRET-NOTE", "SECRET-TICKET", "SECRET-RA"):
        assert secret not in copy, secret


async def test_resume_tokens_are_long_random_and_bound_to_one_chat(backend: Backend) -> None:
    _a, first = await join(backend.url)
    _b, second = await join(backend.url)
    assert first["resume_token"] != second["resume_token"]
    assert len(first["resume_token"]) >= 40
    thief = await patron(backend.url)
    guess = first["resume_token"][:-1] + ("A" if first["resume_token"][-1] != "A" else "B")
    assert (await thief.request("resume", token=guess, last_message_id=0))["code"] == "bad_resume_token"


async def test_resume_token_stops_working_when_the_chat_is_closed(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url)
    await pat.ok("leave")
    await lib.ok("close", chat_id=desk_id(backend, joined))
    late = await patron(backend.url)
    reply = await late.request("resume", token=joined["resume_token"], last_message_id=0)
    assert reply["code"] == "bad_resume_token"


async def test_repeated_login_failures_are_slowed_then_refused(backend: Backend) -> None:
    statuses = []
    for _ in range(server_module.LOGIN_FAILURES_ALLOWED + 1):
        with pytest.raises(InvalidStatus) as info:
            await connect(f"{backend.url}/librarian", additional_headers={"Authorization": "Bearer x"})
        statuses.append(info.value.response.status_code)
    assert statuses[:-1] == [401] * server_module.LOGIN_FAILURES_ALLOWED
    assert statuses[-1] == 429
    # Even the right token is refused from that address for a while.
    with pytest.raises(InvalidStatus):
        await connect(f"{backend.url}/librarian",
                      additional_headers={"Authorization": f"Bearer {backend.token}"})


async def test_patron_connections_per_address_are_capped(backend: Backend) -> None:
    backend.server.limits = Limits()  # the defaults (the fixture lifts per-address counts)
    cap = server_module.MAX_PATRONS_PER_ADDRESS
    held = [await connect(f"{backend.url}/patron") for _ in range(cap)]
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{backend.url}/patron")
    assert info.value.response.status_code == 429
    await held[0].close()
    await asyncio.sleep(0.05)
    again = await connect(f"{backend.url}/patron")
    await again.close()
    for ws in held[1:]:
        await ws.close()


def test_database_and_data_dir_are_owner_only(backend: Backend) -> None:
    db = backend.data_dir / "desk.sqlite3"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(backend.data_dir).st_mode) == 0o700
