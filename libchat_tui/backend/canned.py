"""Canned messages: the team's shared replies, stored in the desk.

The table `canned` holds them (names compared without regard to case). `[canned]` in
config.toml seeds it when the desk starts: each configured name is copied in once
(`canned_seeded` remembers which), so the team's later edits and deletions win over the
file. Every
console holds the whole list: `hello` carries it, and after each change every synced
console gets a `canned` event with all of them, sent once the change is committed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import unicodedata
from typing import TYPE_CHECKING, Any, Final

from .. import protocol as p
from ..domain import Actor, DomainError, iso
from .store import Outcome, Tx

if TYPE_CHECKING:
    from .desk import Desk, Idem
    from .server import DeskServer, LibrarianConnection

log = logging.getLogger(__name__)

#: The most canned messages a desk keeps.
MAX_CANNED: Final = 200
#: A name's and a text's length, in characters (after trimming the ends).
NAME_CHARS: Final = 40
TEXT_CHARS: Final = 2_000
#: What all of them may take as JSON: the list travels whole in `hello`, acks and events,
#: which must stay under the desk's largest frame (`MAX_SERVER_FRAME_BYTES`).
BUDGET_BYTES: Final = p.LIST_BUDGET_BYTES
#: `updated_by` of a message copied from config.toml.
FROM_SETTINGS: Final = "config.toml"

_COLUMNS = "name, text, updated_by, updated_at"


def listing(conn: sqlite3.Connection | Tx) -> list[dict[str, Any]]:
    """Every canned message, sorted by name (without regard to case)."""
    found = conn.execute(f"SELECT {_COLUMNS} FROM canned").fetchall()
    messages = [{"name": name, "text": text, "updated_by": by, "updated_at": at}
                for name, text, by, at in found]
    return sorted(messages, key=lambda m: (_sort_key(m["name"]), m["name"]))


def _sort_key(name: str) -> str:
    """Names in the order people look for them: case and accents aside ("Ärger" by "arger")."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", name.casefold())
                   if not unicodedata.combining(ch))


def _stored_name(tx: Tx, name: str) -> str | None:
    """The stored name that is `name` without regard to case (SQLite's NOCASE folds only
    A-Z: "Ärger" and "ärger" are compared here)."""
    folded = name.casefold()
    for (stored,) in tx.execute("SELECT name FROM canned").fetchall():
        if stored.casefold() == folded:
            return str(stored)
    return None


def check_name(raw: str) -> str:
    """The name as stored (ends trimmed), or DomainError if it cannot be one."""
    name = raw.strip()
    if not 1 <= len(name) <= NAME_CHARS:
        raise DomainError(f"A canned message's name is 1 to {NAME_CHARS} characters.", "invalid_field")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise DomainError("A canned message's name may not hold control or invisible characters.",
                          "invalid_field")
    return name


def check_text(raw: str) -> str:
    """The text as stored (line ends as "\n", ends trimmed), or DomainError. Line breaks and
    tabs are kept; other control characters (a terminal would act on them) are refused."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not 1 <= len(text) <= TEXT_CHARS:
        raise DomainError(f"A canned message's text is 1 to {TEXT_CHARS:,} characters.", "empty_text"
                          if not text else "invalid_field")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise DomainError("A canned message's text may not hold control characters (other than line "
                          "breaks and tabs).", "invalid_field")
    return text


def _size(messages: list[dict[str, Any]]) -> int:
    """Bytes of JSON the messages take in a frame (as `protocol.fit` counts them)."""
    return sum(len(json.dumps(m, ensure_ascii=False, separators=(",", ":")).encode()) + 1
               for m in messages)


def _fits(messages: list[dict[str, Any]]) -> None:
    if _size(messages) > BUDGET_BYTES:
        raise DomainError(f"The canned messages would take more than {BUDGET_BYTES // 1024} KiB "
                          "together; shorten or delete some first.", "too_many_canned")


def _published(server: DeskServer, messages: list[dict[str, Any]]) -> Any:
    """After the commit: the desk's copy changes, and every synced console hears of it."""

    def apply() -> None:
        server.desk.canned = messages
        server.broadcast_signal(p.CannedEvent(messages))

    return apply


# --- start-up ----------------------------------------------------------------------------


