"""Plain mode on a team desk: presence, departments, transfer, canned messages, the patron
panel, dismiss, block and missed chats, each typed at the prompt as a screen-reader user
would, against a real backend over real sockets (port 0, a fake clock set to now).

Plain mode runs in a pseudo terminal (plain_support.Terminal); colleagues are raw
librarian connections (wire.librarian), patrons `PatronSession`s or raw patron peers.
The unit tests first hold the command registry, the handlers, /help and the command table
in docs/accessibility.md together.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from desk_ids import desk_id
from plain_support import Terminal, assert_clean, config, patron_hears
from wire import Peer, librarian
from wire import patron as raw_patron

from libchat_tui import protocol as p
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.domain import Action, Chat, ChatState, TransferOffer
from libchat_tui.domain import librarian as lib_actor
from libchat_tui.limits import Limits
from libchat_tui.model import DeskModel
from libchat_tui.patron_client import PatronError, PatronSession
from libchat_tui.plain.actions import HANDLERS
from libchat_tui.plain.commands import SPECS, UsageError, help_lines, parse
from libchat_tui.plain.events import Narrator
from libchat_tui.plain.session import Refused
from libchat_tui.plain.team import chosen_departments
from libchat_tui.plain.wording import block_minutes, close_missed_outcome, minutes_words, typed_reason
from libchat_tui.team_settings import TeamSettings
from libchat_tui.vocabulary import expand, short_browser

TOKEN = "plain-team-token"
ME = "ana"  # plain mode's librarian id (written into its data dir before it starts)
DEPARTMENTS = ("General", "Law library", "Special collections")
CANNED = (("hours", "Hello {patron_name}, {library_name} opens at nine."),
          ("holds", "Holds are kept for 7 days."))
DOCS = Path(__file__).parent.parent / "docs" / "accessibility.md"
HHMM = r"\d\d:\d\d"


# --- the registry, /help and the docs ---------------------------------------------------


def documented_commands() -> dict[str, str]:
    """The command table of docs/accessibility.md: command name -> usage as written."""
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("### Commands", 1)[1].split("\n### ", 1)[0]
    found: dict[str, str] = {}
    for row in re.finditer(r"^\| `(/[^`]+)` \|", table, re.MULTILINE):
        usage = row.group(1).replace("\\|", "|")
        found[usage.split()[0].lstrip("/")] = usage
    return found


def test_the_docs_table_is_the_command_registry() -> None:
    documented = documented_commands()
    assert set(documented) == set(SPECS), (
        f"documented but not commands: {sorted(set(documented) - set(SPECS))}; "
        f"commands not documented: {sorted(set(SPECS) - set(documented))}")
    for name, spec in SPECS.items():
        assert documented[name] == spec.usage, \
            f"/{name}: the docs say {documented[name]!r}, /help {spec.usage!r}"


def test_every_command_has_a_handler_and_a_help_line() -> None:
    assert set(HANDLERS) - {"say"} == set(SPECS)
    text = "\n".join(help_lines())
    for name, spec in SPECS.items():
        assert f"{spec.usage}: {spec.help}." in text
        assert help_lines(name) == [f"{spec.usage}: {spec.help}."]


# --- the team commands, parsed ----------------------------------------------------------


def test_team_commands_parse() -> None:
    transfer = parse("/transfer 12 to Ben Ortiz: needs the law databases")
    assert transfer is not None
    assert (transfer.chat, transfer.text, transfer.detail) == (12, "Ben Ortiz", "needs the law databases")
    current = parse("/transfer to Law library")
    assert current is not None and (current.chat, current.text, current.detail) == (None, "Law library", "")
    asked = parse("/transfer 7")
    assert asked is not None and (asked.chat, asked.text) == (7, "")
    block = parse("/block 12 1h abusive language")
    assert block is not None and (block.chat, block.minutes, block.text) == (12, 60, "abusive language")
    days = parse("/block 12 2 days spam again")
    assert days is not None and (days.chat, days.minutes, days.text) == (12, 2 * 24 * 60, "spam again")
    current = parse("/block 30d spam again")
    assert current is not None and (current.chat, current.minutes) == (None, 30 * 24 * 60)
    bare = parse("/block")
    assert bare is not None and (bare.chat, bare.minutes, bare.text) == (None, None, "")
    dismiss = parse("/dismiss 12 spam  links to a shop")
    assert dismiss is not None and (dismiss.chat, dismiss.text) == (12, "spam links to a shop")
    saved = parse("/save-canned opening hours: We open at {library_name}")
    assert saved is not None and (saved.text, saved.detail) == ("opening hours", "We open at {library_name}")
    assert parse("/unblock 3") == parse("/unblock #3")
    assert parse("/back") == parse("/online")
    assert parse("/monitor Law library, General").text == "Law library, General"  # type: ignore[union-attr]


@pytest.mark.parametrize("line", ["/block 12 0h rude", "/block 12 31d rude", "/block 12 5x rude",
                                  "/unblock", "/unblock x", "/insert", "/save-canned : text",
                                  "/transfer 12 : a note", "/team now", "/take 1 2", "/close-missd"])
def test_team_mistakes_are_one_sentence(line: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(line)
    message = str(caught.value)
    assert message.endswith(".") and message.count(". ") == 0, message


def test_words_shared_with_the_full_console() -> None:
    assert typed_reason("spam links to a shop") == ("Spam", "links to a shop")
    assert typed_reason("test chat") == ("Test chat", "")
    assert typed_reason("kept asking for passwords") == ("Other", "kept asking for passwords")
    assert [block_minutes(t) for t in ("1h", "90m", "7d", "2 days", "soon")] == [60, 90, 10080, 2880, None]
    assert [minutes_words(m) for m in (60, 90, 1440, 43200)] == ["1 hour", "90 minutes", "1 day", "30 days"]
    assert expand("Hi {patron_name}, {library_name} {other}", patron_name="Maya\x1b[2J",
                  librarian_name="Ana", library_name="") == "Hi Maya, the library {other}"
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    assert short_browser(agent) == "Firefox 128 on Windows"
    assert close_missed_outcome(3, ["Chat 4 is closed.", "Chat 4 is closed."]) == \
        "Closed 1 of 3; 2 could not be closed: Chat 4 is closed."
    assert chosen_departments("1 3", list(DEPARTMENTS)) == ["General", "Special collections"]
    assert chosen_departments("law, GENERAL", list(DEPARTMENTS)) == ["General", "Law library"]
    with pytest.raises(Refused, match="'Music' is not a department; the desk has 1 General"):
        chosen_departments("Music", list(DEPARTMENTS))


# --- team-desk event lines, without a terminal -------------------------------------------


def test_team_desk_events_are_one_line_each() -> None:
    t0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    model = DeskModel(ME)
    narrator = Narrator(model, now=lambda: t0 + timedelta(seconds=10))

    def roster(*people: tuple[str, str, str]) -> list[str]:
        frame = p.TeamEvent([{"id": i, "name": n, "state": s} for i, n, s in people])
        return [text for _, text in narrator.apply(frame)]

    hello = p.Ack(id="h", result={"librarians": [{"id": ME, "name": "Ana Reyes", "state": "online"}],
                                  "departments": list(DEPARTMENTS), "monitor": ["Law library"]})
    assert narrator.apply(hello) == []  # the first roster is told in the connected line
    assert roster((ME, "Ana Reyes", "online"), ("ben", "Ben Ortiz", "online")) == [
        "Ben Ortiz is on the desk, online"]
    assert roster((ME, "Ana Reyes", "away"), ("ben", "Ben Ortiz", "away")) == [
        "Ben Ortiz is away",
        "Nobody on the desk is online now: patrons are offered to leave a ticket instead of chatting"]
    assert roster((ME, "Ana Reyes", "online")) == ["Ben Ortiz left the desk"]

    ana, ben = lib_actor(ME, "Ana Reyes"), lib_actor("ben", "Ben Ortiz")
    chat = Chat(id=12, patron_name="Maya", patron_email=None, question="Court rulings?",
                state=ChatState.WAITING, created_at=t0, last_activity=t0, department="General")
    seq = iter(range(1, 100))

    def told(c: Chat) -> list[tuple[str, str]]:
        return narrator.apply(p.ChatEvent(seq=next(seq), chat=c.to_wire()))

    assert told(chat) == [("elsewhere", "New chat 12 in General, which you do not monitor, from Maya: "
                                        "Court rulings?")]
    chat, _ = chat.apply(Action.ACCEPT, ben, t0)
    told(chat)
    offer = TransferOffer(ME, "Ana Reyes", "ben", "Ben Ortiz", "over to you", t0, t0 + timedelta(seconds=30))
    chat = replace(chat, transfer=offer)
    assert told(chat) == [("offer", "Ben Ortiz offers you chat 12 with Maya, note: over to you; /take 12 "
                                    "takes it, /decline 12 leaves it with them; 20 seconds to answer; they "
                                    "asked: Court rulings?")]
    assert told(chat) == []  # once per offer
    chat = replace(chat, transfer=None)
    assert told(chat) == []
    line = p.MessageEvent(seq=next(seq), message={"id": 1, "chat_id": 12, "sender": "system", "author": "",
                                                  "librarian_id": "", "at": t0.isoformat(),
                                                  "text": "Ana Reyes declined the transfer; the chat stays "
                                                          "with Ben Ortiz"}, message_count=3)
    assert [text for _, text in narrator.apply(line)] == [
        "12 Ana Reyes declined the transfer; the chat stays with Ben Ortiz"]
    chat, _ = replace(chat, transfer=offer).apply(Action.TAKE_OVER, ana, t0)
    assert [text for _, text in told(chat)] == ["12 is yours now: you took it over from Ben Ortiz"]
    chat, _ = chat.apply(Action.TRANSFER, ana, t0)
    chat = replace(chat, department="Law library")
    hm = t0.astimezone().strftime("%H:%M")
    assert [text for _, text in told(chat)] == [
        f"12 transferred by you to Law library at {hm}; it waits first in that line"]
    assert narrator.describe(chat).startswith("12, waiting 10 seconds, Law library; Maya")
    blocked, _ = chat.apply(Action.BLOCK, ana, t0)
    assert [text for _, text in told(blocked)] == [f"12 ended: the patron was blocked by you at {hm}"]
    spam = Chat(id=13, patron_name="Buy now", patron_email=None, question="cheap", state=ChatState.WAITING,
                created_at=t0, last_activity=t0, department="Law library")
    told(spam)
    spam, _ = spam.apply(Action.DISMISS, ben, t0)
    spam = replace(spam, dismissed="Spam: links")
    assert [text for _, text in told(spam)] == [f"13 dismissed by Ben Ortiz at {hm}: Spam: links; it stays "
                                                "in /history"]


# --- end to end: a team desk in-process, plain mode in a pty ----------------------------


async def start_desk(tmp: Path, clock: FakeClock) -> Backend:
    server = Backend(data_dir=tmp / "desk", clock=clock, token=TOKEN, limits=Limits().for_simulated_patrons(),
                     team=TeamSettings(departments=DEPARTMENTS, transfer_seconds=30, canned=CANNED))
    await server.start()
    return server


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Backend]:
    server = await start_desk(tmp_path, FakeClock(datetime.now(UTC)))
    try:
        yield server
    finally:
        await server.stop()


async def plain(tmp: Path, server: Backend, *, bell: bool = False, term: str = "xterm") -> Terminal:
    config(tmp, bell=bell)
    console = tmp / "me" / "console"
    console.mkdir(parents=True, exist_ok=True)
    (console / "librarian-id").write_text(ME + "\n", encoding="utf-8")
    terminal = await Terminal(tmp, server, term=term).start()
    await terminal.expect("Connected to the desk as Ana Reyes")
    return terminal


async def colleague(server: Backend, term: Terminal) -> Peer:
    ben, _ = await librarian(server.url, TOKEN, "Ben Ortiz", lib_id="ben")
    await term.expect("Ben Ortiz is on the desk, online")
    return ben


async def asks(server: Backend, name: str, question: str, **fields: Any) -> tuple[PatronSession, int]:
    patron = PatronSession(server.url)
    await patron.join(name, fields.pop("email", None), question, **fields)
    return patron, desk_id(server, patron)


async def team_says(peer: Peer, name: str, state: str) -> None:
    """Wait until a colleague's console hears that `name` is `state`."""
    while True:
        event = await peer.next_event("team")
        if any(e["name"] == name and e["state"] == state for e in event["librarians"]):
            return


