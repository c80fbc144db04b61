"""History search: every chat searchable as one document, kept up to date piece by piece.

A chat's pieces are its summary (patron name, e-mail, question, librarian), each patron
and librarian line, each internal note, ticket and Reference Analytics entry. Two
structures index them, written in the same transaction as the record itself:

- `history_terms`: per chat, how often each word occurs in all its pieces (term `''`
  holds the chat's length). Query words are looked up here, so matching and ranking cost
  grows with the chats that contain a word, not with their messages, and a new message
  adds only its own words: a chat of 10,000 messages is never rewritten.
- `history_pieces` (FTS5): one row per piece. Its rowid encodes the chat
  (`chat_id << 36 | kind << 33 | piece id`), so a chat's pieces are one rowid range, in
  the order summary, tickets, RA entries, notes, messages: this is where the snippet that
  shows why a chat matched is cut.

Words are split and folded the way FTS5's `unicode61 remove_diacritics 2` tokenizer
does it (letters and digits, lower case, accents off). Words in the summary count three
times and in tickets, RA entries and notes twice (BM25F-style field weights). Searching
(ranking, snippets) is in `queries.py`; a database made before this index is indexed
once when the desk opens (`ensure`).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..analytics import AUTO_FIELDS
from ..domain import Chat

if TYPE_CHECKING:
    from .store import Tx

log = logging.getLogger(__name__)

#: Bumped when what is indexed changes: a database with an older mark is re-indexed at open.
VERSION = "1"
META_KEY = "search_index"

SUMMARY, TICKET, ANALYTICS, NOTE, MESSAGE = range(5)
#: How much a word in each kind of piece counts towards its chat's score.
WEIGHTS = {SUMMARY: 3, TICKET: 2, ANALYTICS: 2, NOTE: 2, MESSAGE: 1}
#: What a snippet from each kind of piece is labelled.
LABELS = {SUMMARY: "Chat", TICKET: "Ticket", ANALYTICS: "RA", NOTE: "Note", MESSAGE: "Transcript"}

_CHAT_SHIFT, _KIND_SHIFT = 36, 33
_MAX_CHAT, _MAX_PIECE = 1 << (63 - _CHAT_SHIFT), 1 << _KIND_SHIFT

#: Words longer than this are cut (in the index and in queries alike).
MAX_TERM = 64
#: A word, as FTS5's unicode61 tokenizer sees one: a run of letters and digits.
WORD = re.compile(r"[^\W_]+")

Conn = sqlite3.Connection


def words(text: str) -> list[str]:
    """`text` as index terms: runs of letters and digits, lower case, accents removed."""
    folded = text.lower()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFD", folded)
        folded = unicodedata.normalize(
            "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    return [w[:MAX_TERM] for w in WORD.findall(folded)]


def piece_rowid(chat_id: int, kind: int, piece_id: int) -> int | None:
    """The `history_pieces` rowid of a piece (None if the ids are beyond what it can hold)."""
    if not (0 <= chat_id < _MAX_CHAT and 0 <= piece_id < _MAX_PIECE):
        return None
    return chat_id << _CHAT_SHIFT | kind << _KIND_SHIFT | piece_id


def chat_range(chat_id: int) -> tuple[int, int]:
    """The first and last `history_pieces` rowid a chat's pieces can have."""
    return chat_id << _CHAT_SHIFT, ((chat_id + 1) << _CHAT_SHIFT) - 1


def kind_of(rowid: int) -> int:
    """Which kind of piece a `history_pieces` rowid is (SUMMARY ... MESSAGE)."""
    return rowid >> _KIND_SHIFT & 7


# --- what each piece says ------------------------------------------------------------


def summary_text(name: str, email: str | None, question: str, librarian: str | None) -> str:
    """A chat's own piece: patron name and e-mail, the question, the librarian who took it."""
    return " · ".join(part for part in (name, email, question, librarian) if part)


def note_text(author: str, text: str) -> str:
    return f"{text} — {author}"


def ticket_text(ticket: dict[str, Any]) -> str:
    return f"{ticket['subject']}\n{ticket['body']}\n{ticket['name']} {ticket['email']}"


