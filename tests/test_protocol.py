"""Frame decoding: strict, specific errors, no crash on anything."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libchat_tui import protocol as p
from libchat_tui.backend.queries import fts_query


def decode(obj: object) -> p.Command:
    return p.decode_command(json.dumps(obj), p.LIBRARIAN_COMMANDS, p.LIBRARIAN_SIGNALS)


def test_valid_command_and_signal() -> None:
    cmd = decode({"type": "send", "id": "c1", "chat_id": 3, "text": "Hi"})
    assert (cmd.type, cmd.id, cmd["chat_id"], cmd["text"], cmd.retry) == ("send", "c1", 3, "Hi", False)
    sig = decode({"type": "typing", "chat_id": 3})
    assert sig.id is None


@pytest.mark.parametrize(
    ("obj", "code", "words"),
    [
        ({"type": "send", "id": "c", "chat_id": 3}, "invalid_field", "'text' is required"),
        ({"type": "send", "id": "c", "chat_id": 3, "text": "x" * 4001}, "too_long", "4000"),
        ({"type": "send", "id": "c", "chat_id": 3.5, "text": "x"}, "invalid_field", "integer"),
        ({"type": "send", "id": "x" * 65, "chat_id": 3, "text": "x"}, "invalid_field", "'id'"),
        ({"type": "note", "id": "c", "chat_id": 3, "text": " \n "}, "empty_text", "empty"),
        ({"type": "save_analytics", "id": "c", "chat_id": 3, "dataset": "Chat", "fields": []},
         "invalid_field", "object"),
    ],
)
def test_specific_errors(obj: dict, code: str, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(p.ProtocolError) as info:
        decode(obj)
    assert info.value.code == code and words in info.value.message


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@library.example.edu"])
def test_valid_emails(email: str) -> None:
    assert p.is_valid_email(email)


@pytest.mark.parametrize("email", ["", "a", "a@b", "a@@b.co", "a b@c.de", "a@b.c o", "@b.co", "a@.co"])
def test_invalid_emails(email: str) -> None:
    assert not p.is_valid_email(email)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(
                                  st.sampled_from(["type", "id", "chat_id", "text", "x"]), c, max_size=5),
                              max_leaves=12).map(json.dumps)))
def test_any_frame_decodes_or_raises_protocol_error(frame: str | bytes) -> None:
    try:
        p.decode_command(frame, p.LIBRARIAN_COMMANDS, p.LIBRARIAN_SIGNALS)
    except p.ProtocolError as exc:
        assert exc.code and exc.message


@pytest.mark.parametrize("text", ['"', "*", "NEAR(", "-", "a OR", "AND", "(", "col:x", "é ü 中文", '""'])
def test_fts_query_quotes_everything(text: str) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE s USING fts5(text)")
    conn.execute("INSERT INTO s VALUES (?)", (f"patron wrote {text} here",))
    query = fts_query(text)
    if query:
        conn.execute("SELECT * FROM s WHERE s MATCH ?", (query,)).fetchall()