async def test_presence_and_colleagues(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk)
    ben = await colleague(desk, term)
    term.type("/team")
    await term.expect("1 colleague on the desk: Ben Ortiz online; you are online.")
    await ben.ok("presence", state="away")
    await term.expect("Ben Ortiz is away")
    term.type("/away")
    await term.expect("You are away: new chats are still read out but do not ring the bell, and "
                      "colleagues see you away. /online comes back.")
    await team_says(ben, "Ana Reyes", "away")
    await term.expect("Nobody on the desk is online now: patrons are offered to leave a ticket instead "
                      "of chatting")
    term.type("/team")
    await term.expect("1 colleague on the desk: Ben Ortiz away; you are away.")
    await term.expect("Nobody is online: patrons are offered to leave a ticket instead of chatting.")
    term.type("/back")
    await term.expect("You are online: new chats ring the bell again.")
    await team_says(ben, "Ana Reyes", "online")
    await ben.ok("presence", state="online")
    await term.expect("Ben Ortiz is online again")
    await ben.close()
    await term.expect("Ben Ortiz left the desk")
    term.type("/team")
    await term.expect("No colleague is on the desk; you are online.")
    other, _ = await librarian(desk.url, TOKEN, "Ana Reyes", lib_id=ME)  # my other console
    await other.ok("presence", state="away")
    await term.expect("You are away now, as set on another of your consoles.")
    term.type("/team")
    await term.expect("No colleague is on the desk; you are away.")
    await other.close()
    assert await term.finish() == 0
    assert_clean(term)


