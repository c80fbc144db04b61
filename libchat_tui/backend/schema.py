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

CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    text, chat_id UNINDEXED, kind UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
);
"""
