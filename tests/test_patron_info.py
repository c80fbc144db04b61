"""Patron information, typing and unread marks (issue 15, "A desk a team can staff").

The desk: `edit_patron` (any librarian; validated; a system line saying what changed; a
`chat` event for every console; applied once when retried) and `patron_record` (the
other chats and tickets of the same e-mail, without case, newest first, bounded). The
console, under Pilot on a real desk: the panel (f8) with page, browser, department and
wait; enter on an earlier chat opens it read-only; `e` corrects the name, and the list
row and the header follow; the patron's typing mark on the row and in the header, gone
after a few seconds or with their message; unread marks for a ticket and a drop and a
reconnect in a chat not in the pane; hostile page, browser and name shown inert.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from desk_ids import desk_id
from hostile import HOSTILE
from ui_support import Toasts, db, make_app, screen_strips, screen_text, wait_until
from wire import Peer, librarian, patron

from libchat_tui.backend import patron_info
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.backend.schema import SCHEMA
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.chat_record import ChatRecordScreen
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.screens.patron_edit import PatronEditScreen
from libchat_tui.ui.screens.patron_ticket import PatronTicketScreen
from libchat_tui.ui.widgets.chat_header import TYPING_TEXT, ChatHeader
from libchat_tui.ui.widgets.chat_list import TYPING_MARK, ChatList
from libchat_tui.ui.widgets.patron_panel import PatronPanel
from libchat_tui.vocabulary import short_browser

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
PAGE = "https://library.example.edu/hours?campus=main"


async def ask(backend: Backend, name: str = "Maya", email: str | None = "maya@example.edu",
              question: str = "Is the library open on Sunday?",
              **extra: Any) -> tuple[Peer, dict[str, Any], int]:
    """A patron joins (as the widget does: page and browser); returns them, the ack, the desk's id."""
    peer = await patron(backend.url)
    joined = await peer.ok("join", name=name, email=email, question=question, **extra)
    return peer, joined, desk_id(backend, joined)


def lines_of(backend: Backend, chat_id: int) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db(backend, "SELECT sender, text FROM messages WHERE chat_id=? ORDER BY id",
                                       chat_id)]


def stored_patron(backend: Backend, chat_id: int) -> dict[str, Any]:
    [(data,)] = db(backend, "SELECT data FROM chats WHERE id=?", chat_id)
    return dict(json.loads(data)["patron"])


# --- the desk: edit_patron ------------------------------------------------------------------------


async def test_any_librarian_corrects_the_patron_and_every_console_hears_it(backend: Backend) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    maya, _, chat_id = await ask(backend, email=None)
    await ben.ok("accept", chat_id=chat_id)  # Ben's chat: Ana, not its owner, corrects it
    result = await ana.ok("edit_patron", chat_id=chat_id, name="  Maya   Lin ", email=" maya@example.edu ")
    assert result["chat"]["patron"] == {"name": "Maya Lin", "email": "maya@example.edu"}

    said = "Ana corrected the patron's details (name: Maya → Maya Lin; e-mail: none → maya@example.edu)"
    for console in (ben, ana):
        event = await console.next_event("chat", id=chat_id)
        while event["chat"]["patron"]["name"] != "Maya Lin":
            event = await console.next_event("chat", id=chat_id)
        assert event["chat"]["patron"]["email"] == "maya@example.edu"
        line = await console.next_event("message", sender="system", text=said)
        assert line["message_count"] == event["chat"]["message_count"]
    assert stored_patron(backend, chat_id) == {"name": "Maya Lin", "email": "maya@example.edu"}
    assert lines_of(backend, chat_id)[-1] == ("system", said)
    assert backend.desk.chats[chat_id].patron_name == "Maya Lin"

    # The patron is not told; their next line carries the corrected name.
    await ben.ok("send", chat_id=chat_id, text="Yes, from noon.")
    heard = await maya.next_event("message")
    assert heard["message"]["text"] == "Yes, from noon."
    await maya.ok("message", text="Thanks!")
    line = await ben.next_event("message", sender="patron", text="Thanks!")
    assert line["message"]["author"] == "Maya Lin"

    # Only the e-mail this time: the line says just that.
    await ben.ok("edit_patron", chat_id=chat_id, name="Maya Lin", email=None)
    assert lines_of(backend, chat_id)[-1] == (
        "system", "Ben corrected the patron's details (e-mail: maya@example.edu → none)")


