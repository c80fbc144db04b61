"""Plain mode (`libchat-tui --plain`) for screen readers: unit checks, then end to end.

The end-to-end tests run a real `libchat-tui serve` and plain mode in a pseudo terminal,
with real patrons (`PatronSession`) and, where needed, a second librarian speaking the
raw protocol. They read the bytes plain mode writes, as a screen reader would.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile import HOSTILE
from plain_support import SGR, Serve, Terminal, assert_clean, patron_hears
from wire import librarian

from libchat_tui import protocol as p
from libchat_tui.domain import Action, Actor, Chat, ChatState
from libchat_tui.domain import librarian as lib_actor
from libchat_tui.model import DeskModel
from libchat_tui.patron_client import PatronError, PatronSession
from libchat_tui.plain.commands import SPECS, UsageError, complete, help_lines, parse
from libchat_tui.plain.events import Narrator

ME = "me-1"
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


# --- commands, without a terminal ------------------------------------------------------


def test_lines_parse_into_commands() -> None:
    assert parse("") is None
    assert parse("hello there").name == "say"  # type: ignore[union-attr]
    assert parse("//slash first").text == "/slash first"  # type: ignore[union-attr]
    assert parse("/accept") == parse("/a")
    assert parse("/accept 12").chat == 12  # type: ignore[union-attr]
    assert parse("/switch #7").chat == 7  # type: ignore[union-attr]
    transcript = parse("/transcript 12 last 5")
    assert transcript is not None and (transcript.chat, transcript.last) == (12, 5)
    current = parse("/transcript last 3")
    assert current is not None and (current.chat, current.last) == (None, 3)
    assert parse("/note the patron wants 3 books").text == "the patron wants 3 books"  # type: ignore[union-attr]
    assert parse("/tickets closed").text == "closed"  # type: ignore[union-attr]
    assert parse("/tickets 4").chat == 4  # type: ignore[union-attr]
    assert parse("/help ra").text == "ra"  # type: ignore[union-attr]


@pytest.mark.parametrize("line", ["/acept", "/switch", "/switch x", "/accept 1 2", "/list now",
                                  "/transcript 3 first 2", "/stats 28/11/2026", "/closeticket",
                                  "/help nothing", "/0", "/accept 0"])
def test_mistakes_are_one_sentence_that_says_what_to_type(line: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(line)
    message = str(caught.value)
    assert message.endswith(".") and message.count(". ") == 0, message
    assert "/" in message or "like" in message


def test_tab_completes_commands_and_chat_numbers() -> None:
    assert complete("", "/ac", []) == ["/accept"]
    assert set(complete("", "/ti", [])) == {"/ticket", "/tickets"}
    assert set(complete("", "/t", [])) >= {"/ticket", "/transcript", "/tickets", "/team", "/transfer",
                                           "/take"}
    assert complete("/canned ", "ho", [1], ["hours", "holds", "wifi"]) == ["hours", "holds"]
    assert complete("/transfer ", "1", [1, 12]) == ["1", "12"]
    assert complete("/switch ", "1", [1, 12, 20]) == ["1", "12"]
    assert complete("/list ", "", [1]) == []
    assert complete("", "hel", [1]) == []  # a message, not a command


def test_help_lists_every_command() -> None:
    text = "\n".join(help_lines())
    for spec in SPECS.values():
        assert spec.usage in text


# --- event lines, without a terminal ---------------------------------------------------


def _chat(state: ChatState = ChatState.WAITING, chat_id: int = 12) -> Chat:
    return Chat(id=chat_id, patron_name="Maya", patron_email=None, question="Do you have Nature online?",
                state=state, created_at=T0, last_activity=T0)


def _frame(chat: Chat, seq: int) -> p.ChatEvent:
    return p.ChatEvent(seq=seq, chat=chat.to_wire())


def test_every_state_change_is_one_line() -> None:
    narrator = Narrator(DeskModel(ME), now=lambda: T0 + timedelta(minutes=5))
    me = lib_actor(ME, "Ana Reyes")
    chat = _chat()
    said: list[str] = []
    said += [t for _, t in narrator.apply(_frame(chat, 1))]
    chat, _ = chat.apply(Action.ACCEPT, me, T0 + timedelta(minutes=1))
    said += [t for _, t in narrator.apply(_frame(chat, 2))]
    chat, _ = chat.apply(Action.CONNECTION_LOST, Actor("patron"), T0 + timedelta(minutes=5))
    from dataclasses import replace

    chat = replace(chat, grace_deadline=T0 + timedelta(minutes=6))
    said += [t for _, t in narrator.apply(_frame(chat, 3))]
    chat, _ = chat.apply(Action.RESUME, Actor("patron"), T0 + timedelta(minutes=5))
    said += [t for _, t in narrator.apply(_frame(chat, 4))]
    chat, _ = chat.apply(Action.END_BY_LIBRARIAN, me, T0 + timedelta(minutes=6))
    said += [t for _, t in narrator.apply(_frame(chat, 5))]
    local = (T0 + timedelta(minutes=6)).astimezone().strftime("%H:%M")
    assert said == [
        "New chat 12 from Maya, waiting: Do you have Nature online?",
        f"12 accepted by you at {(T0 + timedelta(minutes=1)).astimezone():%H:%M}",
        "12 patron reconnecting, 60 seconds to come back",
        "12 patron is back",
        f"12 ended by you at {local}",
    ]
    other = _chat(ChatState.WAITING, 15)
    narrator.apply(_frame(other, 6))
    ben = lib_actor("ben", "Ben Ortiz")
    other, _ = other.apply(Action.ACCEPT, ben, T0)
    other, _ = other.apply(Action.CONNECTION_LOST, Actor("patron"), T0)
    other, _ = other.apply(Action.GRACE_EXPIRED, Actor("system"), T0)
    lines = [t for _, t in narrator.apply(_frame(other, 7))]
    assert lines == [f"15 disconnected at {T0.astimezone():%H:%M}; offered a ticket"]
    left = _chat(ChatState.WAITING, 16)
    narrator.apply(_frame(left, 8))
    left, _ = left.apply(Action.END_BY_PATRON, Actor("patron"), T0)
    assert "before anyone answered" in narrator.apply(_frame(left, 9))[0][1]


# --- the layer rule --------------------------------------------------------------------


def test_plain_mode_loads_neither_textual_nor_rich_live_rendering() -> None:
    code = ("import sys, libchat_tui.plain, libchat_tui.plain.actions, libchat_tui.cli\n"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'textual' or m in "
            "('rich.live', 'rich.console', 'rich.progress')]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- end to end in a pty ---------------------------------------------------------------


@pytest.fixture
async def desk(tmp_path: Path):  # type: ignore[no-untyped-def]
    serve = await Serve(tmp_path).start()
    try:
        yield serve
    finally:
        await serve.stop()


async def _connected(tmp: Path, serve: Serve, **options: object) -> Terminal:
    term = await Terminal(tmp, serve, **options).start()  # type: ignore[arg-type]
    await term.expect("Connected to the desk as Ana Reyes")
    return term


async def test_a_whole_chat_and_its_after_chat_work(tmp_path: Path, desk: Serve) -> None:
    term = await _connected(tmp_path, desk)
    maya = PatronSession(desk.url)
    await maya.join("Maya", "maya@example.edu", "Do you have Nature online?")
    chat = desk.desk_id(maya)
    await term.expect(f"New chat {chat} from Maya, waiting: Do you have Nature online?")
    term.type("/list")
    await term.expect(re.compile(rf"{chat}, waiting \d+ seconds?; Maya: Do you have Nature online\?"))
    term.type("/acc\t")  # tab completes the command name
    await term.expect(re.compile(rf"{chat} accepted by you at \d\d:\d\d"))
    await term.expect(f"Now in chat {chat} with Maya")
    await maya.send("I cannot log in")
    await term.expect(f"{chat} Maya: I cannot log in")
    term.keys("Hello Ma")  # half a line typed when the patron writes
    await term.expect(f"{chat}> Hello Ma")
    await maya.send("are you there?")
    await term.expect(f"\r{chat} Maya: are you there?")
    await term.expect(f"\n{chat}> Hello Ma")  # the line and the prompt, then what was typed
    term.type("ya")
    await patron_hears(maya, "Hello Maya")
    term.keys("\x03")  # Ctrl-C does not leave; it says how to
    await term.expect("To leave, type /quit or press Ctrl-D.")
    term.type("Try the proxy link")
    await patron_hears(maya, "Try the proxy link")
    term.type("\x1b[A")  # up arrow: history brings the line back; send it again
    await patron_hears(maya, "Try the proxy link")
    term.type("/transcript last 2")
    await term.expect(f"Transcript of chat {chat} with Maya")
    await term.expect(re.compile(r"\d\d:\d\d you: Try the proxy link\r\n\d\d:\d\d you: Try the proxy"))
    term.type("/note checked the proxy")
    await term.expect(f"{chat} internal note by you: checked the proxy")
    term.type("/who")
    await term.expect(f"Chat {chat}: Maya, maya@example.edu, active")
    await term.expect("You are Ana Reyes, online, connected")
    term.type("/ra")
    await term.expect("Question type, required: 1 directional, 2 informational, 3 reference")
    term.type("3")
    await term.expect("READ scale, 1 to 6, or ? for what each means")
    term.type("?")
    await term.expect("6: In-depth research")
    term.type("9")
    await term.expect("READ scale must be a whole number from 1 to 6. Try again, or /cancel.")
    term.type("2")
    await term.expect("Topic tags, words separated by commas")
    term.type("nature, proxy")
    await term.expect("Patron type, optional")
    term.type("")
    await term.expect("Answer summary")
    term.type("sent the proxy link")
    await term.expect(f"{chat} added to Reference Analytics (Chat) by you")
    term.type("/close")
    await term.expect(f"Chat {chat} is active; only an ended or disconnected chat can be closed, "
                      f"so /end {chat} first.")
    term.type("/end")
    await term.expect(f"End chat {chat} with Maya? Type y or n:")
    term.type("y")
    await term.expect(re.compile(rf"{chat} ended by you at \d\d:\d\d"))
    term.type("hello?")
    await term.expect("Not sent: ")
    term.type("/ticket")
    await term.expect('Patron name: Enter for "Maya".')
    term.type("")
    await term.expect('Enter for "maya@example.edu"')
    term.type("not-an-address")
    await term.expect("'not-an-address' is not an e-mail address; type one like name@example.edu.")
    term.type("maya@example.edu")
    await term.expect('Subject: Enter for "Do you have Nature online?"')
    term.type("")
    await term.expect("Include internal notes in the body? Type y or n:")
    term.type("n")
    await term.expect("Type a line to put before it")
    term.type("Here is what we found.")
    ticket = await term.expect(re.compile(rf"Ticket (\d+) created for chat {chat} by you, to "
                                          r"maya@example.edu: Do you have Nature online\?"))
    term.type("/tickets")
    await term.expect(f"Ticket {ticket.group(1)}, open, chat {chat}")
    term.type(f"/tickets {ticket.group(1)}")
    await term.expect("  Here is what we found.")
    await term.expect(f"End of ticket {ticket.group(1)}.")
    term.type(f"/closeticket {ticket.group(1)}")
    await term.expect(f"Ticket {ticket.group(1)} (chat {chat}) is now closed")
    export = tmp_path / "chat.txt"
    term.type("/export")
    await term.expect("Which copy: 1 patron, 2 librarian")
    term.type("2")
    await term.expect("Format: 1 md, 2 txt")
    term.type("txt")
    await term.expect("File:")
    term.type(str(export))
    await term.expect(f"Exported the librarian copy of chat {chat} to {export}.")
    assert "Internal note" in export.read_text(encoding="utf-8")
    term.type("/close")
    await term.expect(re.compile(rf"{chat} closed by you at \d\d:\d\d; it stays in /history"))
    term.type("/history nature")
    await term.expect(f"1 closed chats match 'nature'; /transcript N reads one:\r\n{chat} Maya, closed")
    term.type(f"/transcript {chat} last 1")
    await term.expect("End of the transcript")
    term.type("/stats")
    await term.expect(re.compile(r"\d{4}-\d\d-\d\d: 1 chats, 1 answered, 0 missed"))
    term.type("/away")
    await term.expect("You are away")
    term.type("/away")
    await term.expect("You are already away; /online changes it.")
    term.type("/online")
    await term.expect("You are online: new chats ring the bell again.")
    term.type("/next")
    await term.expect("Nothing needs you")
    term.type("/help end")
    await term.expect("/end [N]: end the current chat (or chat N), after asking.")
    term.type("/whatever")
    await term.expect("There is no command /whatever; type /help for the list.")
    assert await term.finish() == 0
    assert "Goodbye." in term.text
    assert_clean(term)
    assert not SGR.search(term.text)
    await maya.close()


async def test_patrons_come_go_and_colleagues_are_named(tmp_path: Path) -> None:
    serve = await Serve(tmp_path, grace=5).start()
    try:
        term = await _connected(tmp_path, serve)
        first, second, third = PatronSession(serve.url), PatronSession(serve.url), PatronSession(serve.url)
        await first.join("Maya", None, "Hours on Sunday?")
        await second.join("Omar", "omar@example.edu", "Renew a book")
        await term.expect("New chat")
        await term.expect(f"New chat {serve.desk_id(second)} from Omar")
        term.type("/next")  # nothing of mine is unread: accepts the longest-waiting chat
        await term.expect(f"{serve.desk_id(first)} accepted by you")
        ben, _ = await librarian(serve.url, serve.token, name="Ben Ortiz")
        await ben.ok("accept", chat_id=serve.desk_id(second))
        await term.expect(f"{serve.desk_id(second)} accepted by Ben Ortiz")
        await ben.ok("send", chat_id=serve.desk_id(second), text="Which book?")
        await term.expect(f"{serve.desk_id(second)} Ben Ortiz: Which book?")
        term.type("/who")
        await term.expect(f"Ben Ortiz has chat {serve.desk_id(second)}.")
        term.type(f"/end {serve.desk_id(second)}")
        await term.expect(f"Chat {serve.desk_id(second)} is Ben Ortiz's; only they can end it.")
        await first.drop()
        await term.expect(f"{serve.desk_id(first)} patron reconnecting, 5 seconds to come back")
        await first.resume()
        await term.expect(f"{serve.desk_id(first)} patron is back")
        await first.drop()
        await term.expect(f"{serve.desk_id(first)} patron reconnecting")
        await term.expect(re.compile(rf"{serve.desk_id(first)} disconnected at \d\d:\d\d; offered a ticket"))
        await first.resume()
        ticket = await first.submit_ticket("maya@example.edu", "Sunday hours please")
        await term.expect(f"Ticket {ticket} from the patron of chat {serve.desk_id(first)}, maya@example.edu")
        await ben.ok("end", chat_id=serve.desk_id(second))
        await term.expect(f"{serve.desk_id(second)} ended by Ben Ortiz")
        await third.join("Lee", None, "Printing?")
        await term.expect(f"New chat {serve.desk_id(third)} from Lee")
        await third.leave()
        await term.expect(f"{serve.desk_id(third)} Lee left at")
        await term.expect("before anyone answered (a missed chat)")
        await ben.close()
        assert await term.finish() == 0
        assert_clean(term)
    finally:
        await serve.stop()


async def test_hostile_patron_text_reaches_the_terminal_inert(tmp_path: Path, desk: Serve) -> None:
    term = await _connected(tmp_path, desk, term="dumb")
    limit = {"name": p.LIMITS["name"], "question": p.LIMITS["question"], "message": p.LIMITS["message"]}
    patrons: list[PatronSession] = []
    for i in range(0, len(HOSTILE), 4):
        patron = PatronSession(desk.url)
        name, question, *messages = [*HOSTILE[i:i + 4], "x", "y", "z", "w"][:4]
        try:
            await patron.join(name[: limit["name"]] or "x", None, question[: limit["question"]])
        except PatronError:  # a name the desk refuses (only blanks): ask with a plain one
            await patron.join("x", None, question[: limit["question"]] or "q")
        for text in messages:
            with_text = text[: limit["message"]]
            if with_text.strip():
                await patron.send(with_text)
        patrons.append(patron)
        term.type("/list")
    await patrons[-1].send("END OF THE CORPUS")
    await term.expect("END OF THE CORPUS")
    term.type(f"/transcript {desk.desk_id(patrons[2])}")
    await term.expect("End of the transcript")
    assert await term.finish() == 0
    written = term.text
    assert "\x1b" not in written
    assert not re.search(r"[\x00-\x06\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]", written)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", written)
    assert "⟨U+202E⟩" in written  # bidi overrides shown, not obeyed
    assert "[bold]x[/]" in written  # markup shown literally
    for patron in patrons:
        await patron.close()


async def test_a_dropped_desk_queues_and_delivers_once(tmp_path: Path, desk: Serve) -> None:
    term = await _connected(tmp_path, desk)
    maya = PatronSession(desk.url)
    await maya.join("Maya", None, "Is the library open?")
    term.type("/accept")
    await term.expect("Now in chat")
    await desk.kill()
    await term.expect("Connection to the desk lost; reconnecting.")
    term.type("We open at nine")
    await term.expect("Offline: your line to chat")
    term.type("/transcript")
    await term.expect("Not connected to the desk; try again when it is back.")
    await desk.start()  # the same port and data dir
    await term.expect("Back online")
    await term.expect(f"Delivered: your line to chat {desk.desk_id(maya)}.")
    await maya.resume()
    term.type("/transcript last 3")
    await term.expect("End of the transcript")
    assert term.text.count("you: We open at nine") == 1
    assert await term.finish() == 0
    assert_clean(term)


async def test_term_dumb_reads_plain_lines(tmp_path: Path, desk: Serve) -> None:
    term = await _connected(tmp_path, desk, term="dumb")
    maya = PatronSession(desk.url)
    await maya.join("Maya", None, "Where is the map room?")
    await term.expect("New chat")
    term.type("/accept")
    await term.expect("accepted by you")
    term.type("Second floor")
    await patron_hears(maya, "Second floor")
    await maya.send("thanks")
    await term.expect("Maya: thanks")
    term.keys("\x04")  # Ctrl-D leaves
    assert await term.finish() == 0
    assert "\x1b" not in term.text
    await maya.close()


async def test_colour_only_when_asked(tmp_path: Path, desk: Serve) -> None:
    term = await _connected(tmp_path, desk, color=True)
    maya = PatronSession(desk.url)
    await maya.join("Maya", None, "Colour?")
    await term.expect("New chat")
    assert await term.finish() == 0
    assert SGR.search(term.text)
    await maya.close()


async def test_a_wrong_token_is_one_line_and_exit_status_1(tmp_path: Path, desk: Serve) -> None:
    term = await Terminal(tmp_path, desk, token="wrong").start()
    await term.expect("Cannot connect: The desk refused this token.")
    assert term.proc is not None
    await asyncio.wait_for(term.proc.wait(), 10)  # it leaves by itself, without /quit
    assert await term.finish() == 1
