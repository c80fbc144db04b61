"""Read-only queries over the store: history search, ticket lists, daily statistics.

Plain functions over a sqlite3 connection, so the server (reader thread) and the
command-line exports (no backend running) share them.

History search reads the index of `search_index.py`: the query's words are looked up per
chat in `history_terms` (every word must occur somewhere in a chat, the last as a prefix),
chats are ranked by BM25 with the whole chat as the document, and a snippet for each is
cut from the first of its pieces in `history_pieces` that holds the words.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain import OPEN_STATES, Chat
from . import search_index
from .rows import TICKET_COLUMNS, ticket_from_row

#: Query words beyond this many are ignored (each one is a join).
MAX_WORDS = 16
#: Snippets are cut to this many characters.
SNIPPET_CHARS = 200
_K1, _B = 1.2, 0.75  # BM25
_SPACES = re.compile(r"\s+")


def fts_query(text: str) -> str:
    """A user's search text as a safe FTS5 query: every word quoted, all words required.

    History search matches plain words (`HistoryQuery`), not FTS5 syntax; it still asks
    this whether there is a query at all (blank, or nothing but lone `"`: every closed chat).

    FTS5 raises a syntax error on raw input such as `"`, `*`, `NEAR(` or a leading `-`;
    quoting each term (doubling inner quotes) makes any input a plain phrase match. The
    last word matches as a prefix, so results appear while typing.
    """
    words = [w for w in text.split() if w.strip('"') or w == '""']
    terms = ['"' + w.replace('"', '""') + '"' for w in words]
    if terms:
        terms[-1] += "*"
    return " ".join(terms)


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """Closed chats found by a history search, best match first (newest first unsearched)."""

    chats: list[dict[str, Any]]
    query: HistoryQuery | None = None
    found: tuple[Found, ...] = ()

    def snippets(self, conn: sqlite3.Connection,
                 chat_ids: Collection[int]) -> dict[int, Snippet]:
        """Why each of `chat_ids` matched (only chats found by a query have one)."""
        if self.query is None:
            return {}
        return _snippets(conn, self.query, [f for f in self.found if f.chat_id in chat_ids])


def search_history(conn: sqlite3.Connection, query: str, limit: int = 100) -> HistoryResult:
    """Closed chats; with a query, those in which every word occurs somewhere (patron name and
    e-mail, librarian, question, messages, notes, tickets, RA entries), best match first."""
    if not fts_query(query):  # blank (or nothing but quote marks): every closed chat
        rows = conn.execute(
            "SELECT data FROM chats WHERE state='closed' ORDER BY closed_at DESC, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return HistoryResult([json.loads(r[0]) for r in rows])
    parsed = HistoryQuery.parse(query)
    found = _rank(conn, parsed, limit)
    ids = [f.chat_id for f in found]
    marks = ",".join("?" * len(ids))
    data = dict(conn.execute(f"SELECT id, data FROM chats WHERE id IN ({marks})", ids).fetchall())
    return HistoryResult([json.loads(data[i]) for i in ids if i in data], parsed, tuple(found))


def history(conn: sqlite3.Connection, query: str, limit: int = 100) -> list[dict[str, Any]]:
    """The chats of `search_history` (without snippets)."""
    return search_history(conn, query, limit).chats


def tickets(conn: sqlite3.Connection, status: str = "all") -> list[dict[str, Any]]:
    """Tickets, open first, newest first within each status."""
    where = "" if status == "all" else "WHERE status = ?"
    params: tuple[Any, ...] = () if status == "all" else (status,)
    rows = conn.execute(
        f"SELECT {TICKET_COLUMNS} FROM tickets {where}"
        " ORDER BY CASE status WHEN 'open' THEN 0 ELSE 1 END, id DESC",
        params,
    ).fetchall()
    return [ticket_from_row(r) for r in rows]


def day_bounds(day: str, utc_offset_minutes: int) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day starts and ends."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(minutes=utc_offset_minutes)
    return start, start + timedelta(days=1)


def day_stats(conn: sqlite3.Connection, day: str, utc_offset_minutes: int = 0) -> dict[str, Any]:
    """The figures of the statistics screen for one local day."""
    start, end = day_bounds(day, utc_offset_minutes)
    chats = [
        Chat.from_wire(json.loads(r[0]))
        for r in conn.execute(
            "SELECT data FROM chats WHERE created_at >= ? AND created_at < ?",
            (start.isoformat(timespec="milliseconds"), end.isoformat(timespec="milliseconds")),
        )
    ]
    waits = [c.wait_seconds for c in chats if c.wait_seconds is not None]
    durations = [
        (c.ended_at - c.accepted_at).total_seconds()
        for c in chats
        if c.accepted_at is not None and c.ended_at is not None
    ]
    missed = sum(1 for c in chats if c.accepted_at is None and c.ended_at is not None)
    per_hour = [0] * 24
    offset = timedelta(minutes=utc_offset_minutes)
    for c in chats:
        per_hour[(c.created_at + offset).hour] += 1
    read_scale = {str(level): 0 for level in range(1, 7)}
    ids = [c.id for c in chats]
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for (fields,) in conn.execute(f"SELECT fields FROM analytics WHERE chat_id IN ({marks})", part):
            level = json.loads(fields).get("read_scale")
            if str(level) in read_scale:
                read_scale[str(level)] += 1
    return {
        "day": day,
        "chats": len(chats),
        "missed": missed,
        "answered": sum(1 for c in chats if c.accepted_at is not None),
        "median_wait_seconds": statistics.median(waits) if waits else None,
        "median_duration_seconds": statistics.median(durations) if durations else None,
        "read_scale": read_scale,
        "per_hour": per_hour,
        # The patrons' 1-5 star ratings of the day's chats (from the widget, after the chat).
        "ratings": {str(n): sum(1 for c in chats if c.rating == n) for n in range(1, 6)},
    }


def analytics_rows(conn: sqlite3.Connection, dataset: str, start: str, end: str) -> list[tuple[Any, ...]]:
    """Entries of one dataset whose chat started on days start..end (inclusive)."""
    return conn.execute(
        "SELECT a.id, a.chat_id, a.fields, a.author, a.created_at, a.updated_at FROM analytics a"
        " JOIN chats c ON c.id = a.chat_id WHERE a.dataset = ?"
        " AND substr(c.created_at, 1, 10) BETWEEN ? AND ? ORDER BY c.created_at, a.id",
        (dataset, start, end),
    ).fetchall()


# --- history search (over the index of search_index.py) --------------------------------


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What a librarian typed, as index terms; the last one may match as a prefix."""

    terms: tuple[str, ...]
    prefix: bool

    @classmethod
    def parse(cls, text: str) -> HistoryQuery:
        found = search_index.words(text)
        prefix = bool(found) and len(found[-1]) > 1  # a lone letter as a prefix matches nearly all
        terms = list(dict.fromkeys(found))
        if prefix:  # the prefix covers the same word typed earlier in full
            terms = [t for t in terms if t != found[-1]] + [found[-1]]
        if len(terms) > MAX_WORDS:  # keep the last word: it is the one being typed
            terms = terms[: MAX_WORDS - 1] + terms[-1:]
        return cls(tuple(terms), prefix)