async def restore(desk: Desk) -> None:
    """Copy in the `[canned]` names never copied before, then load the list."""
    seeds = desk.team.canned
    now = iso(desk.clock.now())

    def work(tx: Tx) -> Outcome:
        count = int(tx.execute("SELECT COUNT(*) FROM canned").fetchone()[0])
        used = _size(listing(tx))
        for raw_name, raw_text in seeds:
            try:
                name, text = check_name(raw_name), check_text(raw_text)
            except DomainError as exc:
                log.warning("[canned] %r not copied to the desk: %s", raw_name[:NAME_CHARS], exc)
                continue
            if tx.execute("SELECT 1 FROM canned_seeded WHERE name = ?", (name,)).fetchone():
                continue  # copied at an earlier start: what the team made of it stands
            message = {"name": name, "text": text, "updated_by": FROM_SETTINGS, "updated_at": now}
            if count >= MAX_CANNED or used + _size([message]) > BUDGET_BYTES:
                log.warning("[canned] %r not copied: the desk's canned messages are at their limit "
                            "(%d, or %d KiB)", name, MAX_CANNED, BUDGET_BYTES // 1024)
                continue
            tx.execute("INSERT INTO canned_seeded(name) VALUES (?)", (name,))
            if _stored_name(tx, name) is None:
                tx.execute(f"INSERT INTO canned({_COLUMNS}) VALUES (?, ?, ?, ?)",
                           (name, text, FROM_SETTINGS, now))
                count += 1
                used += _size([message])
        messages = listing(tx)

        def apply() -> None:
            desk.canned = messages

        return Outcome({}, apply=apply)

    await desk.store.write(work)


def hello_fields(server: DeskServer, conn: LibrarianConnection) -> dict[str, Any]:
    """What this feature adds to the `hello` ack: the canned messages and the library's name."""
    return {"canned": server.desk.canned, "library_name": server.widget.library_name}


# --- protocol handlers ---------------------------------------------------------------------


async def save(server: DeskServer, who: Actor, raw_name: str, raw_text: str,
               idem: Idem = None) -> dict[str, Any]:
    """Create the canned message `name`, or replace the one of that name (any case)."""
    name, text = check_name(raw_name), check_text(raw_text)
    now = iso(server.desk.clock.now())

    def work(tx: Tx) -> Outcome:
        stored = _stored_name(tx, name)
        if stored is None:
            count = int(tx.execute("SELECT COUNT(*) FROM canned").fetchone()[0])
            if count >= MAX_CANNED:
                raise DomainError(f"The desk keeps at most {MAX_CANNED} canned messages; delete one "
                                  "first.", "too_many_canned")
            tx.execute(f"INSERT INTO canned({_COLUMNS}) VALUES (?, ?, ?, ?)", (name, text, who.name, now))
        else:  # replaced, and named as typed this time ("hours" may become "Hours")
            tx.execute("UPDATE canned SET name = ?, text = ?, updated_by = ?, updated_at = ? WHERE name = ?",
                       (name, text, who.name, now, stored))
        messages = listing(tx)
        _fits(messages)
        return Outcome({"messages": messages}, apply=_published(server, messages))

    return await server.desk.store.write(work, idem=idem)


async def delete(server: DeskServer, who: Actor, raw_name: str, idem: Idem = None) -> dict[str, Any]:
    name = raw_name.strip()

    def work(tx: Tx) -> Outcome:
        stored = _stored_name(tx, name)
        if stored is None:
            raise DomainError(f"There is no canned message named '{name[:NAME_CHARS]}'.", "unknown_canned")
        tx.execute("DELETE FROM canned WHERE name = ?", (stored,))
        messages = listing(tx)
        return Outcome({"messages": messages}, apply=_published(server, messages))

    return await server.desk.store.write(work, idem=idem)


async def _save(s: DeskServer, who: Actor, c: p.SaveCanned, idem: Idem) -> dict[str, Any]:
    return await save(s, who, c.name, c.text, idem)


async def _delete(s: DeskServer, who: Actor, c: p.DeleteCanned, idem: Idem) -> dict[str, Any]:
    return await delete(s, who, c.name, idem)


#: Command class -> handler (merged into the server's LIBRARIAN_HANDLERS).
HANDLERS: dict[type[Any], Any] = {
    p.SaveCanned: _save,
    p.DeleteCanned: _delete,
}
