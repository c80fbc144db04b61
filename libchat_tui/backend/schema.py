"""The SQLite schema of the desk store (created if missing; additive changes only)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    data TEXT NOT NULL,              -- the chat as on the wire (domain.Chat.to_wire)
    resume_token TEXT UNIQUE,
    patron_connected INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS chats_state ON chats(state);
CREATE INDEX IF NOT EXISTS chats_closed ON chats(closed_at);
CREATE INDEX IF NOT EXISTS chats_created ON chats(created_at);

CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id),
    sender TEXT NOT NULL,            -- patron | librarian | system
    author TEXT NOT NULL,
    librarian_id TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_chat ON messages(chat_id, id);

CREATE TABLE IF NOT EXISTS state_events (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    at TEXT NOT NULL,
    by_kind TEXT NOT NULL,
    by_id TEXT NOT NULL,
    by_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS state_events_chat ON state_events(chat_id, id);

CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id),
    librarian_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_chat ON notes(chat_id, id);

CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,            -- open | closed
    source TEXT NOT NULL,            -- librarian | patron
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS tickets_chat ON tickets(chat_id);

CREATE TABLE IF NOT EXISTS analytics (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id),
    dataset TEXT NOT NULL,
    fields TEXT NOT NULL,            -- JSON object
    librarian_id TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (chat_id, dataset)
);

CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    frame TEXT NOT NULL              -- the JSON frame exactly as sent to librarians
);

CREATE TABLE IF NOT EXISTS commands (
    librarian_id TEXT NOT NULL,
    command_id TEXT NOT NULL,
    result TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (librarian_id, command_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS push_jobs (   -- tickets and RA entries on their way to LibAnswers
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- ticket | analytics
    record_id INTEGER NOT NULL,      -- tickets.id or analytics.id
    payload TEXT NOT NULL,           -- JSON: the record as it is to be sent
    version INTEGER NOT NULL DEFAULT 1,   -- bumped when the record is edited
    marker TEXT NOT NULL,            -- sent along (internal note) to recognise it remotely
    state TEXT NOT NULL,             -- waiting | sending | sent | refused
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', -- why it waits or was refused, in the API's words
    refused_by TEXT,                 -- libanswers | settings | unsure
    uncertain INTEGER NOT NULL DEFAULT 0, -- a request may have arrived without an answer
    remote_id TEXT,
    remote_url TEXT,
    sent_version INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, record_id)
);
CREATE INDEX IF NOT EXISTS push_jobs_due ON push_jobs(state, next_try_at);

CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    text, chat_id UNINDEXED, kind UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
);
"""