@dataclass(frozen=True, slots=True)
class Found:
    """A chat that matched every word: its score, and its index terms for the prefix."""

    chat_id: int
    score: float
    prefix_terms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Word:
    """One query word as the index sees it: the terms it stands for (None: too many to list)."""

    text: str
    terms: tuple[str, ...] | None

    def table(self, alias: str, values: dict[str, Any]) -> tuple[str, str]:
        """(FROM item, condition) giving `alias`.chat_id and .hits (and .terms for a range) of
        the chats holding this word; its parameters go into `values`."""
        if self.terms is not None and len(self.terms) == 1:
            values[alias] = self.terms[0]
            return f"history_terms AS {alias}", f"{alias}.term = :{alias}"
        if self.terms is not None:
            names = []
            for j, term in enumerate(self.terms):
                values[f"{alias}_{j}"] = term
                names.append(f":{alias}_{j}")
            return (f"(SELECT chat_id, SUM(hits) AS hits FROM history_terms WHERE term IN ({','.join(names)})"
                    f" GROUP BY chat_id) AS {alias}"), ""
        values[alias], values[f"{alias}_end"] = self.text, self.text + "\U0010ffff"
        return ("(SELECT chat_id, SUM(hits) AS hits, group_concat(term, ' ') AS terms FROM history_terms"
                f" WHERE term >= :{alias} AND term < :{alias}_end GROUP BY chat_id) AS {alias}"), ""

    def chats(self, conn: sqlite3.Connection) -> int:
        """In how many chats the word occurs."""
        params: tuple[str, ...]
        if self.terms is not None and len(self.terms) == 1:
            sql, params = "SELECT count(*) FROM history_terms WHERE term = ?", self.terms
        elif self.terms is not None:
            marks = ",".join("?" * len(self.terms))
            sql = f"SELECT count(DISTINCT chat_id) FROM history_terms WHERE term IN ({marks})"
            params = self.terms
        else:
            sql = "SELECT count(DISTINCT chat_id) FROM history_terms WHERE term >= ? AND term < ?"
            params = (self.text, self.text + "\U0010ffff")
        return int(conn.execute(sql, params).fetchone()[0])


#: A prefix standing for more index terms than this is matched as a range.
_LISTED_TERMS = 32