async def test_departments_and_what_i_monitor(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk)
    term.type("/departments")
    await term.expect("3 departments; you take the waiting chats of the ones you monitor:\r\n"
                      "1 General: monitored, 0 waiting\r\n2 Law library: monitored, 0 waiting")
    term.type("/monitor law")
    await term.expect("You monitor Law library: their waiting chats are yours to take, the others' are "
                      "counted, not listed.")
    maya, chat = await asks(desk, "Maya", "Where are the maps?", department="General")
    await term.expect(f"New chat {chat} in General, which you do not monitor, from Maya: Where are the maps?")
    term.type("/list")
    await term.expect("No chats for you; 1 wait in departments you do not monitor (/departments).")
    term.type(f"/accept {chat}")  # the desk refuses, with its reason
    await term.expect(f"Not done (accepting chat {chat}): Chat {chat} waits in General, which you do not "
                      "monitor; add it to the departments you monitor first.")
    term.type("/monitor")
    await term.expect("Departments to monitor: 1 General, 2 Law library, 3 Special collections. Type numbers "
                      "or names separated by commas, or all. Enter keeps Law library.")
    term.type("1, 2")
    await term.expect("You monitor General, Law library: their waiting chats are yours to take")
    term.type("/departments")
    await term.expect("1 General: monitored, 1 waiting")
    term.type(f"/accept {chat}")
    await term.expect(re.compile(rf"{chat} accepted by you at {HHMM}"))
    term.type("/monitor Music")
    await term.expect("'Music' is not a department; the desk has 1 General, 2 Law library, 3 Special "
                      "collections.")
    assert await term.finish() == 0
    await maya.close()


