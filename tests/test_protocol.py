"""Frame decoding: strict, specific errors, no crash on anything."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libchat_tui import protocol as p
from libchat_tui.backend.queries import fts_query


def decode(obj: object) -> p.LibrarianFrame:
    return p.decode_librarian(json.dumps(obj))


def test_valid_command_and_signal() -> None:
    cmd = decode({"type": "send", "id": "c1", "chat_id": 3, "text": "Hi"})
    assert isinstance(cmd, p.Send)
    assert (cmd.type, cmd.id, cmd.chat_id, cmd.text, cmd.retry) == ("send", "c1", 3, "Hi", False)
    sig = decode({"type": "typing", "chat_id": 3})
    assert isinstance(sig, p.LibrarianTyping) and p.command_id(sig) is None


def test_every_frame_round_trips_through_its_class() -> None:
    ticket = p.CreateTicket(4, "Maya", "maya@example.edu", "Sunday hours", "body", id="c9", retry=True)
    assert p.decode_librarian(p.encode(ticket)) == ticket
    join = p.Join("Maya", "Open Sunday?", email=None, page="https://lib.example.edu/", id="p1")
    assert p.decode_patron(p.encode(join)) == join
    event = p.MessageEvent(7, {"id": 1, "chat_id": 4}, 3)
    assert p.decode_librarian_event(p.encode(event)) == event
    assert p.decode_patron_event(p.encode(p.QueueEvent(2))) == p.QueueEvent(2)


def test_the_patron_and_librarian_endpoints_accept_only_their_own_commands() -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_patron(json.dumps({"type": "accept", "id": "c", "chat_id": 1}))
    assert info.value.code == "unknown_type" and info.value.command_id == "c"
    with pytest.raises(p.ProtocolError) as info:
        p.decode_librarian(json.dumps({"type": "join", "id": "c", "name": "x", "question": "q"}))
    assert info.value.code == "unknown_type"


@pytest.mark.parametrize("raw", ['{"type":"send","id":"\\ud800","chat_id":1,"text":"x"}', b"\xff", "[1]", ""])
def test_garbage_gets_one_clear_error(raw: str | bytes) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_librarian(raw)
    assert info.value.code in ("bad_json", "bad_frame") and info.value.message.endswith(".")


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
        p.decode_librarian(frame)
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


def test_a_big_list_is_cut_into_pages_that_each_fit_a_frame() -> None:
    chats = [{"id": i, "question": "\x01" * 1_900} for i in range(400)]  # ~4.5 MB of JSON
    pages = p.pages(chats)
    assert [c for page in pages for c in page] == chats
    for page in pages:
        frame = p.encode(p.Snapshot(1, page, more=True))
        assert len(frame.encode()) < p.MAX_SERVER_FRAME_BYTES
    assert p.pages([]) == [[]]


def test_a_snapshot_in_pages_replaces_the_desk_once_the_last_page_is_in() -> None:
    from libchat_tui.model import DeskModel

    def chat(i: int) -> dict:  # type: ignore[type-arg]
        return {"id": i, "patron": {"name": "P", "email": None}, "question": "q", "state": "waiting",
                "created_at": "2026-11-30T10:00:00+00:00", "last_activity": "2026-11-30T10:00:00+00:00"}

    model = DeskModel("ana")
    changes = model.apply([p.Snapshot(5, [chat(1), chat(2)], more=True)])
    assert not changes.snapshot and model.chats == {}
    changes = model.apply([p.Snapshot(5, [chat(3)])])
    assert changes.snapshot and sorted(model.chats) == [1, 2, 3]
