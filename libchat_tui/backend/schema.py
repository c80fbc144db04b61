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

-- The first, per-row search index; no longer written (history search uses history_pieces
-- and history_terms below). Kept so older databases and their dumps stay as they were.
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(
    text, chat_id UNINDEXED, kind UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE IF NOT EXISTS meta (        -- facts about the database itself
    key TEXT PRIMARY KEY,                -- search_index: the version of the index built
    value TEXT NOT NULL
) WITHOUT ROWID;

-- History search (backend/search_index.py): every chat as one document. (Not named
-- search_*: the doctor's dump skips names that start with a full-text table's name and _.)
-- One row per piece of a chat (summary, message, note, ticket, RA entry);
-- rowid = chat_id << 36 | kind << 33 | piece id, so a chat's pieces are one rowid range.
CREATE VIRTUAL TABLE IF NOT EXISTS history_pieces USING fts5(
    text, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS history_terms (   -- per chat, each word's weighted count
    term TEXT NOT NULL,                  -- '' holds the chat's length (all its words)
    chat_id INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (term, chat_id)
) WITHOUT ROWID;

-- The team desk (backend/team.py): the departments each librarian monitors.
CREATE TABLE IF NOT EXISTS librarians (
    id TEXT PRIMARY KEY,                 -- the console's librarian id
    name TEXT NOT NULL,
    monitor TEXT NOT NULL,               -- JSON list of department names
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Patron information (backend/patron_info.py): the other chats and tickets of an e-mail
-- address. Expression indexes: every write of a chat or ticket keeps them, with no code.
CREATE INDEX IF NOT EXISTS chats_patron_email ON chats(lower(json_extract(data, '$.patron.email')));
CREATE INDEX IF NOT EXISTS tickets_email ON tickets(lower(email));

-- Canned messages (backend/canned.py): the team's shared replies, edited from any console.
CREATE TABLE IF NOT EXISTS canned (
    name TEXT PRIMARY KEY COLLATE NOCASE,  -- 1 to 40 characters; "Hours" and "hours" are one
    text TEXT NOT NULL,                  -- 1 to 2,000 characters, {patron_name} etc. as typed
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL             -- the librarian's name, or "config.toml" when seeded
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS canned_seeded (   -- [canned] names already copied in: seeded once,
    name TEXT PRIMARY KEY COLLATE NOCASE     -- so one the team deleted stays deleted
) WITHOUT ROWID;

-- Dismiss and block (backend/blocks.py). Where each chat's patron came from, written with
-- the chat at `join`: the address per-address limits count, and the widget's browser id.
CREATE TABLE IF NOT EXISTS chat_origins (
    chat_id INTEGER PRIMARY KEY REFERENCES chats(id),
    address TEXT,                        -- NULL: not known
    client_id TEXT                       -- NULL: the patron's client sent none
);
CREATE TABLE IF NOT EXISTS blocks (      -- new chats from the address or browser are refused
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id),   -- the chat the block ended
    patron_name TEXT NOT NULL,
    address TEXT,
    client_id TEXT,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,            -- the librarian's name
    created_by_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    until TEXT NOT NULL,                 -- in force while now < until and not lifted
    lifted_at TEXT,
    lifted_by TEXT                       -- the librarian's name
);
CREATE INDEX IF NOT EXISTS blocks_in_force ON blocks(until) WHERE lifted_at IS NULL;
"""