def _expand(conn: sqlite3.Connection, prefix: str) -> tuple[str, ...] | None:
    """The index terms starting with `prefix`, one seek each; None if there are too many."""
    found: list[str] = []
    after, end = prefix, prefix + "\U0010ffff"
    row = conn.execute("SELECT term FROM history_terms WHERE term >= ? AND term < ? LIMIT 1",
                       (prefix, end)).fetchone()
    while row is not None:
        if len(found) == _LISTED_TERMS:
            return None
        after = row[0]
        found.append(after)
        row = conn.execute("SELECT term FROM history_terms WHERE term > ? AND term < ? LIMIT 1",
                           (after, end)).fetchone()
    return tuple(found)


def _rank(conn: sqlite3.Connection, query: HistoryQuery, limit: int) -> list[Found]:
    """Closed chats holding every query term (the last as a prefix), best first."""
    if not query.terms:
        return []
    last = len(query.terms) - 1
    words_ = [_Word(t, _expand(conn, t) if query.prefix and i == last else (t,))
              for i, t in enumerate(query.terms)]
    if any(w.terms == () for w in words_):
        return []
    counted = sorted((w.chats(conn), i) for i, w in enumerate(words_))
    if counted[0][0] == 0:
        return []
    chats = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM chats").fetchone()[0])
    avg = conn.execute("SELECT avg(hits) FROM (SELECT hits FROM history_terms WHERE term = ''"
                       " ORDER BY chat_id DESC LIMIT 1000)").fetchone()[0] or 1.0
    marks = ",".join("?" * len(OPEN_STATES))
    still_open = int(conn.execute(f"SELECT count(*) FROM chats WHERE state IN ({marks})",
                                  tuple(s.value for s in OPEN_STATES)).fetchone()[0])
    # Ranked among all chats, then the open ones left out: `inner` leaves room for them.
    values: dict[str, Any] = {"avg": float(avg), "inner": limit + still_open, "limit": limit}
    tables, where, scores, terms_col = [], "", [], "NULL"
    for n, (df, i) in enumerate(counted):  # the rarest word first: it drives the join
        alias = f"t{n}"
        table, condition = words_[i].table(alias, values)
        if n == 0:
            tables.append(table)
            where = f"WHERE {condition}" if condition else ""
        else:
            tables.append(f"JOIN {table} ON " + " AND ".join(
                c for c in (condition, f"{alias}.chat_id = t0.chat_id") if c))
        if words_[i].terms is None:
            terms_col = f"{alias}.terms"
        values[f"idf{n}"] = math.log(1 + (max(chats, df) - df + 0.5) / (df + 0.5))
        scores.append(f":idf{n} * {alias}.hits * {_K1 + 1} / ({alias}.hits + len.k)")
    sql = (
        "SELECT r.chat_id, r.score, r.terms FROM ("
        f" SELECT t0.chat_id AS chat_id, {' + '.join(scores)} AS score, {terms_col} AS terms"
        f" FROM {' '.join(tables)}"
        f" JOIN (SELECT chat_id, {_K1} * ({1 - _B} + {_B} * hits / :avg) AS k"
        "        FROM history_terms WHERE term = '') AS len ON len.chat_id = t0.chat_id"
        f" {where} ORDER BY score DESC, t0.chat_id DESC LIMIT :inner"
        ") AS r JOIN chats AS c ON c.id = r.chat_id WHERE c.state = 'closed'"
        " ORDER BY r.score DESC, c.closed_at DESC, c.id DESC LIMIT :limit"
    )
    listed = words_[last].terms if query.prefix else None
    return [Found(chat_id, score, tuple(terms.split()[:8]) if terms else listed or ())
            for chat_id, score, terms in conn.execute(sql, values)]


@dataclass(frozen=True, slots=True)
class Snippet:
    """Why a chat matched: plain text and the [start, end) spans of the words that did."""

    text: str
    marks: tuple[tuple[int, int], ...]

    def to_wire(self) -> dict[str, Any]:
        return {"text": self.text, "marks": [list(m) for m in self.marks]}


#: How many of a chat's pieces per word are looked at to find one holding every word.
_PIECES_PER_WORD = 64
#: Words of context a snippet keeps around the matched words.
_WINDOW = 14