async def test_edit_patron_refuses_what_the_desk_would_refuse_and_stores_nothing(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    _maya, _, chat_id = await ask(backend)
    before = lines_of(backend, chat_id)
    refusals = [
        ({"chat_id": chat_id, "name": "   "}, "invalid_field"),
        ({"chat_id": chat_id, "name": "Maya", "email": "not an address"}, "invalid_email"),
        ({"chat_id": chat_id, "name": "Maya", "email": "maya@localhost"}, "invalid_email"),
        ({"chat_id": chat_id, "name": "M" * 101}, "too_long"),
        ({"chat_id": chat_id + 999, "name": "Maya"}, "unknown_chat"),
    ]
    for fields, code in refusals:
        reply = await ana.request("edit_patron", **fields)
        assert reply["type"] == "error" and reply["code"] == code, (fields, reply)
    assert stored_patron(backend, chat_id) == {"name": "Maya", "email": "maya@example.edu"}
    assert lines_of(backend, chat_id) == before
    # The same details again change nothing: no line, no event.
    result = await ana.ok("edit_patron", chat_id=chat_id, name="Maya", email="maya@example.edu")
    assert result["chat"]["patron"]["name"] == "Maya" and lines_of(backend, chat_id) == before


async def test_a_retried_edit_is_applied_once(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    _maya, _, chat_id = await ask(backend)
    fix = {"chat_id": chat_id, "name": "Maya Lin", "email": "maya@example.edu"}
    first = await ana.ok("edit_patron", id="fix-1", **fix)
    again = await ana.ok("edit_patron", id="fix-1", retry=True, **fix)
    assert again == first
    corrected = [text for sender, text in lines_of(backend, chat_id) if "corrected" in text]
    assert corrected == ["Ana corrected the patron's details (name: Maya → Maya Lin)"]
    assert backend.desk.chats[chat_id].message_count == 2  # the question and one line, not two


# --- the desk: patron_record ----------------------------------------------------------------------


async def test_the_record_finds_other_chats_and_tickets_of_the_email_without_case(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    first, _, first_id = await ask(backend, email="MAYA@Example.EDU", question="Where are the theses?")
    await first.ok("leave")
    _other, _, other_id = await ask(backend, name="Sam", email="sam@example.edu", question="Printing?")
    ticket = (await ana.ok("create_ticket", chat_id=other_id, name="Maya", email="Maya@example.edu",
                           subject="Thesis scans", body="We will send them."))["ticket"]
    second, _, second_id = await ask(backend, email="maya@example.edu", question="Renew my books")
    now, _, now_id = await ask(backend, email="maya@EXAMPLE.edu", question="Is it open Sunday?")
    await ana.ok("create_ticket", chat_id=now_id, name="Maya", email="maya@example.edu",
                 subject="About this chat", body="Excluded: it is this chat's.")

    record = await ana.ok("patron_record", chat_id=now_id)
    assert [c["id"] for c in record["chats"]] == [second_id, first_id]  # newest first, not this one
    assert [t["id"] for t in record["tickets"]] == [ticket["id"]]
    assert record["omitted"] == {"chats": 0, "tickets": 0}
    assert record["chats"][1]["question"] == "Where are the theses?"

    # From the first chat, the later ones are found too (and never Sam's).
    found = await ana.ok("patron_record", chat_id=first_id)
    assert {c["id"] for c in found["chats"]} == {second_id, now_id} and other_id not in found["chats"]

    # A chat without an e-mail has no record to look up.
    _anon, _, anon_id = await ask(backend, name="Anon", email=None)
    assert await ana.ok("patron_record", chat_id=anon_id) == {
        "chats": [], "tickets": [], "omitted": {"chats": 0, "tickets": 0}}
    reply = await ana.request("patron_record", chat_id=anon_id + 999)
    assert reply["type"] == "error" and reply["code"] == "unknown_chat"
    await second.close()
    await now.close()


async def test_the_record_is_bounded_in_count(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana", lib_id="ana")
    for number in range(patron_info.RECORD_LIMIT + 4):
        peer, _, _ = await ask(backend, question=f"Question {number}")
        await peer.ok("leave")
    _now, _, now_id = await ask(backend, question="And now?")
    record = await ana.ok("patron_record", chat_id=now_id)
    assert len(record["chats"]) == patron_info.RECORD_LIMIT
    assert record["omitted"] == {"chats": 4, "tickets": 0}
    assert record["chats"][0]["question"] == f"Question {patron_info.RECORD_LIMIT + 3}"  # the newest


def test_the_record_fits_one_frame_and_uses_the_email_index(tmp_path: Path) -> None:
    """Older or imported chats can hold more text than a `join` allows: the answer still fits."""
    conn = sqlite3.connect(tmp_path / "desk.sqlite3")
    conn.executescript(SCHEMA)
    big = "x" * 20_000
    now = "2026-05-01T10:00:00.000+00:00"
    for chat_id in range(1, 42):
        chat = {"id": chat_id, "patron": {"name": "Maya", "email": "maya@example.edu"}, "question": big,
                "state": "closed", "created_at": now, "last_activity": now}
        conn.execute("INSERT INTO chats(id, state, data, created_at) VALUES (?, 'closed', ?, ?)",
                     (chat_id, json.dumps(chat), now))
    record = patron_info.patron_record(conn, 41)
    size = len(json.dumps(record["chats"]).encode())
    assert 0 < len(record["chats"]) < 40 and size <= patron_info.RECORD_BUDGET
    assert record["omitted"]["chats"] == 40 - len(record["chats"])
    plan = " ".join(str(row) for row in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT data FROM chats WHERE {patron_info.CHAT_EMAIL} = lower(?)", ("m",)))
    assert "chats_patron_email" in plan
    plan = " ".join(str(row) for row in conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE lower(email) = lower(?)", ("m",)))
    assert "tickets_email" in plan


def test_browsers_are_named_as_people_say_them() -> None:
    agents = {
        FIREFOX: "Firefox 128 on Windows",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15": "Safari 17 on macOS",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0": "Edge 126 on Windows",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36": "Chrome 126 on Android",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/126.0 Mobile/15E148 Safari/604.1": "Chrome 126 on iOS",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 "
        "Safari/537.36": "Headless Chrome 156 on Linux",
        "curl/8.5.0": "curl/8.5.0",
        "": "not sent",
    }
    for agent, said in agents.items():
        assert short_browser(agent) == said, agent
    assert short_browser(None) == "not sent"
    assert len(short_browser("Z" * 300)) <= 60


# --- the console ------------------------------------------------------------------------------------


def dashboard(app: LibChatApp) -> DashboardScreen:
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


def panel(app: LibChatApp) -> PatronPanel:
    return app.screen.query_one(PatronPanel)


def row_text(app: LibChatApp, chat_id: int) -> str:
    """A chat's row in the list, as drawn."""
    chat_list = app.screen.query_one(ChatList)
    index = [option.id for option in chat_list.options].index(str(chat_id))
    return str(chat_list.options[index].prompt)


def header_text(app: LibChatApp) -> str:
    return str(app.screen.query_one(ChatHeader).render())


def details_text(app: LibChatApp) -> str:
    """The panel's facts about the patron, unwrapped."""
    return str(panel(app).query_one("#patron-details").render())


async def showing(pilot: Any, app: LibChatApp, chat_id: int) -> None:
    """Put the chat in the pane (highlight it in the list)."""
    dashboard(app).chat_list.select_chat(chat_id)
    await wait_until(pilot, lambda: dashboard(app).chat is not None and dashboard(app).chat.id == chat_id,
                     f"chat {chat_id} in the pane")


async def test_the_panel_shows_page_browser_department_and_wait(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    earlier, _, earlier_id = await ask(backend, email="MAYA@example.edu", question="Where are the theses?")
    await earlier.ok("leave")
    _maya, _, chat_id = await ask(backend, page=PAGE, browser=FIREFOX)
    await clock.advance(130)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat")
        await showing(pilot, app, chat_id)
        assert not panel(app).display
        await pilot.press("f8")
        await wait_until(pilot, lambda: "Same e-mail: 1 chat, 0 tickets" in screen_text(app), "the record")
        text = screen_text(app)
        assert "not proof of who" in text  # anyone can type another's e-mail (issue 22)
        for shown in ("Name     Maya", "E-mail   maya@example.edu", "Browser  Firefox 128 on Windows",
                      "Dept.    General", "Wait     still waiting: 2 min", "Asked from",
                      f"chat #{earlier_id} ■ ENDED", "Where are the theses?"):
            assert shown in text, shown
        assert details_text(app).endswith(f"Asked from\n{PAGE}")  # as plain text, wrapped on screen
        assert panel(app).display and dashboard(app).query_one("#transcript").display  # beside it

        assert await app.request("accept", chat_id=chat_id) is not None  # after 2 min 10 s
        await clock.advance(300)  # the wait stays what it was
        await wait_until(pilot, lambda: "Wait     2 min" in screen_text(app), "the wait, once accepted")
        await pilot.press("f8")
        await wait_until(pilot, lambda: not panel(app).display, "hidden again")
        assert "Browser  Firefox" not in screen_text(app)


async def test_the_wait_once_accepted_and_the_panel_at_80_by_24(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    _maya, _, chat_id = await ask(backend, page=PAGE, browser=FIREFOX)
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    await clock.advance(75)
    await ben.ok("accept", chat_id=chat_id)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat")
        await pilot.press("f8")  # from the list view: the chat view opens with the panel
        await wait_until(pilot, lambda: "Same e-mail: 0 chats, 0 tickets" in screen_text(app), "the record")
        text = screen_text(app)
        assert "Wait     1 min" in text and "Browser  Firefox 128 on Windows" in text
        assert "Patron" in text.splitlines()[-1] or "f8" in str(app.key_rows())
        assert len(text.splitlines()) == 24


async def test_enter_opens_an_earlier_chat_and_ticket_read_only(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    earlier, _, earlier_id = await ask(backend, question="Where are the theses?")
    await ben.ok("accept", chat_id=earlier_id)
    await earlier.ok("message", text="In the basement?")
    await earlier.ok("leave")
    await clock.advance(3600)
    ticket = (await ben.ok("create_ticket", chat_id=earlier_id, name="Maya", email="maya@example.edu",
                           subject="Thesis scans", body="Scans attached next week."))["ticket"]
    _maya, _, chat_id = await ask(backend)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat")
        await showing(pilot, app, chat_id)
        await pilot.press("f8")
        await wait_until(pilot, lambda: panel(app).record_list.option_count == 2, "chat and ticket listed")
        assert panel(app).record_list.has_focus
        options = [option.id for option in panel(app).record_list.options]
        assert options == [f"ticket:{ticket['id']}", f"chat:{earlier_id}"]  # newest first

        await pilot.press("down", "enter")  # the earlier chat
        await wait_until(pilot, lambda: isinstance(app.screen, ChatRecordScreen), "the chat record")
        assert isinstance(app.screen, ChatRecordScreen) and app.screen.chat_id == earlier_id
        await wait_until(pilot, lambda: "In the basement?" in screen_text(app), "its transcript")
        assert not app.screen.query("Composer")  # read-only: nothing to send from
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back")

        panel(app).record_list.focus()
        await pilot.press("up", "enter")  # the ticket
        await wait_until(pilot, lambda: isinstance(app.screen, PatronTicketScreen), "the ticket")
        await wait_until(pilot, lambda: "Scans attached next week." in screen_text(app), "its body")
        assert "Subject: Thesis scans" in screen_text(app)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatRecordScreen), "its chat")
        assert isinstance(app.screen, ChatRecordScreen) and app.screen.chat_id == earlier_id
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "back to the desk")


async def test_correcting_the_name_updates_the_row_and_the_header(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    _maya, _, chat_id = await ask(backend, name="Mya", email=None)
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(160, 40), notifications=True, message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat")
        await showing(pilot, app, chat_id)
        await pilot.press("f8")
        await wait_until(pilot, lambda: "No e-mail address" in screen_text(app), "the panel")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, PatronEditScreen), "the dialog")
        name = app.screen.query_one("#patron-edit-name")
        await wait_until(pilot, lambda: name.has_focus, "the name field")
        await pilot.press("ctrl+u", *"Maya Lin", "tab", *"maya@@example")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "is not an e-mail address" in screen_text(app), "says why")
        assert stored_patron(backend, chat_id)["name"] == "Mya"  # nothing sent
        await pilot.press("ctrl+u", *"maya@example.edu", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "saved and closed")
        await wait_until(pilot, lambda: "Maya Lin" in row_text(app, chat_id), "the row follows")
        await wait_until(pilot, lambda: "Maya Lin" in header_text(app), "the header follows")
        assert "<maya@example.edu>" in header_text(app)
        await wait_until(pilot, lambda: "E-mail   maya@example.edu" in screen_text(app), "the panel too")
        assert "Patron's details corrected" in toasts.messages
    assert stored_patron(backend, chat_id) == {"name": "Maya Lin", "email": "maya@example.edu"}
    event = await ben.next_event("message", sender="system")
    assert event["message"]["text"] == (
        "Ana corrected the patron's details (name: Mya → Maya Lin; e-mail: none → maya@example.edu)")


async def test_the_typing_mark_comes_with_the_signal_and_goes(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    maya, _, chat_id = await ask(backend)
    sam, _, sam_id = await ask(backend, name="Sam", email=None, question="Printing?")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: {chat_id, sam_id} <= set(app.model.chats), "both chats")
        await showing(pilot, app, chat_id)
        assert TYPING_MARK not in row_text(app, chat_id) and TYPING_TEXT not in header_text(app)

        await maya.raw(json.dumps({"type": "typing"}))
        await wait_until(pilot, lambda: TYPING_MARK in row_text(app, chat_id), "the row's mark")
        await wait_until(pilot, lambda: TYPING_TEXT in header_text(app), "the header says it")
        assert "Patron is typing…" in screen_text(app)
        assert TYPING_MARK not in row_text(app, sam_id)

        await clock.advance(6)  # no further signal: it goes
        await wait_until(pilot, lambda: TYPING_MARK not in row_text(app, chat_id), "the row's mark gone")
        await wait_until(pilot, lambda: TYPING_TEXT not in header_text(app), "the header's gone")

        await sam.raw(json.dumps({"type": "typing"}))  # a chat not in the pane: its row only
        await wait_until(pilot, lambda: TYPING_MARK in row_text(app, sam_id), "Sam's mark")
        assert TYPING_TEXT not in header_text(app)
        await sam.ok("message", text="Where is the printer?")  # the message clears it at once
        await wait_until(pilot, lambda: TYPING_MARK not in row_text(app, sam_id), "gone with the message")


async def test_unread_marks_for_a_ticket_and_a_drop_and_a_reconnect(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    _maya, _, chat_id = await ask(backend)
    sam, sam_joined, sam_id = await ask(backend, name="Sam", email=None, question="Printing?")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: {chat_id, sam_id} <= set(app.model.chats), "both chats")
        for accepted in (sam_id, chat_id):  # Ana answers both; Maya's is in the pane
            assert await app.request("accept", chat_id=accepted) is not None
        await showing(pilot, app, chat_id)
        assert "new" not in row_text(app, sam_id)

        sam.ws.transport.abort()  # Sam's connection drops
        await wait_until(pilot, lambda: "✉ 1 new" in row_text(app, sam_id), "the drop is unread")
        back = await patron(backend.url)
        await back.ok("resume", token=sam_joined["resume_token"])
        await wait_until(pilot, lambda: "✉ 2 new" in row_text(app, sam_id), "the reconnect too")

        await showing(pilot, app, sam_id)  # opening the chat reads them
        await wait_until(pilot, lambda: "new" not in row_text(app, sam_id), "read")
        await showing(pilot, app, chat_id)

        back.ws.transport.abort()  # dropped for good: the grace period runs out
        await wait_until(pilot, lambda: "✉ 1 new" in row_text(app, sam_id), "the second drop")
        await clock.advance(61)
        await wait_until(pilot, lambda: app.model.chats[sam_id].state.value == "disconnected", "over")
        last = await patron(backend.url)
        resumed = await last.ok("resume", token=sam_joined["resume_token"])
        assert resumed["ticket_offered"]
        await last.ok("ticket", email="sam@example.edu", details="Still need the printer.")
        await wait_until(pilot, lambda: "✉ 2 new" in row_text(app, sam_id), "the ticket is unread")
        assert "new" not in row_text(app, chat_id)  # the chat in the pane has nothing unseen
        await showing(pilot, app, sam_id)
        await wait_until(pilot, lambda: "new" not in row_text(app, sam_id), "read again")


async def test_hostile_page_browser_and_name_are_inert(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Boss", lib_id="boss")
    ids = []
    for number, text in enumerate(HOSTILE[:24]):
        _peer, _, chat_id = await ask(backend, name=("N" + text)[:100], email=f"p{number}@example.edu",
                                      question="Q", page=("P" + text)[:2000], browser=("B" + text)[:300])
        await ana.ok("edit_patron", chat_id=chat_id, name=("Fixed" + text)[:100])
        ids.append(chat_id)
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: set(ids) <= set(app.model.chats), "every chat")
        await showing(pilot, app, ids[0])
        await pilot.press("f8")
        for chat_id in ids:
            await showing(pilot, app, chat_id)
            await wait_until(pilot, lambda c=chat_id: panel(app).chat is not None and panel(app).chat.id == c,
                             "the panel follows the pane")
            await pilot.pause()
            assert "Asked from" in screen_text(app)
            for strip in screen_strips(app):
                for segment in strip:
                    assert not any(0x80 <= ord(c) < 0xA0 or (ord(c) < 0x20 and c not in "\n\t")
                                   or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069
                                   for c in segment.text), repr(segment.text)
                    if segment.style is not None:
                        assert not segment.style.link and "@click" not in str(segment.style.meta)
        await showing(pilot, app, ids[0])
        await wait_until(pilot, lambda: "[bold]x[/]" in screen_text(app), "markup shown as typed")
        assert app.is_running
