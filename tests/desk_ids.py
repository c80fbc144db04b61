"""The desk's own id of a chat a test's patron joined.

Patrons know their chat only by an opaque reference (`chat_id` in the `join` ack is a
string derived from the resume token); the desk's integer ids are for librarians. Tests
that join as a patron and then act as a librarian look the desk's id up here, in the
running desk, by the resume token the patron got.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from libchat_tui.backend.rows import token_key
from libchat_tui.backend.runtime import DB_NAME, Backend


def _token(patron: Any) -> str:
    if isinstance(patron, dict):
        return str(patron["resume_token"])
    if isinstance(patron, str):
        return patron
    return str(patron.resume_token)


def desk_id_in(data_dir: Path, patron: Any) -> int:
    """The same for a desk running in another process (`serve`), read from its database."""
    with sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT id FROM chats WHERE resume_token=?",
                           (token_key(_token(patron)),)).fetchone()
    assert row is not None, "no open chat has this resume token"
    return int(row[0])


def desk_id(backend: Backend, patron: Any) -> int:
    """The desk's id of a patron's chat. `patron`: the `join`/`resume` ack (a dict), a
    resume token, or anything with a `resume_token` (a PatronSession, a simulator
    result). The chat must not be closed yet (closing retires its resume token)."""
    chat_id = backend.desk.chat_for_token(_token(patron))
    assert chat_id is not None, "no open chat has this resume token"
    return chat_id