async def test_transfer_offers_answers_and_departments(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk, bell=True)
    ben = await colleague(desk, term)
    maya, chat = await asks(desk, "Maya", "Can I see a court ruling?")
    term.type(f"/accept {chat}")
    await term.expect(f"Now in chat {chat} with Maya")
    term.type(f"/transfer {chat} to ben: needs the law databases")
    await term.expect(re.compile(rf"{chat} offered to Ben Ortiz; it stays yours until they answer, \d+ "
                                 rf"seconds; /withdraw {chat} takes it back"))
    while True:  # Ben's console has the offer, with the note
        offered = (await ben.next_event("chat", id=chat))["chat"]["transfer"]
        if offered is not None:
            break
    assert offered["note"] == "needs the law databases"
    await ben.ok("answer_transfer", chat_id=chat, accept=False)
    await term.expect(f"{chat} Ben Ortiz declined the transfer; the chat stays with Ana Reyes")
    term.type("/transfer to Ben Ortiz")
    await term.expect(f"{chat} offered to Ben Ortiz")
    term.type("/transfer to Law library")  # the domain's rule: one offer at a time
    await term.expect(f"Chat {chat} is already offered to Ben Ortiz; withdraw that first; type "
                      f"/withdraw {chat}.")
    term.type("/withdraw")
    await term.expect(f"{chat} Ana Reyes withdrew the transfer to Ben Ortiz")
    term.type(f"/transfer {chat} to Ben Ortiz")
    await term.expect(f"{chat} offered to Ben Ortiz")
    await desk.clock.advance(31)  # type: ignore[attr-defined]
    await term.expect(f"{chat} The transfer to Ben Ortiz timed out; the chat stays with Ana Reyes")
    term.type(f"/transfer {chat}")  # asked: where, then the note
    await term.expect(f"Transfer chat {chat} with Maya to: 1 Ben Ortiz (online; they must take it); "
                      "2 General (department: first in its line); 3 Law library (department: first in its "
                      "line); 4 Special collections (department: first in its line). Type a number or a "
                      "name.")
    term.type("3")
    await term.expect("Note for whoever takes it, one line (internal: never sent to the patron). Enter "
                      "for none.")
    term.type("a law question")
    await term.expect(re.compile(rf"{chat} transferred by you to Law library at {HHMM}; it waits first in "
                                 "that line"))
    await ben.ok("accept", chat_id=chat)
    await term.expect(f"{chat} accepted by Ben Ortiz")
    term.type(f"/transfer {chat} to General")  # not mine any more
    await term.expect(f"Chat {chat} is not yours: it belongs to Ben Ortiz.")
    await ben.ok("transfer", chat_id=chat, to_librarian=ME, note="over to you")
    offer = await term.expect(re.compile(
        rf"Ben Ortiz offers you chat {chat} with Maya, note: over to you; /take {chat} takes it, /decline "
        rf"{chat} leaves it with them; \d+ seconds to answer; they asked: Can I see a court ruling\?"))
    assert "\a" in term.text[offer.start() - 4:offer.start()]  # it rang first
    term.type("/decline")
    await term.expect(f"{chat} Ana Reyes declined the transfer; the chat stays with Ben Ortiz")
    await ben.ok("transfer", chat_id=chat, to_librarian=ME, note="")
    await term.expect(f"Ben Ortiz offers you chat {chat}")
    term.type("/take")
    await term.expect(f"{chat} is yours now: you took it over from Ben Ortiz")
    await term.expect(f"Now in chat {chat} with Maya; what you type goes to them.")
    term.type("I have the ruling here")
    await patron_hears(maya, "I have the ruling here")
    term.type(f"/take {chat}")  # nothing on offer: the domain's refusal
    await term.expect(f"Chat {chat} is not offered to you.")
    assert await term.finish() == 0
    assert_clean(term)
    await ben.close()
    await maya.close()


