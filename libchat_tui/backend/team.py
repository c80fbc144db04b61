"""Presence, departments and transfers (docs/protocol.md, "The team desk").

- **Presence**: each connected console says online or away (`hello`, `presence`); a
  librarian with no connection is offline. Every synced console gets the roster as a
  `team` event whenever it changes; patrons' `status` counts the librarians online.
- **Departments**: configured under `[desk] departments`; a chat waits in one. Each
  librarian monitors some (stored here, in the `librarians` table) and may accept only
  waiting chats of those.
- **Transfer**: the owner offers an active chat to an online colleague (who accepts or
  declines; the owner may withdraw; it falls back after `[desk] transfer_seconds`), or
  sends it back to a department's queue, at the head of the line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..domain import Act, Action, Actor, Chat, ChatState, DomainError, Sender, TransferOffer, check, iso
from . import rows
from .patrons import department as find_department
from .store import Outcome, Tx

if TYPE_CHECKING:
    from .clock import TimerHandle
    from .desk import Desk, Idem
    from .server import DeskServer, LibrarianConnection

log = logging.getLogger(__name__)


# --- presence --------------------------------------------------------------------------


def roster(server: DeskServer) -> list[dict[str, Any]]:
    """Who is on the desk: one entry per librarian with a synced console, by name, with the
    departments they monitor. Online if any of their consoles is online; away if all are away."""
    people: dict[str, dict[str, Any]] = {}
    for conn in server.librarians:
        if conn.backlog is not None:
            continue
        entry = people.setdefault(conn.who.id, _entry(server.desk, conn.who.id, conn.who.name, "away"))
        if conn.presence == "online":
            entry["state"] = "online"
    return _by_name(people.values())


def _entry(desk: Desk, librarian_id: str, name: str, state: str) -> dict[str, Any]:
    return {"id": librarian_id, "name": name, "state": state, "monitor": list(monitored(desk, librarian_id))}


def _by_name(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (str(e["name"]).casefold(), str(e["id"])))


def online_ids(server: DeskServer) -> set[str]:
    return {entry["id"] for entry in roster(server) if entry["state"] == "online"}


def online_for(server: DeskServer, department: str) -> int:
    """Librarians online (not away) who monitor `department`: who can answer a chat there."""
    return sum(1 for entry in roster(server) if entry["state"] == "online" and department in entry["monitor"])


def announce(server: DeskServer) -> None:
    """Tell every synced console who is on the desk, if that changed."""
    now = roster(server)
    if now != server.team_roster:
        server.team_roster = now
        server.broadcast_signal(p.TeamEvent(now))


async def _presence(s: DeskServer, who: Actor, c: p.Presence, idem: Idem) -> dict[str, Any]:
    for conn in s.librarians:  # the person is away, on every console they have open
        if conn.who.id == who.id:
            conn.presence = c.state
    announce(s)
    return {"librarians": roster(s)}


# --- departments -----------------------------------------------------------------------


def monitored(desk: Desk, librarian_id: str) -> tuple[str, ...]:
    """The departments this librarian takes chats from (all, until they choose)."""
    wanted = desk.monitors.get(librarian_id)
    if wanted is None:
        return desk.team.departments
    return tuple(d for d in desk.team.departments if d in wanted) or desk.team.departments


async def load_monitors(desk: Desk) -> None:
    """At start: what each librarian chose to monitor."""
    got = await desk.store.read(lambda conn: conn.execute("SELECT id, monitor FROM librarians").fetchall())
    desk.monitors = {str(lid): tuple(json.loads(text)) for lid, text in got}


async def _monitor(s: DeskServer, who: Actor, c: p.Monitor, idem: Idem) -> dict[str, Any]:
    desk = s.desk
    names = []
    for wanted in c.departments:
        name = find_department(desk, wanted)
        if name not in names:
            names.append(name)
    if not names:
        raise DomainError("Monitor at least one department.", "invalid_field")
    now = desk.clock.now()

    def work(tx: Tx) -> Outcome:
        tx.execute("INSERT INTO librarians(id, name, monitor, updated_at) VALUES (?,?,?,?)"
                   " ON CONFLICT(id) DO UPDATE SET name=excluded.name, monitor=excluded.monitor,"
                   " updated_at=excluded.updated_at",
                   (who.id, who.name, json.dumps(names), iso(now)))

        def apply() -> None:
            desk.monitors[who.id] = tuple(names)

        return Outcome({"monitor": names}, apply=apply)

    result = dict(await desk.store.write(work, idem=idem))
    announce(s)  # colleagues (and the patron side's "anyone online here?") see it
    return result


def check_monitored(desk: Desk, chat: Chat, librarian_id: str) -> None:
    """A waiting chat is taken only by a librarian who monitors its department."""
    if chat.state is ChatState.WAITING and chat.department not in monitored(desk, librarian_id):
        raise DomainError(f"Chat {chat.id} waits in {chat.department}, which you do not monitor; "
                          "add it to the departments you monitor first.", "not_monitored")


# --- transfer --------------------------------------------------------------------------


async def _transfer(s: DeskServer, who: Actor, c: p.Transfer, idem: Idem) -> dict[str, Any]:
    if (c.to_librarian is None) == (c.to_department is None):
        raise DomainError("Name either a colleague (to_librarian) or a department (to_department).",
                          "invalid_field")
    desk = s.desk
    async with desk.lock(c.chat_id):
        chat = check(desk.get(c.chat_id), Act.TRANSFER, who.id)
        note = c.note.strip()
        if c.to_department is not None:
            return await _to_department(desk, chat, who, find_department(desk, c.to_department), note, idem)
        target = next((e for e in roster(s) if e["id"] == c.to_librarian), None)
        if target is None or target["id"] == who.id:
            raise DomainError("That colleague is not on the desk now." if target is None
                              else "The chat is already yours.", "not_online")
        now = desk.clock.now()
        offer = TransferOffer(str(target["id"]), str(target["name"]), who.id, who.name, note, now,
                              now + timedelta(seconds=desk.team.transfer_seconds))
        line = f"{who.name} offered the chat to {offer.to_name}" + (f": {note}" if note else "")
        return await _set_offer(desk, chat, offer, line, idem)


async def _to_department(desk: Desk, chat: Chat, who: Actor, department: str, note: str,
                         idem: Idem) -> dict[str, Any]:
    """Back to a department's queue, ahead of everyone waiting there."""
    head = desk.waiting.head(department)
    now = desk.clock.now()
    queued_at = min(head - timedelta(milliseconds=1), now) if head is not None else now
    line = f"{who.name} transferred the chat to {department}" + (f": {note}" if note else "")
    text = f"You are being transferred to {department}. A librarian will be with you shortly."
    return await desk.transition(chat, Action.TRANSFER, who, idem=idem, line=line, patron_text=text,
                                 updates={"department": department, "queued_at": queued_at})


