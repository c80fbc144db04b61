"""Raw WebSocket peers for backend tests: a librarian and a patron speaking JSON frames.

Deliberately independent of libchat_tui.client, so the server is tested against the
protocol as documented, not against our own client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

_ids = itertools.count(1)
TIMEOUT = 5.0


class Peer:
    """A connection that sorts incoming frames into replies (by id) and events."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[dict[str, Any]] = []
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._orphans: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] in ("ack", "error"):
                    fut = self._replies.pop(str(frame.get("id")), None)
                    if fut is not None:
                        fut.set_result(frame)
                    else:
                        self._orphans.append(frame)
                else:
                    self.seen.append(frame)
                    await self.events.put(frame)
        except Exception:  # the connection went away; pending waits time out
            pass

    async def raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command and return its ack or error frame."""
        cid = fields.pop("id", None) or f"t{next(_ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[cid] = fut
        await self.ws.send(json.dumps({"type": type_, "id": cid, **fields}))
        return await asyncio.wait_for(fut, TIMEOUT)

    async def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        reply = await self.request(type_, **fields)
        assert reply["type"] == "ack", reply
        return dict(reply["result"])

    async def orphan(self) -> dict[str, Any]:
        """The next reply that had no usable id (for malformed frames)."""
        async with asyncio.timeout(TIMEOUT):
            while not self._orphans:
                await asyncio.sleep(0.005)
        return self._orphans.pop(0)

    async def next_event(self, type_: str | None = None, **match: Any) -> dict[str, Any]:
        """Wait for the next event of a type whose fields (or nested chat/message) match."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = await self.events.get()
                if type_ is not None and frame["type"] != type_:
                    continue
                body = frame.get("chat") or frame.get("message") or frame
                if all(body.get(k) == v or frame.get(k) == v for k, v in match.items()):
                    return frame

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


async def librarian(url: str, token: str, name: str = "Ana", lib_id: str | None = None,
                    since: int | None = None) -> tuple[Peer, dict[str, Any]]:
    ws = await connect(f"{url}/librarian", additional_headers={"Authorization": f"Bearer {token}"})
    peer = Peer(ws)
    hello = await peer.ok("hello", protocol=1, librarian_id=lib_id or f"id-{name}", name=name,
                          since=since)
    await peer.next_event("synced")
    return peer, hello


async def patron(url: str) -> Peer:
    return Peer(await connect(f"{url}/patron"))


async def join(url: str, name: str = "Maya", question: str = "Is the library open on Sunday?",
               email: str | None = None) -> tuple[Peer, dict[str, Any]]:
    peer = await patron(url)
    result = await peer.ok("join", name=name, email=email, question=question)
    return peer, result