def _snippets(conn: sqlite3.Connection, query: HistoryQuery,
              found: Iterable[Found]) -> dict[int, Snippet]:
    """A snippet per chat: from the first piece that holds every word (summary, tickets, RA,
    notes, then messages), else from the first piece holding each word."""
    shown: dict[int, Snippet] = {}
    for hit in found:
        phrases = _phrases(query, hit)
        low, high = search_index.chat_range(hit.chat_id)
        if len(phrases) == 1:
            chosen = _pieces(conn, phrases[0], low, high, 1)
        else:
            holding = [_pieces(conn, phrase, low, high, _PIECES_PER_WORD) for phrase in phrases]
            if not all(holding):
                continue  # a word FTS5 splits differently from `words`: no snippet, still a result
            every = set(holding[0]).intersection(*holding[1:])
            chosen = [min(every)] if every else list(dict.fromkeys(pieces[0] for pieces in holding))[:3]
        fragments = []
        for rowid in chosen:
            row = conn.execute("SELECT text FROM history_pieces WHERE rowid = ?", (rowid,)).fetchone()
            label = search_index.LABELS.get(search_index.kind_of(rowid), "")
            fragments.append(_cut(str(row[0]), label, query, SNIPPET_CHARS // len(chosen)))
        snippet = _join(fragments)
        if snippet is not None:
            shown[hit.chat_id] = snippet
    return shown


def _phrases(query: HistoryQuery, hit: Found) -> list[str]:
    """The query as FTS5 phrases, the prefix replaced by the terms this chat has for it."""
    phrases = [f'"{t}"' for t in (query.terms[:-1] if query.prefix else query.terms)]
    if query.prefix:
        have = hit.prefix_terms or query.terms[-1:]
        phrases.append("(" + " OR ".join(f'"{t}"' for t in have) + ")")
    return phrases


def _pieces(conn: sqlite3.Connection, phrase: str, low: int, high: int, limit: int) -> list[int]:
    """The first pieces (rowids) of one chat holding a phrase, in rowid order."""
    return [r[0] for r in conn.execute(
        "SELECT rowid FROM history_pieces WHERE history_pieces MATCH ? AND rowid BETWEEN ? AND ? LIMIT ?",
        (phrase, low, high, limit))]


#: In a longer piece, only this much text around the first match is looked at for a snippet.
_LONG = 4_000


def _cut(text: str, label: str, query: HistoryQuery, room: int) -> tuple[str, list[tuple[int, int]]]:
    """The part of one piece around its matched words, as one line: (text, marks)."""
    exact = set(query.terms[:-1] if query.prefix else query.terms)
    prefix = query.terms[-1] if query.prefix else None
    if len(text) > _LONG:  # a long ticket or note: start near the first match
        pattern = "|".join([*map(re.escape, exact), *([re.escape(prefix)] if prefix else [])])
        first = re.search(rf"(?<![^\W_])(?:{pattern})", text.lower()) if text.isascii() else None
        begin = 0 if first is None else max(0, text.rfind(" ", 0, max(0, first.start() - 300)) + 1)
        text = ("…" if begin else "") + text[begin:begin + _LONG]
    spans: list[tuple[int, int, str | None]] = []  # each word: where, and the query word it matched
    simple = text.isascii()  # lower case keeps every offset: fold the whole text at once
    for m in search_index.WORD.finditer(text.lower() if simple else text):
        folded = m.group() if simple else "".join(search_index.words(m.group()))
        folded = folded[: search_index.MAX_TERM]
        term = folded if folded in exact else prefix if prefix and folded.startswith(prefix) else None
        spans.append((m.start(), m.end(), term))
    hits = [i for i, span in enumerate(spans) if span[2] is not None]
    first_word = 0
    if hits and len(text) > room:  # the window of words that shows the most different query words
        best = -1
        for start in hits:
            shown = len({spans[j][2] for j in hits if start <= j < start + _WINDOW})
            if shown > best:
                best, first_word = shown, start
        first_word = max(0, first_word - 3)
    out, marks = f"{label}: " + ("…" if first_word else ""), list[tuple[int, int]]()
    at, limit = (spans[first_word][0] if first_word else 0), room
    for begin, end, term in spans[first_word:]:
        gap = _SPACES.sub(" ", text[at:begin])
        if len(out) + len(gap) + end - begin > limit:
            return out.rstrip() + "…", marks
        out += gap
        if term is not None:
            marks.append((len(out), len(out) + end - begin))
        out += text[begin:end]
        at = end
    tail = _SPACES.sub(" ", text[at:])
    if len(out) + len(tail) > limit:
        tail = tail[: max(0, limit - len(out) - 1)] + "…"
    return out + tail, marks


def _join(fragments: list[tuple[str, list[tuple[int, int]]]]) -> Snippet | None:
    """Fragments joined by " · ", cut to SNIPPET_CHARS."""
    if not fragments:
        return None
    text, marks = "", []
    for fragment, spans in fragments:
        if text:
            text += " · "
        marks += [(s + len(text), e + len(text)) for s, e in spans]
        text += fragment
    if len(text) > SNIPPET_CHARS:
        text = text[: SNIPPET_CHARS - 1] + "…"
        marks = [(s, min(e, SNIPPET_CHARS - 1)) for s, e in marks if s < SNIPPET_CHARS - 1]
    return Snippet(text, tuple(marks))