async def _set_offer(desk: Desk, chat: Chat, offer: TransferOffer | None, line: str,
                     idem: Idem = None) -> dict[str, Any]:
    """Store the chat with (or without) a transfer offer and a system line."""
    now = desk.clock.now()
    updated = replace(chat, transfer=offer, last_activity=now)

    def work(tx: Tx) -> Outcome:
        message = rows.insert_message(tx, chat.id, Sender.SYSTEM, "", line, now)
        final = replace(updated, message_count=updated.message_count + 1)
        rows.save_chat(tx, final)
        tx.event("chat", {"chat": final.to_wire()})
        tx.event("message", {"message": message.to_wire(), "message_count": final.message_count})
        return Outcome({"chat": final.to_wire()}, apply=lambda: desk.remember(final))

    return dict(await desk.store.write(work, idem=idem))


async def _answer(s: DeskServer, who: Actor, c: p.AnswerTransfer, idem: Idem) -> dict[str, Any]:
    desk = s.desk
    async with desk.lock(c.chat_id):
        chat = check(desk.get(c.chat_id), Act.ANSWER_TRANSFER, who.id)
        offer = chat.transfer
        assert offer is not None
        if not c.accept:
            return await _set_offer(desk, chat, None, f"{who.name} declined the transfer; the chat "
                                    f"stays with {offer.from_name}", idem)
        return await desk.transition(chat, Action.TAKE_OVER, who, idem=idem,
                                     line=f"{who.name} took over the chat from {offer.from_name}",
                                     patron_text=f"You are now chatting with {who.name}.")