async def test_canned_messages_are_listed_sent_inserted_and_edited(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk)
    ben = await colleague(desk, term)
    lee, waiting = await asks(desk, "Lee", "Printing?")
    term.type(f"/switch {waiting}")
    await term.expect(f"Now in chat {waiting}")
    term.type("/canned hours")  # the domain: nothing goes to a chat nobody has accepted
    await term.expect(f"Not sent: Chat {waiting} is waiting; accept it first; /accept {waiting} first.")
    maya, chat = await asks(desk, "Maya", "When do you open?")
    term.type(f"/accept {chat}")
    await term.expect(f"Now in chat {chat} with Maya")
    term.type("/canned")
    await term.expect("2 canned messages; /canned NAME sends one to the current chat, /insert NAME puts it "
                      "at the prompt to edit:\r\nholds: Holds are kept for 7 days.\r\n"
                      "hours: Hello {patron_name}, {library_name} opens at nine.")
    term.type("/canned ho")
    await term.expect("“ho” could be “holds”, “hours”; type more of the name.")
    term.type("/canned hou")
    await patron_hears(maya, "Hello Maya, the library opens at nine.")
    await term.expect(f"Sent “hours” to chat {chat}: Hello Maya, the library opens at nine.")
    term.type("/insert holds")
    await term.expect("“holds” is at the prompt: edit it and press Enter to send it")
    await term.expect(f"{chat}> Holds are kept for 7 days.")
    term.type(" Ask at the desk.")
    await patron_hears(maya, "Holds are kept for 7 days. Ask at the desk.")
    term.type("/save-canned wifi: Connect to eduroam, {patron_name}.")
    await term.expect("Saved the canned message “wifi”: every console has it now.")
    while "wifi" not in [m["name"] for m in (await ben.next_event("canned"))["messages"]]:
        pass
    term.keys("/canned wi\t")  # tab completes the name
    term.type("")
    await patron_hears(maya, "Connect to eduroam, Maya.")
    term.type("/save-canned Hours: We open at ten.")
    await term.expect("The team already has a canned message “hours”. Replace it? Type y or n:")
    term.type("y")
    await term.expect("Saved the canned message “Hours”")
    term.type("/delete-canned wifi")
    await term.expect("Delete the canned message “wifi” for the whole team? Type y or n:")
    term.type("y")
    await term.expect("Deleted the canned message “wifi”.")
    while True:
        names = {m["name"]: m["text"] for m in (await ben.next_event("canned"))["messages"]}
        if "wifi" not in names:
            break
    assert names == {"holds": "Holds are kept for 7 days.", "Hours": "We open at ten."}
    assert await term.finish() == 0
    await ben.close()
    await maya.close()
    await lee.close()


