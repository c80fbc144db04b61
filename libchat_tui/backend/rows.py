"""Row-level writes and reads of the desk's records, used inside store transactions.

The desk builds domain objects; these functions put them in (and get them out of) the
tables of schema.py. They run in the store's writer or reader thread, never on the loop.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime
from typing import Any

from .. import protocol as p
from ..domain import Chat, ChatState, Message, Note, Sender, Transition, iso
from ..libanswers.push import push_states
from . import search_index
from .store import Tx

#: How a stored resume token starts: what follows is its hash, never the token itself.
TOKEN_KEY_PREFIX = "h1:"


def token_key(token: str) -> str:
    """What the desk keeps of a resume token: a hash, so a copy of the database (a backup,
    a stolen disk) cannot resume anyone's chat. The tokens are 256-bit random values, so
    one unsalted SHA-256 is enough: there is nothing to guess."""
    return TOKEN_KEY_PREFIX + hashlib.sha256(b"libchat resume token\0" + token.encode()).hexdigest()


def insert_chat(tx: Tx, chat: Chat, resume_token: str | None) -> int:
    """Insert a new chat and return its id (the chat's `id` field is ignored); the resume
    token is stored only as its `token_key`."""
    cur = tx.execute(
        "INSERT INTO chats(state, data, resume_token, patron_connected, created_at)"
        " VALUES (?, '{}', ?, 1, ?)",
        (chat.state.value, None if resume_token is None else token_key(resume_token), iso(chat.created_at)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def save_chat(tx: Tx, chat: Chat, *, patron_connected: bool | None = None) -> None:
    data = json.dumps(chat.to_wire(), ensure_ascii=False)
    if patron_connected is None:
        tx.execute(
            "UPDATE chats SET state=?, data=?, closed_at=? WHERE id=?",
            (chat.state.value, data, iso(chat.closed_at), chat.id),
        )
    else:
        tx.execute(
            "UPDATE chats SET state=?, data=?, closed_at=?, patron_connected=? WHERE id=?",
            (chat.state.value, data, iso(chat.closed_at), int(patron_connected), chat.id),
        )
    if chat.state is ChatState.CLOSED:
        tx.execute("UPDATE chats SET resume_token=NULL WHERE id=?", (chat.id,))
    search_index.chat_saved(tx, chat)


def load_chat(conn: sqlite3.Connection | Tx, chat_id: int) -> Chat | None:
    row = conn.execute("SELECT data FROM chats WHERE id=?", (chat_id,)).fetchone()
    return None if row is None else Chat.from_wire(json.loads(row[0]))


def insert_message(
    tx: Tx, chat_id: int, sender: Sender, author: str, text: str, at: datetime, librarian_id: str = ""
) -> Message:
    cur = tx.execute(
        "INSERT INTO messages(chat_id, sender, author, librarian_id, text, at) VALUES (?,?,?,?,?,?)",
        (chat_id, sender.value, author, librarian_id, text, iso(at)),
    )
    assert cur.lastrowid is not None
    if sender is not Sender.SYSTEM:
        search_index.message_added(tx, chat_id, cur.lastrowid, text)
    return Message(cur.lastrowid, chat_id, sender, author, text, at, librarian_id)


def record_transition(tx: Tx, change: Transition) -> None:
    tx.execute(
        "INSERT INTO state_events(chat_id, action, from_state, to_state, at, by_kind, by_id, by_name)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (
            change.chat_id,
            change.action.value,
            change.from_state.value,
            change.to_state.value,
            iso(change.at),
            change.by.kind,
            change.by.id,
            change.by.name,
        ),
    )


def insert_note(tx: Tx, chat_id: int, librarian_id: str, author: str, text: str, at: datetime) -> Note:
    cur = tx.execute(
        "INSERT INTO notes(chat_id, librarian_id, author, text, at) VALUES (?,?,?,?,?)",
        (chat_id, librarian_id, author, text, iso(at)),
    )
    assert cur.lastrowid is not None
    search_index.note_added(tx, chat_id, cur.lastrowid, author, text)
    return Note(cur.lastrowid, chat_id, librarian_id, author, text, at)


TICKET_COLUMNS = (
    "id, chat_id, name, email, subject, body, status, source, created_by, created_at, closed_at"
)
ANALYTICS_COLUMNS = "id, chat_id, dataset, fields, librarian_id, author, created_at, updated_at"


def ticket_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = [k.strip() for k in TICKET_COLUMNS.split(",")]
    return dict(zip(keys, row, strict=True))


def entry_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = [k.strip() for k in ANALYTICS_COLUMNS.split(",")]
    entry = dict(zip(keys, row, strict=True))
    entry["fields"] = json.loads(entry["fields"])
    return entry


def load_ticket(conn: sqlite3.Connection | Tx, ticket_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id=?", (ticket_id,)).fetchone()
    return None if row is None else ticket_from_row(row)


def insert_ticket(tx: Tx, ticket: dict[str, Any]) -> dict[str, Any]:
    cur = tx.execute(
        "INSERT INTO tickets(chat_id, name, email, subject, body, status, source, created_by,"
        " created_at) VALUES (?,?,?,?,?,'open',?,?,?)",
        (
            ticket["chat_id"],
            ticket["name"],
            ticket["email"],
            ticket["subject"],
            ticket["body"],
            ticket["source"],
            ticket["created_by"],
            ticket["created_at"],
        ),
    )
    assert cur.lastrowid is not None
    loaded = load_ticket(tx, cur.lastrowid)
    assert loaded is not None
    search_index.ticket_added(tx, loaded)
    return loaded


def transcript(conn: sqlite3.Connection, chat_id: int, *, bounded: bool = True) -> dict[str, Any] | None:
    """Everything stored with one chat, as wire objects; `bounded`: what fits one frame."""
    chat = load_chat(conn, chat_id)
    if chat is None:
        return None
    messages = [
        Message(r[0], chat_id, Sender(r[1]), r[2], r[4], datetime.fromisoformat(r[5]), r[3]).to_wire()
        for r in conn.execute(
            "SELECT id, sender, author, librarian_id, text, at FROM messages WHERE chat_id=? ORDER BY id",
            (chat_id,),
        )
    ]
    notes = [
        Note(r[0], chat_id, r[1], r[2], r[3], datetime.fromisoformat(r[4])).to_wire()
        for r in conn.execute(
            "SELECT id, librarian_id, author, text, at FROM notes WHERE chat_id=? ORDER BY id",
            (chat_id,),
        )
    ]
    tickets = [
        ticket_from_row(r)
        for r in conn.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE chat_id=? ORDER BY id", (chat_id,))
    ]
    entries = [
        entry_from_row(r)
        for r in conn.execute(
            f"SELECT {ANALYTICS_COLUMNS} FROM analytics WHERE chat_id=? ORDER BY id", (chat_id,)
        )
    ]
    with_push_states(conn, "ticket", tickets)
    with_push_states(conn, "analytics", entries)
    if not bounded:
        return {"chat": chat.to_wire(), "messages": messages, "notes": notes, "tickets": tickets,
                "analytics": entries, "omitted": {"messages": 0, "notes": 0}}
    # The newest lines that fit one frame; `omitted` says how many earlier ones were left out.
    kept, left_out = p.fit(messages[::-1], p.LIST_BUDGET_BYTES * 3 // 5)
    notes_kept, notes_left_out = p.fit(notes[::-1], p.LIST_BUDGET_BYTES // 5)
    return {"chat": chat.to_wire(), "messages": kept[::-1], "notes": notes_kept[::-1],
            "tickets": [p.clip_ticket(t) for t in tickets], "analytics": entries,
            "omitted": {"messages": left_out, "notes": notes_left_out}}


def with_push_states(conn: sqlite3.Connection, kind: str, records: list[dict[str, Any]]) -> None:
    """Add each record's LibAnswers delivery state as `push` (only records that have one)."""
    if not records:
        return
    states = push_states(conn, kind, [int(r["id"]) for r in records])
    for record in records:
        state = states.get(int(record["id"]))
        if state is not None:
            record["push"] = state


def open_chats(conn: sqlite3.Connection) -> list[tuple[Chat, str | None, bool]]:
    """Every chat that was not closed, with its resume token's key and whether the patron
    was on. A token a desk before hashing stored as it was comes back as its key (and
    `hash_old_tokens` rewrites it)."""
    rows = conn.execute(
        "SELECT data, resume_token, patron_connected FROM chats WHERE state != 'closed' ORDER BY id"
    ).fetchall()
    return [(Chat.from_wire(json.loads(d)), _as_key(tok), bool(on)) for d, tok, on in rows]


def _as_key(stored: str | None) -> str | None:
    if stored is None or stored.startswith(TOKEN_KEY_PREFIX):
        return stored
    return token_key(stored)


def hash_old_tokens(tx: Tx) -> int:
    """Replace resume tokens stored as they were (by desks before hashing) by their keys."""
    old = tx.execute("SELECT id, resume_token FROM chats WHERE resume_token IS NOT NULL"
                     " AND resume_token NOT LIKE 'h1:%'").fetchall()
    for chat_id, token in old:
        tx.execute("UPDATE chats SET resume_token=? WHERE id=?", (token_key(token), chat_id))
    return len(old)


def events_since(conn: sqlite3.Connection, seq: int) -> list[tuple[int, str]]:
    return conn.execute("SELECT seq, frame FROM events WHERE seq > ? ORDER BY seq", (seq,)).fetchall()


def stored_result(conn: sqlite3.Connection, librarian_id: str, command_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT result FROM commands WHERE librarian_id=? AND command_id=?", (librarian_id, command_id)
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def patron_messages(conn: sqlite3.Connection | Tx, chat_id: int, after: int, *,
                    librarian_only: bool = False) -> list[dict[str, Any]]:
    """A chat's lines as the patron may see them (patron and librarian lines; no notes),
    after line number `after`. A line's `id` is its number in the chat (1 is the question;
    system lines take numbers too, so the patron's numbers have gaps): the same number
    the live `message` event and the `message` ack gave it (`Chat.message_count` then)."""
    senders = "('librarian')" if librarian_only else "('librarian', 'patron')"
    got = conn.execute(
        "SELECT number, sender, author, text, at FROM"
        " (SELECT ROW_NUMBER() OVER (ORDER BY id) AS number, sender, author, text, at"
        "  FROM messages WHERE chat_id=?)"
        f" WHERE number>? AND sender IN {senders} ORDER BY number",
        (chat_id, after),
    ).fetchall()
    return [{"id": r[0], "sender": r[1], "author": r[2], "text": r[3], "at": r[4]} for r in got]