def analytics_text(dataset: str, fields: dict[str, Any]) -> str:
    """An RA entry as a line a person can read: the fields the librarian filled in."""
    parts = []
    for name, value in fields.items():
        if name in AUTO_FIELDS or value is None or value in ("", []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', ' ')}: {shown}")
    return f"{dataset}: " + "; ".join(parts)


# --- writes (inside a store transaction) ---------------------------------------------


def _counts(text: str, weight: int) -> dict[str, int]:
    """How often each word occurs in `text`, times `weight`; '' is the total."""
    found = words(text)
    counts = Counter(found)
    if weight != 1:
        for term in counts:
            counts[term] *= weight
    if found:
        counts[""] = len(found) * weight
    return counts


def _add_terms(tx: Tx | Conn, chat_id: int, counts: dict[str, int]) -> None:
    if not counts:
        return
    tx.execute(
        "INSERT INTO history_terms(term, chat_id, hits) SELECT key, ?, value FROM json_each(?) WHERE true"
        " ON CONFLICT(term, chat_id) DO UPDATE SET hits = hits + excluded.hits",
        (chat_id, json.dumps(counts)),
    )


def _remove_terms(tx: Tx | Conn, chat_id: int, counts: dict[str, int]) -> None:
    if not counts:
        return
    _add_terms(tx, chat_id, {term: -n for term, n in counts.items()})
    tx.execute(
        "DELETE FROM history_terms WHERE chat_id = ? AND hits <= 0"
        " AND term IN (SELECT key FROM json_each(?))",
        (chat_id, json.dumps(counts)),
    )


def put_piece(tx: Tx | Conn, chat_id: int, kind: int, piece_id: int, text: str, *, new: bool = False) -> None:
    """Index one piece of a chat, replacing what it said before. `new`: it has no row yet."""
    rowid = piece_rowid(chat_id, kind, piece_id)
    if rowid is None:
        log.warning("chat %s piece %s is beyond what the search index can hold", chat_id, piece_id)
        return
    weight = WEIGHTS[kind]
    if not new:
        row = tx.execute("SELECT text FROM history_pieces WHERE rowid = ?", (rowid,)).fetchone()
        if row is not None:
            if row[0] == text:
                return
            tx.execute("DELETE FROM history_pieces WHERE rowid = ?", (rowid,))
            _remove_terms(tx, chat_id, _counts(row[0], weight))
    tx.execute("INSERT INTO history_pieces(rowid, text) VALUES (?, ?)", (rowid, text))
    _add_terms(tx, chat_id, _counts(text, weight))


def chat_saved(tx: Tx | Conn, chat: Chat) -> None:
    """After a chat was saved: its summary piece, rewritten only if it changed."""
    put_piece(tx, chat.id, SUMMARY, 0, _summary(chat))


def _summary(chat: Chat) -> str:
    owner = None if chat.owner is None else chat.owner.name
    return summary_text(chat.patron_name, chat.patron_email, chat.question, owner)


def message_added(tx: Tx | Conn, chat_id: int, message_id: int, text: str) -> None:
    put_piece(tx, chat_id, MESSAGE, message_id, text, new=True)


def note_added(tx: Tx | Conn, chat_id: int, note_id: int, author: str, text: str) -> None:
    put_piece(tx, chat_id, NOTE, note_id, note_text(author, text), new=True)


def ticket_added(tx: Tx | Conn, ticket: dict[str, Any]) -> None:
    put_piece(tx, int(ticket["chat_id"]), TICKET, int(ticket["id"]), ticket_text(ticket), new=True)


def analytics_saved(tx: Tx | Conn, entry: dict[str, Any]) -> None:
    """After an RA entry was saved (new or edited): its piece, replacing the old one."""
    put_piece(tx, int(entry["chat_id"]), ANALYTICS, int(entry["id"]),
              analytics_text(str(entry["dataset"]), dict(entry["fields"])))


# --- building the index for an older database ----------------------------------------


def ensure(conn: Conn) -> bool:
    """At open: index a database made before this index existed. True if it was built.

    Idempotent and cheap once done (one row of `meta` says so); the build is one
    transaction, so an interrupted one leaves nothing half done and runs again next time.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    if row is not None and row[0] == VERSION:
        return False
    log.info("building the history search index (once; a large desk may take a minute)")
    conn.execute("BEGIN IMMEDIATE")
    try:
        chats = rebuild(conn)
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)"
                     " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (META_KEY, VERSION))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.info("built the history search index for %d chats", chats)
    return True


def rebuild(conn: Conn) -> int:
    """Index every chat from its stored records (in the caller's transaction); chat count."""
    conn.execute("DELETE FROM history_pieces")
    conn.execute("DELETE FROM history_terms")
    # Terms go to a scratch table first and into history_terms sorted: far fewer page writes.
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS history_build (term TEXT, chat_id INTEGER, hits INTEGER)")
    chats = 0
    for chat_id, data in conn.execute("SELECT id, data FROM chats ORDER BY id"):
        wire = json.loads(data)
        if "patron" not in wire:  # never committed so; nothing to index
            continue
        chats += 1
        one = (chat_id,)
        pieces = [(SUMMARY, 0, _summary(Chat.from_wire(wire)))]
        pieces += [(TICKET, r[0], ticket_text(dict(zip(("subject", "body", "name", "email"), r[1:],
                                                       strict=True))))
                   for r in conn.execute("SELECT id, subject, body, name, email FROM tickets"
                                         " WHERE chat_id = ? ORDER BY id", one)]
        pieces += [(ANALYTICS, r[0], analytics_text(r[1], json.loads(r[2])))
                   for r in conn.execute("SELECT id, dataset, fields FROM analytics WHERE chat_id = ?"
                                         " ORDER BY id", one)]
        pieces += [(NOTE, r[0], note_text(r[1], r[2]))
                   for r in conn.execute("SELECT id, author, text FROM notes WHERE chat_id = ? ORDER BY id",
                                         one)]
        pieces += [(MESSAGE, r[0], r[1])
                   for r in conn.execute("SELECT id, text FROM messages WHERE chat_id = ?"
                                         " AND sender != 'system' ORDER BY id", one)]
        _index_chat(conn, chat_id, pieces)
    conn.execute("INSERT INTO history_terms(term, chat_id, hits)"
                 " SELECT term, chat_id, hits FROM temp.history_build ORDER BY term, chat_id")
    conn.execute("DROP TABLE temp.history_build")
    conn.execute("INSERT INTO history_pieces(history_pieces) VALUES ('optimize')")  # one segment: quicker
    return chats


def _index_chat(conn: Conn, chat_id: int, pieces: Iterable[tuple[int, int, str]]) -> None:
    """One chat's pieces (in rowid order) into history_pieces, its terms into the scratch table."""
    counts: Counter[str] = Counter()
    rows = []
    for kind, piece_id, text in pieces:
        rowid = piece_rowid(chat_id, kind, piece_id)
        if rowid is not None:
            found = words(text)
            for _ in range(WEIGHTS[kind]):
                counts.update(found)
            rows.append((rowid, text))
    conn.executemany("INSERT INTO history_pieces(rowid, text) VALUES (?, ?)", rows)
    if counts:
        counts[""] = sum(counts.values())
        conn.execute("INSERT INTO temp.history_build SELECT key, ?, value FROM json_each(?)",
                     (chat_id, json.dumps(counts)))