async def test_the_patron_panel_and_correcting_the_patron(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk)
    ben, _ = await librarian(desk.url, TOKEN, "Ben Ortiz", lib_id="ben")
    earlier, _ = await asks(desk, "Maya", "Where are the theses?", email="maya@example.edu")
    first = desk_id(desk, earlier)
    await ben.ok("accept", chat_id=first)
    await ben.ok("end", chat_id=first)
    ticket = await ben.ok("create_ticket", chat_id=first, name="Maya", email="maya@example.edu",
                          subject="Thesis scans", body="")
    await ben.ok("close", chat_id=first)
    visitor = await raw_patron(desk.url)
    joined = await visitor.ok("join", name="Maya", email="MAYA@example.edu", question="Opening hours?",
                              page="https://library.example.edu/hours", department="Law library",
                              browser="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 "
                                      "Firefox/128.0")
    chat = desk_id(desk, joined)
    await term.expect(f"New chat {chat} in Law library from Maya")
    term.type(f"/patron {chat}")
    await term.expect(f"Patron of chat {chat}: Maya, waiting.\r\n"
                      "E-mail: MAYA@example.edu (typed by the patron: not proof of who they are).\r\n"
                      "Browser: Firefox 128 on Windows.\r\n"
                      "Asked from: https://library.example.edu/hours\r\n"
                      "Department: Law library.\r\n"
                      "Wait: still waiting: ")
    await term.expect("Same e-mail: 1 other chat, 1 ticket. The e-mail is what the patron typed, so these "
                      "may be someone else's:")
    start = term.mark
    await term.expect(f"/edit-patron {chat} corrects the name or e-mail.")
    record = term.text[start:term.mark]  # newest first; the fake clock made both at the same moment
    number = ticket["ticket"]["id"]
    assert re.search(rf"\r\n\d{{4}}-\d\d-\d\d ticket {number}, open: Thesis scans\r\n", record)
    assert re.search(rf"\r\n\d{{4}}-\d\d-\d\d chat {first}, closed: Where are the theses\?\r\n", record)
    term.type(f"/edit-patron {chat}")
    await term.expect('Patron name: Enter keeps "Maya".')
    term.type("Maya Lin")
    await term.expect('Patron e-mail (typed by the patron: not proof of who they are): Enter keeps '
                      '"MAYA@example.edu", none removes it.')
    term.type("maya at example")
    await term.expect("'maya at example' is not an e-mail address (like maya@example.edu); type one, or "
                      "none.")
    term.type("maya.lin@example.edu")
    await term.expect(f"{chat} Ana Reyes corrected the patron's details (name: Maya → Maya Lin; e-mail: "
                      "MAYA@example.edu → maya.lin@example.edu)")
    term.type(f"/patron {first}")  # a closed chat, read from the desk; its own ticket is not another
    await term.expect(f"Patron of chat {first}: Maya, closed.")
    await term.expect("No other chats or tickets with the same e-mail.")
    assert await term.finish() == 0
    assert_clean(term)
    await ben.close()
    await visitor.close()
    await earlier.close()