async def _withdraw(s: DeskServer, who: Actor, c: p.WithdrawTransfer, idem: Idem) -> dict[str, Any]:
    desk = s.desk
    async with desk.lock(c.chat_id):
        chat = check(desk.get(c.chat_id), Act.WITHDRAW_TRANSFER, who.id)
        offer = chat.transfer
        assert offer is not None
        return await _set_offer(desk, chat, None, f"{who.name} withdrew the transfer to {offer.to_name}",
                                idem)


class TransferTimers:
    """One timer per chat on offer: when it runs out, the chat stays with its owner.
    Armed from `Desk.remember`, so an offer restored after a restart expires too."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._timers: dict[int, TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        desk.watchers.append(self.watch)

    def watch(self, chat: Chat) -> None:
        offer = chat.transfer
        timer = self._timers.get(chat.id)
        if offer is None or chat.state is not ChatState.ACTIVE:
            if timer is not None:
                timer.cancel()
                del self._timers[chat.id]
            return
        if timer is None:
            self._timers[chat.id] = self.desk.clock.call_at(offer.expires_at, lambda: self._fire(chat.id))

    def _fire(self, chat_id: int) -> None:
        self._timers.pop(chat_id, None)
        task = asyncio.get_running_loop().create_task(self._expire(chat_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, chat_id: int) -> None:
        desk = self.desk
        try:
            async with desk.lock(chat_id):
                chat = desk.chats.get(chat_id)
                offer = None if chat is None else chat.transfer
                if chat is None or offer is None:
                    return
                if offer.expires_at > desk.clock.now():  # woken early
                    self.watch(chat)
                    return
                await _set_offer(desk, chat, None, f"The transfer to {offer.to_name} timed out; the chat "
                                 f"stays with {offer.from_name}")
        except DomainError as exc:
            log.error("transfer timeout of chat %s failed: %s", chat_id, exc)

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


# --- wiring ----------------------------------------------------------------------------


def roster_with(server: DeskServer, conn: LibrarianConnection) -> list[dict[str, Any]]:
    """The roster as it will be once this (still syncing) console is synced."""
    me = _entry(server.desk, conn.who.id, conn.who.name, conn.presence)
    return _by_name([*(e for e in roster(server) if e["id"] != conn.who.id), me])


def hello_fields(server: DeskServer, conn: LibrarianConnection) -> dict[str, Any]:
    """The team desk in the `hello` ack."""
    return {"librarians": roster_with(server, conn),
            "departments": list(server.desk.team.departments),
            "monitor": list(monitored(server.desk, conn.who.id)),
            "transfer_seconds": server.desk.team.transfer_seconds,
            "realert_seconds": server.desk.team.realert_seconds}


HANDLERS: dict[type[Any], Any] = {
    p.Presence: _presence,
    p.Monitor: _monitor,
    p.Transfer: _transfer,
    p.AnswerTransfer: _answer,
    p.WithdrawTransfer: _withdraw,
}

__all__ = ["HANDLERS", "TransferTimers", "announce", "check_monitored", "hello_fields",
           "load_monitors", "monitored", "online_for", "online_ids", "roster", "roster_with"]
