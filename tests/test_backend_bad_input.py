"""Bad input over real sockets: a specific error, the connection still usable, nothing stored."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from desk_ids import desk_id
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wire import Peer, join, librarian, patron

from libchat_tui.backend.runtime import Backend


def _counts(backend: Backend) -> dict[str, int]:
    conn = sqlite3.connect(backend.data_dir / "desk.sqlite3")
    try:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("chats", "messages", "state_events", "notes", "tickets", "analytics", "events")
        }
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2, 3]", "bad_frame"),
        ('"just a string"', "bad_frame"),
        ('{"id": "x1"}', "bad_frame"),
        ('{"type": 7, "id": "x1"}', "bad_frame"),
        ('{"type": "fly", "id": "x1"}', "unknown_type"),
        ('{"type": "accept", "id": "x1"}', "invalid_field"),
        ('{"type": "accept", "id": "x1", "chat_id": "4"}', "invalid_field"),
        ('{"type": "accept", "id": "x1", "chat_id": true}', "invalid_field"),
        ('{"type": "accept", "id": "x1", "chat_id": -3}', "invalid_field"),
        ('{"type": "accept", "id": "x1", "chat_id": 99999}', "unknown_chat"),
        ('{"type": "accept", "chat_id": 1}', "invalid_field"),
        ('{"type": "send", "id": "x1", "chat_id": 1, "text": "   "}', "empty_text"),
        ('{"type": "create_ticket", "id": "x1", "chat_id": 1, "name": "M", "email": "no-at-sign",'
         ' "subject": "s", "body": ""}', "invalid_email"),
        ('{"type": "tickets", "id": "x1", "status": "maybe"}', "invalid_field"),
        ('{"type": "stats", "id": "x1", "day": "yesterday"}', "invalid_field"),
        ('{"type": "hello", "id": "x1", "protocol": 1, "librarian_id": "a", "name": "b"}',
         "invalid_field"),
    ],
)
async def test_librarian_bad_frames_get_specific_errors(backend: Backend, frame: str, code: str) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    _pat, joined = await join(backend.url)
    before = _counts(backend)
    await lib.raw(frame)
    reply = await lib.orphan() if '"id": "x1"' not in frame else await _reply(lib, "x1")
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["message"]
    assert _counts(backend) == before
    # The connection stays usable.
    assert (await lib.ok("accept", chat_id=desk_id(backend, joined)))["chat"]["state"] == "active"


async def _reply(peer: Peer, cid: str) -> dict:  # type: ignore[type-arg]
    fut = asyncio.get_running_loop().create_future()
    peer._replies[cid] = fut
    return await asyncio.wait_for(fut, 5)


async def test_illegal_transitions_name_state_and_action(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    _pat, joined = await join(backend.url)
    chat_id = desk_id(backend, joined)
    before = _counts(backend)
    refused = await lib.request("close", chat_id=chat_id)
    assert refused["code"] == "illegal_transition"
    assert "waiting" in refused["message"] and "close" in refused["message"]
    assert (await lib.request("end", chat_id=chat_id))["code"] == "illegal_transition"
    assert (await lib.request("send", chat_id=chat_id, text="hi"))["code"] == "illegal_transition"
    assert _counts(backend) == before


async def test_oversized_frame_closes_with_1009_and_server_keeps_serving(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    big = await connect(f"{backend.url}/patron", max_size=None)
    await big.send(json.dumps({"type": "join", "id": "j", "name": "X", "question": "q" * 70_000}))
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(big.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    _pat, joined = await join(backend.url)
    await lib.next_event("chat", id=desk_id(backend, joined))


async def test_too_long_text_is_refused(backend: Backend) -> None:
    pat = await patron(backend.url)
    reply = await pat.request("join", name="M", email=None, question="q" * 2_001)
    assert reply["code"] == "too_long" and "2000" in reply["message"]
    reply = await pat.request("join", name="M", email="bad@", question="q")
    assert reply["code"] == "invalid_email"
    assert _counts(backend)["chats"] == 0


async def test_patron_commands_before_join_and_bad_resume(backend: Backend) -> None:
    pat = await patron(backend.url)
    assert (await pat.request("message", text="hello?"))["code"] == "not_joined"
    assert (await pat.request("resume", token="nope", last_message_id=0))["code"] == "bad_resume_token"
    assert (await pat.request("accept", chat_id=1))["code"] == "unknown_type"  # not a patron command
    await pat.ok("join", name="M", email=None, question="q")
    assert (await pat.request("join", name="M", email=None, question="q"))["code"] == "already_joined"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-token"}])
async def test_wrong_or_missing_token_is_401(backend: Backend, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{backend.url}/librarian", additional_headers=headers)
    assert info.value.response.status_code == 401
    assert info.value.response.body in (b"", b"Unauthorized.\n")


async def test_browser_origin_is_refused_and_unknown_path_404(backend: Backend) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{backend.url}/librarian", origin="http://evil.example",  # type: ignore[arg-type]
                      additional_headers={"Authorization": f"Bearer {backend.token}"})
    assert info.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{backend.url}/admin")
    assert info.value.response.status_code == 404


async def test_first_frame_must_be_hello_and_protocol_version_checked(backend: Backend) -> None:
    headers = {"Authorization": f"Bearer {backend.token}"}
    async with connect(f"{backend.url}/librarian", additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "accept", "id": "a", "chat_id": 1}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "hello_required"
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4002
    async with connect(f"{backend.url}/librarian", additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "hello", "id": "h", "protocol": 99, "librarian_id": "a",
                                  "name": "A"}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "protocol_version"
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001


async def test_patron_flood_is_rate_limited(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token)
    pat, joined = await join(backend.url)
    await lib.ok("accept", chat_id=desk_id(backend, joined))
    replies = await asyncio.gather(*(pat.request("message", text=f"m{i}") for i in range(30)))
    codes = [r.get("code") for r in replies if r["type"] == "error"]
    assert codes and set(codes) == {"rate_limited"}
    assert "too fast" in next(r["message"] for r in replies if r["type"] == "error")