async def test_dismiss_block_and_unblock(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk)
    ben = await colleague(desk, term)
    spam, first = await asks(desk, "Buy now", "Cheap watches")
    term.type(f"/dismiss {first} spam links to a shop")
    await term.expect(re.compile(rf"{first} dismissed by you at {HHMM}: Spam: links to a shop; it stays in "
                                 "/history"))
    test, second = await asks(desk, "Tester", "hello?")
    term.type(f"/dismiss {second}")
    await term.expect(f"Dismiss chat {second} from Tester: it closes now and leaves the desk")
    await term.expect("Reason: 1 Spam, 2 Test chat, 3 Abusive, 4 Other. Type a number or a word. Enter "
                      "for Spam.")
    term.type("2")
    await term.expect("Details, one line (optional; needed for Other). Enter for none.")
    term.type("")
    await term.expect(re.compile(rf"{second} dismissed by you at {HHMM}: Test chat;"))
    maya, taken = await asks(desk, "Maya", "A real question")
    await ben.ok("accept", chat_id=taken)
    await term.expect(f"{taken} accepted by Ben Ortiz")
    term.type(f"/dismiss {taken}")  # the domain's rules, before the desk is asked
    await term.expect(f"Chat {taken} is active; it cannot take the action 'dismiss' (not allowed in this "
                      "state); Ben Ortiz accepted it, and only a chat nobody has accepted can be dismissed.")
    term.type(f"/block {taken} 1h rude")
    await term.expect(f"Chat {taken} is not yours: it belongs to Ben Ortiz.")
    omar, chat = await asks(desk, "Omar", "You are useless")
    term.type(f"/accept {chat}")
    await term.expect(f"Now in chat {chat} with Omar")
    term.type("/block 1d")
    await term.expect("Why? One line, kept with the block: librarians see it, the patron does not.")
    term.type("abusive language")
    await term.expect("Block Omar for 1 day? Their chat ends now, and new chats from the same browser or "
                      "address are refused until")
    term.type("n")
    await term.expect("Nothing done; Omar is not blocked.")
    term.type("/block")
    await term.expect(f"Block the patron of chat {chat} for how long: 1 1 hour, 2 1 day, 3 7 days, "
                      "4 30 days. Type a number or a word. Enter for 1 day.")
    term.type("")
    await term.expect("Why?")
    term.type("abusive language")
    await term.expect("Block Omar for 1 day?")
    term.type("y")
    await term.expect(re.compile(rf"{chat} ended: the patron was blocked by you at {HHMM}"))
    lifted = await term.expect(re.compile(r"Blocked Omar until \d\d:\d\d tomorrow: new chats from address "
                                          r"127\.0\.0\.1 are refused\. /blocks lists the blocks; /unblock "
                                          r"(\d+) lifts this one\."))
    number = lifted.group(1)
    with pytest.raises(PatronError) as refused:
        await PatronSession(desk.url).join("Omar again", None, "Let me in")
    assert refused.value.code == "blocked"
    term.type("/blocks")
    await term.expect(re.compile(rf"1 block in force, newest first; /unblock B lifts one:\r\nBlock {number} "
                                 rf"on Omar \(chat {chat}\): refuses address 127\.0\.0\.1 until \d\d:\d\d "
                                 r"tomorrow; blocked by Ana Reyes: abusive language"))
    term.type("/unblock 99")
    await term.expect("There is no block 99 in force; /blocks lists the blocks in force.")
    term.type(f"/unblock {number}")
    await term.expect("Lift the block on Omar? New chats from address 127.0.0.1 are accepted again. "
                      "Type y or n:")
    term.type("y")
    await term.expect(f"Block {number} lifted: new chats from Omar are accepted again.")
    again, _ = await asks(desk, "Omar", "Sorry about before")
    term.type("/blocks")
    await term.expect("No patron is blocked. /block N blocks the patron of chat N.")
    assert await term.finish() == 0
    assert_clean(term)
    for patron in (spam, test, maya, omar, again):
        await patron.close()
    await ben.close()


