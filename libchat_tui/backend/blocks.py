"""Dismissing spam and blocking patrons: the door check, the blocks list.

`dismiss` closes a chat nobody accepted, with the reason kept on the chat. `block` ends
the patron's chat and, in the same transaction, records a block on the address and the
browser the chat came from (`chat_origins`, written with the chat at `join`). Until the
block expires or is lifted, `join` and `offline_ticket` from that address or browser are
refused at the door with `blocked`; a `resume` of the ended chat still works.

The door asks an in-memory index of the blocks in force (`BlockIndex`, loaded when the
desk starts and changed only after a commit), never the database: anonymous patrons are
the internet, and a refused join must cost next to nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..domain import (
    Act,
    Action,
    Actor,
    Chat,
    ChatState,
    DomainError,
    Sender,
    Transition,
    check,
    iso,
    parse_ts,
)
from . import rows
from .store import Outcome, Store, Tx

if TYPE_CHECKING:
    from .desk import Desk, Idem
    from .server import DeskServer, LibrarianConnection

#: What the patron is told (no librarian's name: the library did it).
PATRON_TEXTS = {
    Action.DISMISS: "This chat was closed by the library.",
    Action.BLOCK: "The library has ended this chat.",
}
#: What a blocked patron is told at the door.
REFUSED = "This chat service is not available to you right now. Please e-mail the library."
#: The most blocks `blocks` lists (newest first).
MAX_LISTED = 500
_COLUMNS = ("id, chat_id, patron_name, address, client_id, reason, created_by, created_at, until, "
            "lifted_at, lifted_by")


def one_line(reason: str) -> str:
    """A reason as one line: runs of white space (line breaks included) become one space."""
    return " ".join(reason.split())


def span(minutes: int) -> str:
    """A block's length as a person says it: "1 hour", "90 minutes", "7 days"."""
    for size, unit in ((24 * 60, "day"), (60, "hour")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- the door ------------------------------------------------------------------------


class BlockIndex:
    """The blocks in force, by address and by browser id, for the door check.

    Changed only after a commit (`add`, `lift`); an expired block is forgotten the first
    time the door meets it, so the index never outlives what the store says is in force.
    """

    def __init__(self) -> None:
        self._by_key: dict[str, dict[int, datetime]] = {}  # "a:<address>" / "c:<client>" -> {id: until}
        self._keys: dict[int, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    @staticmethod
    def _keys_of(address: str | None, client_id: str | None) -> tuple[str, ...]:
        client = browser_key(client_id)
        return tuple(k for k in (address and f"a:{address}", client and f"c:{client}") if k)

    def add(self, block_id: int, address: str | None, client_id: str | None, until: datetime) -> None:
        keys = self._keys_of(address, client_id)
        if not keys:
            return
        self._keys[block_id] = keys
        for key in keys:
            self._by_key.setdefault(key, {})[block_id] = until

    def lift(self, block_id: int) -> None:
        for key in self._keys.pop(block_id, ()):
            held = self._by_key.get(key)
            if held is not None:
                held.pop(block_id, None)
                if not held:
                    del self._by_key[key]

    def match(self, address: str | None, client_ids: tuple[str | None, ...], now: datetime) -> int | None:
        """The id of a block in force on this address or any of these browser ids, or None."""
        keys = [*self._keys_of(address, None), *(f"c:{key}" for c in client_ids if (key := browser_key(c)))]
        for key in keys:
            held = self._by_key.get(key)
            if not held:
                continue
            for block_id, until in list(held.items()):
                if until > now:
                    return block_id
                self.lift(block_id)  # expired: the door forgets it
        return None

    async def load(self, store: Store, now: datetime) -> int:
        """Fill the index from the store (at start); returns how many blocks are in force."""
        found = await store.read(lambda conn: _in_force(conn, now, limit=None))
        for block in found:
            until = parse_ts(block["until"])
            assert until is not None
            self.add(int(block["id"]), block["address"], block["client_id"], until)
        return len(found)


def browser_key(client_id: str | None) -> str | None:
    """A browser id as blocks compare it: trimmed and case-folded, so "AbC" cannot slip past a
    block on "abc" (the widget's ids are random hex; a patron can send any case)."""
    key = client_id.strip().casefold() if client_id else ""
    return key or None


def _usable(address: str | None) -> str | None:
    """An address worth recording ("?" is what the server says when it has none)."""
    return address if address and address != "?" else None


def record_origin(tx: Tx, chat_id: int, address: str | None, client_id: str | None) -> None:
    """Inside the write that made the chat: where its patron came from (for a block)."""
    tx.execute("INSERT OR REPLACE INTO chat_origins(chat_id, address, client_id) VALUES (?, ?, ?)",
               (chat_id, _usable(address), browser_key(client_id)))


def at_the_door(server: DeskServer, address: str, client_ids: tuple[str | None, ...]) -> None:
    """Refuse a new chat (or offline ticket) from a blocked address or browser: `blocked`."""
    desk = server.desk
    block_id = desk.blocks.match(_usable(address), client_ids, desk.clock.now())
    if block_id is not None:
        server.warn("blocked", address, "refused a new chat from %s: blocked (block %d)", address, block_id)
        raise DomainError(REFUSED, "blocked")


# --- rows ----------------------------------------------------------------------------


def _wire(row: tuple[Any, ...]) -> dict[str, Any]:
    """A block as librarians see it: the address, and whether the browser is known (its id
    stays on the desk)."""
    (block_id, chat_id, patron_name, address, client_id, reason, created_by, created_at, until,
     lifted_at, lifted_by) = row
    block = {"id": block_id, "chat_id": chat_id, "patron_name": patron_name, "address": address,
             "browser": client_id is not None, "reason": reason, "created_by": created_by,
             "created_at": created_at, "until": until}
    if lifted_at is not None:
        block.update(lifted_at=lifted_at, lifted_by=lifted_by)
    block["client_id"] = client_id  # dropped by `public()` before it leaves the desk
    return block


def public(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "client_id"}


def _in_force(conn: sqlite3.Connection, now: datetime,
              limit: int | None = MAX_LISTED) -> list[dict[str, Any]]:
    sql = (f"SELECT {_COLUMNS} FROM blocks WHERE lifted_at IS NULL AND until > ? ORDER BY id DESC"
           + ("" if limit is None else f" LIMIT {int(limit)}"))
    return [_wire(r) for r in conn.execute(sql, (iso(now),)).fetchall()]


def _load(tx: Tx, block_id: int) -> dict[str, Any] | None:
    row = tx.execute(f"SELECT {_COLUMNS} FROM blocks WHERE id=?", (block_id,)).fetchone()
    return None if row is None else _wire(row)


def _finish(tx: Tx, new: Chat, change: Transition, line: str, at: datetime, *,
            patron_connected: bool | None) -> Chat:
    """Store a dismiss or block as `Desk.transition` stores any change: the system line,
    the transition, the chat, and the `chat` and `message` events."""
    message = rows.insert_message(tx, new.id, Sender.SYSTEM, "", line, at)
    final = replace(new, message_count=new.message_count + 1)
    rows.record_transition(tx, change)
    rows.save_chat(tx, final, patron_connected=patron_connected)
    tx.event("chat", {"chat": final.to_wire()})
    tx.event("message", {"message": message.to_wire(), "message_count": final.message_count})
    return final


def _told(desk: Desk, chat: Chat, action: Action) -> None:
    """After the commit: the patron hears it first, then the desk remembers the chat (a
    closed one lets its patron's connection go)."""
    desk._tell_patron(chat.id, p.StateEvent(chat.state.value, PATRON_TEXTS[action], "",
                                            iso(chat.last_activity)))
    desk.remember(chat)


# --- the desk's side -------------------------------------------------------------------


async def dismiss(desk: Desk, chat_id: int, by: Actor, reason: str, idem: Idem = None) -> dict[str, Any]:
    """Close a chat nobody accepted, with the reason on the chat and in its transcript."""
    reason = one_line(reason)
    if not reason:
        raise DomainError("Say why the chat is dismissed.", "invalid_field")
    async with desk.lock(chat_id):
        chat = check(desk.get(chat_id), Act.DISMISS, by.id)
        now = desk.clock.now()
        new, change = chat.apply(Action.DISMISS, by, now)
        new = replace(new, dismissed=reason)

        def work(tx: Tx) -> Outcome:
            final = _finish(tx, new, change, f"Dismissed by {by.name}: {reason}", now, patron_connected=False)
            return Outcome({"chat": final.to_wire()}, apply=lambda: _told(desk, final, Action.DISMISS))

        return await desk.store.write(work, idem=idem)


def _same_origin(conn: sqlite3.Connection, chat_id: int) -> list[int]:
    """The other chats that came from the same address or the same browser as this one."""
    origin = conn.execute("SELECT address, client_id FROM chat_origins WHERE chat_id=?",
                          (chat_id,)).fetchone()
    if origin is None or origin == (None, None):
        return []
    address, client_id = origin
    rows_found = conn.execute(
        "SELECT chat_id FROM chat_origins WHERE chat_id != ? AND ((address IS NOT NULL AND address = ?)"
        " OR (client_id IS NOT NULL AND client_id = ?))", (chat_id, address, client_id)).fetchall()
    return [int(row[0]) for row in rows_found]


async def block(desk: Desk, chat_id: int, by: Actor, minutes: int, reason: str,
                idem: Idem = None) -> dict[str, Any]:
    """End the patron's chat and refuse new chats from its address and browser for `minutes`;
    their other chats still waiting (a flood from one browser or address) are dismissed in
    the same write, so none of them stays in the line."""
    reason = one_line(reason)
    if not reason:
        raise DomainError("Say why the patron is blocked.", "invalid_field")
    related = await desk.store.read(lambda conn: _same_origin(conn, chat_id))
    waiting = sorted(c for c in related if c in desk.chats and desk.chats[c].state is ChatState.WAITING)
    async with contextlib.AsyncExitStack() as held:
        for other in sorted({chat_id, *waiting}):  # one order, so two blocks never deadlock
            await held.enter_async_context(desk.lock(other))
        return await _block_locked(desk, chat_id, by, minutes, reason, waiting, idem)


async def _block_locked(desk: Desk, chat_id: int, by: Actor, minutes: int, reason: str,
                        waiting: list[int], idem: Idem) -> dict[str, Any]:
    """`block`, with the locks of the chat and of the patron's waiting chats held."""
    chat = check(desk.get(chat_id), Act.BLOCK, by.id)
    now = desk.clock.now()
    until = now + timedelta(minutes=minutes)
    new, change = chat.apply(Action.BLOCK, by, now)
    line = f"Patron blocked by {by.name} for {span(minutes)}: {reason}"

    def work(tx: Tx) -> Outcome:
        origin = tx.execute("SELECT address, client_id FROM chat_origins WHERE chat_id=?",
                            (chat_id,)).fetchone()
        address, client_id = origin if origin is not None else (None, None)
        cur = tx.execute(
            "INSERT INTO blocks(chat_id, patron_name, address, client_id, reason, created_by,"
            " created_by_id, created_at, until) VALUES (?,?,?,?,?,?,?,?,?)",
            (chat_id, chat.patron_name, address, client_id, reason, by.name, by.id, iso(now), iso(until)))
        assert cur.lastrowid is not None
        block_id = cur.lastrowid
        final = _finish(tx, new, change, line, now, patron_connected=None)
        swept = []
        for other_id in waiting:  # checked against what is stored, inside this write
            other = rows.load_chat(tx, other_id)
            if other is None or other.state is not ChatState.WAITING:
                continue
            gone, other_change = other.apply(Action.DISMISS, by, now)
            gone = replace(gone, dismissed=f"the patron was blocked: {reason}")
            swept.append(_finish(tx, gone, other_change,
                                 f"Dismissed by {by.name}: the patron was blocked ({reason})", now,
                                 patron_connected=False))

        def apply() -> None:
            desk.blocks.add(block_id, address, client_id, until)
            _told(desk, final, Action.BLOCK)
            for gone in swept:
                _told(desk, gone, Action.DISMISS)

        stored = _load(tx, block_id)
        assert stored is not None
        return Outcome({"chat": final.to_wire(), "block": public(stored),
                        "dismissed": [gone.id for gone in swept]}, apply=apply)

    return await desk.store.write(work, idem=idem)


async def unblock(desk: Desk, block_id: int, by: Actor, idem: Idem = None) -> dict[str, Any]:
    """Lift a block in force: new chats from that address and browser are welcome again."""
    now = desk.clock.now()

    def work(tx: Tx) -> Outcome:
        found = _load(tx, block_id)
        if found is None:
            raise DomainError(f"There is no block {block_id}.", "unknown_block")
        if found.get("lifted_at"):
            raise DomainError(f"Block {block_id} was already lifted by {found['lifted_by']}.",
                              "unknown_block")
        until = parse_ts(found["until"])
        if until is None or until <= now:
            raise DomainError(f"Block {block_id} has already expired.", "unknown_block")
        tx.execute("UPDATE blocks SET lifted_at=?, lifted_by=? WHERE id=?", (iso(now), by.name, block_id))
        lifted = _load(tx, block_id)
        assert lifted is not None
        return Outcome({"block": public(lifted)}, apply=lambda: desk.blocks.lift(block_id))

    return await desk.store.write(work, idem=idem)


async def in_force(desk: Desk) -> dict[str, Any]:
    """The blocks in force, newest first (at most MAX_LISTED, and what fits in a frame)."""
    now = desk.clock.now()
    found = await desk.store.read(lambda conn: [public(b) for b in _in_force(conn, now)])
    kept, left_out = p.fit(found)
    return {"blocks": kept, "omitted": left_out}


# --- protocol handlers ---------------------------------------------------------------


async def _dismiss(s: DeskServer, who: Actor, c: p.Dismiss, idem: Idem) -> dict[str, Any]:
    return await dismiss(s.desk, c.chat_id, who, c.reason, idem)


async def _block(s: DeskServer, who: Actor, c: p.Block, idem: Idem) -> dict[str, Any]:
    return await block(s.desk, c.chat_id, who, c.minutes, c.reason, idem)


async def _blocks(s: DeskServer, who: Actor, c: p.Blocks, idem: Idem) -> dict[str, Any]:
    return await in_force(s.desk)


async def _unblock(s: DeskServer, who: Actor, c: p.Unblock, idem: Idem) -> dict[str, Any]:
    return await unblock(s.desk, c.block_id, who, idem)


def hello_fields(server: DeskServer, conn: LibrarianConnection) -> dict[str, Any]:
    """What this feature adds to the `hello` ack: nothing (the list is asked for)."""
    return {}


#: Command class -> handler (merged into the server's LIBRARIAN_HANDLERS).
HANDLERS: dict[type[Any], Any] = {
    p.Dismiss: _dismiss,
    p.Block: _block,
    p.Blocks: _blocks,
    p.Unblock: _unblock,
}