async def test_missed_chats_listed_and_closed_after_asking(tmp_path: Path, desk: Backend) -> None:
    term = await plain(tmp_path, desk)
    gone: list[int] = []
    for name in ("Lee", "Kim"):
        patron, chat = await asks(desk, name, "Anyone there?")
        await patron.leave()
        await term.expect(f"{chat} {name} left at")
        gone.append(chat)
    still, waiting = await asks(desk, "Sam", "Still here")
    await term.expect(f"New chat {waiting}")
    term.type("/missed")
    await term.expect("2 missed chats, patrons who left before anyone answered; /close-missed closes them "
                      "all:")
    listed = await term.expect(re.compile(r"(\d+), ended, General, missed; \w+: Anyone there\?\r\n"
                                          r"(\d+), ended, General, missed"))
    assert {int(listed.group(1)), int(listed.group(2))} == set(gone)
    term.type("/close-missed")
    await term.expect("Close 2 missed chats? They leave the desk; they stay in /history. Type y or n:")
    term.type("n")
    await term.expect("Nothing closed.")
    term.type("/close-missed")
    await term.expect("Close 2 missed chats?")
    term.type("y")
    await term.expect("Closed 2 missed chats.")
    term.type("/missed")
    await term.expect("No missed chats.")
    term.type("/list")
    await term.expect(f"1 chats: 1 waiting, 0 active, 0 ended.\r\n{waiting}, waiting")
    assert await term.finish() == 0
    await still.close()


async def test_a_chat_waiting_too_long_is_told_again_and_insert_without_readline(tmp_path: Path) -> None:
    # The desk's clock an hour behind: every new chat has waited longer than realert_seconds.
    server = await start_desk(tmp_path, FakeClock(datetime.now(UTC) - timedelta(hours=1)))
    try:
        term = await plain(tmp_path, server, term="dumb")
        maya, chat = await asks(server, "Maya", "Is anyone there?")
        await term.expect(f"{chat} Maya has waited over 3 minutes: Is anyone there?; /accept {chat} takes it")
        term.type(f"/accept {chat}")
        await term.expect(f"Now in chat {chat} with Maya")
        term.type("/insert hours")  # no line editing: the text is read out to type or paste
        await term.expect(f"“hours” for chat {chat}: Hello Maya, the library opens at nine.\r\n"
                          "This terminal cannot put it at the prompt; type or paste it, or /canned hours "
                          "sends it as it is.")
        assert await term.finish() == 0
        assert "\x1b" not in term.text
        await maya.close()
    finally:
        await server.stop()
