"""Canned messages (issue 15): the team's shared replies, kept by the desk and inserted from
the console. Desk tests over real sockets; console tests on the real app (Pilot) against the
same real desk. What was stored is read from the desk's database, what was sent from the
transcript the desk keeps.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from desk_ids import desk_id
from textual.widgets import Input, TextArea
from ui_support import Toasts, db, make_app, screen_text, wait_until
from wire import Peer, join, librarian

from libchat_tui.backend.canned import MAX_CANNED
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.config import load_settings
from libchat_tui.protocol import LIMITS
from libchat_tui.team_settings import TeamSettings
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.canned_editor import CannedEditor
from libchat_tui.ui.screens.canned_picker import CannedPicker
from libchat_tui.ui.screens.confirm import Confirm
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.widgets.composer import CannedSuggestions, Composer, match, rank
from libchat_tui.vocabulary import expand
from libchat_tui.web.settings import WidgetSettings


def names(result: dict[str, Any]) -> list[str]:
    return [m["name"] for m in result["messages"]]


async def started(data_dir: Path, clock: FakeClock, **settings: Any) -> Backend:
    backend = Backend(data_dir=data_dir, clock=clock, token="test-token", **settings)
    await backend.start()
    return backend


# --- the desk ----------------------------------------------------------------------------


async def test_save_replace_and_delete_without_regard_to_case(backend: Backend) -> None:
    ana, hello = await librarian(backend.url, backend.token, name="Ana")
    assert hello["canned"] == []
    first = await ana.ok("save_canned", name="hours", text="We are open 9-5.")
    assert first["messages"][0]["name"] == "hours"
    assert first["messages"][0]["updated_by"] == "Ana"
    await ana.ok("save_canned", name="Welcome", text="Hello {patron_name}!")
    replaced = await ana.ok("save_canned", name="  HOURS ", text="We are open 8-8.")
    assert names(replaced) == ["HOURS", "Welcome"]  # one message, renamed as typed last
    assert replaced["messages"][0]["text"] == "We are open 8-8."
    windows = await ana.ok("save_canned", name="lines", text="one\r\ntwo\rthree\tfour ")
    assert windows["messages"][1]["text"] == "one\ntwo\nthree\tfour"
    await ana.ok("delete_canned", name="lines")
    assert db(backend, "SELECT name, text FROM canned ORDER BY name") == [
        ("HOURS", "We are open 8-8."), ("Welcome", "Hello {patron_name}!")]
    # Beyond A-Z too: SQLite's NOCASE alone would keep these two apart.
    await ana.ok("save_canned", name="Ärger", text="one")
    assert names(await ana.ok("save_canned", name="ärger", text="two")) == ["ärger", "HOURS", "Welcome"]

    deleted = await ana.ok("delete_canned", name="welcome")
    assert names(deleted) == ["ärger", "HOURS"]
    again = await ana.request("delete_canned", name="welcome")
    assert again["type"] == "error" and again["code"] == "unknown_canned"
    assert db(backend, "SELECT name FROM canned WHERE name='Welcome'") == []


@pytest.mark.parametrize(("fields", "code"), [
    ({"name": "", "text": "x"}, "invalid_field"),
    ({"name": "   ", "text": "x"}, "invalid_field"),
    ({"name": "n", "text": " \n "}, "empty_text"),
    ({"name": "n" * 41, "text": "x"}, "too_long"),
    ({"name": "n", "text": "x" * 2_001}, "too_long"),
    ({"name": "bell\x07", "text": "x"}, "invalid_field"),
    ({"name": "rlo\u202e", "text": "x"}, "invalid_field"),
    ({"name": "n", "text": "wipe\x1b[2J"}, "invalid_field"),
    ({"name": "n", "text": "c1\x9b31m"}, "invalid_field"),
])
async def test_refuses_what_cannot_be_a_canned_message(backend: Backend, fields: dict[str, str],
                                                       code: str) -> None:
    ana, _ = await librarian(backend.url, backend.token)
    reply = await ana.request("save_canned", **fields)
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert db(backend, "SELECT COUNT(*) FROM canned") == [(0,)]


async def test_at_most_200_and_the_limits_are_inclusive(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token)
    await ana.ok("save_canned", name="n" * 40, text="x" * 2_000)
    for i in range(1, MAX_CANNED):
        await ana.ok("save_canned", name=f"m{i:03}", text="x")
    refused = await ana.request("save_canned", name="one more", text="x")
    assert refused["type"] == "error" and refused["code"] == "too_many_canned"
    assert "200" in refused["message"]
    # Replacing one of the 200 is still allowed; after a deletion there is room again.
    await ana.ok("save_canned", name="M001", text="changed")
    await ana.ok("delete_canned", name="m002")
    await ana.ok("save_canned", name="one more", text="x")
    assert db(backend, "SELECT COUNT(*) FROM canned") == [(MAX_CANNED,)]


async def test_all_of_them_must_fit_in_one_frame(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token)
    # Four bytes each in UTF-8: 2,000 of them are ~8 KiB, and 80 such messages ~640 KiB.
    for i in range(80):
        reply = await ana.request("save_canned", name=f"wide {i}", text="😀" * 2_000)
        if reply["type"] == "error":
            assert reply["code"] == "too_many_canned" and "KiB" in reply["message"]
            break
    else:
        raise AssertionError("the desk took more than it can send in one frame")
    assert 50 < i < 80
    assert db(backend, "SELECT COUNT(*) FROM canned") == [(i,)]


async def test_a_retried_command_is_applied_once(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token)
    ben, _ = await librarian(backend.url, backend.token, name="Ben")
    first = await ana.ok("save_canned", id="save-1", name="hours", text="9-5")
    await ben.ok("save_canned", name="hours", text="8-8")  # a colleague changes it meanwhile
    again = await ana.ok("save_canned", id="save-1", retry=True, name="hours", text="9-5")
    assert again == first
    assert db(backend, "SELECT text, updated_by FROM canned") == [("8-8", "Ben")]

    gone = await ana.ok("delete_canned", id="del-1", name="hours")
    assert await ana.ok("delete_canned", id="del-1", retry=True, name="hours") == gone  # not unknown_canned


async def test_every_console_hears_of_a_change_after_it_is_stored(backend: Backend) -> None:
    ana, _ = await librarian(backend.url, backend.token, name="Ana")
    ben, _ = await librarian(backend.url, backend.token, name="Ben")
    await ana.ok("save_canned", name="b", text="second")
    await ana.ok("save_canned", name="A", text="first")
    event = await ben.next_event("canned")
    event = await ben.next_event("canned")
    assert "seq" not in event  # the current list, not a replayed event
    assert [(m["name"], m["text"], m["updated_by"]) for m in event["messages"]] == [
        ("A", "first", "Ana"), ("b", "second", "Ana")]
    assert set(event["messages"][0]) == {"name", "text", "updated_by", "updated_at"}
    assert (await ana.next_event("canned"))["messages"][0]["name"] == "b"  # the sender's console too
    await ana.ok("delete_canned", name="a")
    assert [m["name"] for m in (await ben.next_event("canned"))["messages"]] == ["b"]
    # A refused change tells nobody anything.
    await ana.request("delete_canned", name="a")
    await ana.ok("save_canned", name="c", text="third")
    assert [m["name"] for m in (await ben.next_event("canned"))["messages"]] == ["b", "c"]
    # A console that connects later has them in its hello, with the library's name.
    _cara, hello = await librarian(backend.url, backend.token, name="Cara")
    assert [m["name"] for m in hello["canned"]] == ["b", "c"]
    assert hello["library_name"] == "the library"


async def test_config_toml_canned_section_reaches_the_desk(tmp_path: Path, clock: FakeClock) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[widget]\nlibrary_name = "Hilltop Library"\n\n[canned]\n'
                      'hours = "We open at 9, {patron_name}."\n'
                      '"opening hours" = """\nMon-Fri 9-5\nSat 10-2"""\n',
                      encoding="utf-8")
    settings = load_settings(config)
    backend = await started(tmp_path / "data", clock, team=settings.desk.team, widget=settings.widget)
    try:
        _ana, hello = await librarian(backend.url, backend.token)
        assert [(m["name"], m["text"]) for m in hello["canned"]] == [
            ("hours", "We open at 9, {patron_name}."), ("opening hours", "Mon-Fri 9-5\nSat 10-2")]
        assert hello["library_name"] == "Hilltop Library"
    finally:
        await backend.stop()


async def test_seeded_from_settings_once(tmp_path: Path, clock: FakeClock) -> None:
    team = TeamSettings(canned=(("hours", "We are open 9-5."), ("welcome", "Hi {patron_name}"),
                                ("bad\x07name", "refused, logged, the desk starts")))
    widget = WidgetSettings(library_name="Hilltop Library")
    backend = await started(tmp_path / "data", clock, team=team, widget=widget)
    try:
        ana, hello = await librarian(backend.url, backend.token)
        assert [(m["name"], m["updated_by"]) for m in hello["canned"]] == [
            ("hours", "config.toml"), ("welcome", "config.toml")]
        assert hello["library_name"] == "Hilltop Library"
        await ana.ok("save_canned", name="HOURS", text="We are open 8-8.")
        await ana.ok("delete_canned", name="welcome")
        await ana.close()
    finally:
        await backend.stop()
    # Restarted with the same settings and one new message: the team's edits stand.
    team = TeamSettings(canned=(*team.canned, ("bye", "Goodbye!")))
    backend = await started(tmp_path / "data", clock, team=team, widget=widget)
    try:
        _ana, hello = await librarian(backend.url, backend.token)
        assert [(m["name"], m["text"]) for m in hello["canned"]] == [
            ("bye", "Goodbye!"), ("HOURS", "We are open 8-8.")]
    finally:
        await backend.stop()


# --- expanding and matching (no desk) ------------------------------------------------------


def test_placeholders_are_filled_once_and_made_inert() -> None:
    text = "Hi {patron_name}, {librarian_name} at {library_name} here. {unknown} {Patron_Name} {patron_name"
    assert expand(text, patron_name="Maya  Lin", librarian_name="Ana", library_name="Hilltop") == (
        "Hi Maya Lin, Ana at Hilltop here. {unknown} {Patron_Name} {patron_name")
    assert expand("{library_name}", patron_name="x", librarian_name="y", library_name="  ") == "the library"
    # A patron named after a placeholder stays so: one pass, nothing expanded twice.
    assert expand("{patron_name}", patron_name="{librarian_name}", librarian_name="Ana",
                  library_name="") == "{librarian_name}"
    hostile = expand("Dear {patron_name}.\nBye", patron_name="[red]x[/red]\x1b[2J\x1b]0;pwned\x07\u202e",
                     librarian_name="Ana", library_name="")
    assert hostile == "Dear [red]x[/red]⟨U+202E⟩. Bye"  # markup kept as text, escapes gone, one line
    assert len(expand("{patron_name}" * 300, patron_name="n" * 100, librarian_name="", library_name="")) \
        == LIMITS["message"]


def test_names_match_fuzzily_best_first() -> None:
    names = ["holds", "hours", "opening hours", "renewals", "Hours of the reading room"]
    assert rank("hours", names) == ["hours", "opening hours", "Hours of the reading room"]
    assert rank("hrs", names)[0] == "hours"
    assert rank("HO", names)[:2] == ["holds", "hours"]
    assert rank("", names) == names
    assert rank("xyz", names) == []
    score, offsets = match("rnw", "renewals")
    assert score > 0 and offsets == [0, 2, 4]


def test_matching_a_pathological_name_stays_quick() -> None:
    started_at = time.perf_counter()
    for _ in range(200):  # a whole desk of them
        match("a" * 20, "a b " * 10)
        match("ab" * 10, "a" * 20 + "b" * 20)
    assert time.perf_counter() - started_at < 1.0


# --- the console ---------------------------------------------------------------------------

HOURS = "Hi {patron_name}, this is {librarian_name} at {library_name}. We open at 9. {unknown}"


async def with_canned(backend: Backend, *messages: tuple[str, str]) -> Peer:
    """Ben, on the desk, saves the team's canned messages."""
    ben, _ = await librarian(backend.url, backend.token, name="Ben", lib_id="ben")
    for name, text in messages:
        await ben.ok("save_canned", name=name, text=text)
    return ben


async def accepted(pilot: Any, app: LibChatApp, backend: Backend, patron: str) -> tuple[Peer, int]:
    """A patron asks; Ana accepts from the list and is in the composer."""
    peer, joined = await join(backend.url, name=patron, question="When do you open?")
    chat_id = desk_id(backend, joined)
    await wait_until(pilot, lambda: chat_id in app.model.chats, "the chat on the desk")
    await wait_until(pilot, lambda: len(app.model.canned) > 0, "the canned messages")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.focused, Composer), "in the composer")
    return peer, chat_id


async def heard(peer: Peer, names: list[str]) -> dict[str, Any]:
    """The `canned` event that lists exactly these names (earlier ones are passed over)."""
    while True:
        event = await peer.next_event("canned")
        if [m["name"] for m in event["messages"]] == names:
            return event


def offered(app: LibChatApp, key: str) -> bool:
    """The screen offers `key` now (the footer and the palette show what is offered)."""
    return any(binding.key == key and enabled for _node, binding, enabled, _tip
               in app.screen.active_bindings.values())


def composer(app: LibChatApp) -> Composer:
    return app.screen.query_one(Composer)


def sent(backend: Backend, chat_id: int) -> list[str]:
    """What librarians sent the patron, as the desk stored it."""
    rows = db(backend, "SELECT text FROM messages WHERE chat_id=? AND sender='librarian' ORDER BY id",
              chat_id)
    return [row[0] for row in rows]


async def test_ctrl_k_inserts_the_expanded_text_to_edit_and_sends_nothing(
        tmp_path: Path, clock: FakeClock) -> None:
    backend = await started(tmp_path / "data", clock, widget=WidgetSettings(library_name="Hilltop Library"))
    try:
        await with_canned(backend, ("hours", HOURS), ("holds", "Holds wait 7 days."))
        app = make_app(backend, clock, tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            patron, chat_id = await accepted(pilot, app, backend, "Maya Lin")
            assert offered(app, "ctrl+k")
            await pilot.press(*"Sure! ", "ctrl+k")
            await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), "the picker")
            await pilot.press(*"hrs")
            await wait_until(pilot, lambda: app.screen.shown[:1] == ["hours"], "hours first")
            assert "Hi {patron_name}, this is" in screen_text(app)  # the text's start, as typed
            await pilot.press("enter")
            expected = "Sure! Hi Maya Lin, this is Ana at Hilltop Library. We open at 9. {unknown}"
            await wait_until(pilot, lambda: composer(app).value == expected, "inserted, expanded")
            assert isinstance(app.focused, Composer)
            # Inserted, not sent: the desk has no line from Ana, and it is still hers to edit.
            assert await app.request("transcript", chat_id=chat_id) is not None  # a round trip
            assert sent(backend, chat_id) == []
            await pilot.press("backspace", *"tomorrow.", "enter")
            heard = await patron.next_event("message")
            assert heard["message"]["text"] == expected[:-1] + "tomorrow."
            assert sent(backend, chat_id) == [expected[:-1] + "tomorrow."]

            await pilot.press("ctrl+k")  # esc cancels: nothing inserted
            await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), "the picker again")
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "cancelled")
            assert composer(app).value == ""
    finally:
        await backend.stop()


async def test_no_canned_messages_for_a_chat_ana_may_not_send_to(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    await with_canned(backend, ("hours", HOURS))
    _patron, joined = await join(backend.url, name="Wanda Waiting")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, joined) in app.model.chats, "the waiting chat")
        await wait_until(pilot, lambda: app.screen.chat is not None, "in the pane")
        assert app.screen.check_action("canned", ()) is False  # waiting: nobody may send yet
        assert not offered(app, "ctrl+k")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Canned" not in titles and "Edit canned messages" in titles  # the palette agrees
        await pilot.press("ctrl+k")
        await pilot.pause(0.1)
        assert isinstance(app.screen, DashboardScreen)


async def test_slash_offers_matching_names_and_enter_still_sends_a_slash(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    await with_canned(backend, ("hours", HOURS), ("holds", "Holds wait 7 days."),
                      ("renew", "You can renew online."))
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        patron, chat_id = await accepted(pilot, app, backend, "Maya Lin")
        suggestions = app.screen.query_one(CannedSuggestions)
        await pilot.press("/", "h", "o")
        await wait_until(pilot, lambda: [n for n, _t in composer(app).offered] == ["holds", "hours"], "two")
        await wait_until(pilot, lambda: suggestions.display, "the list shows")
        text = screen_text(app)
        assert "▸ holds — Holds wait 7 days." in text and "  hours — Hi {patron_name}" in text
        await pilot.press("down")  # ↓ chooses hours (the mark moves: not colour alone)
        await wait_until(pilot, lambda: "▸ hours" in screen_text(app), "hours chosen")
        await pilot.press("tab")
        expected = "Hi Maya Lin, this is Ana at the library. We open at 9. {unknown}"
        await wait_until(pilot, lambda: composer(app).value == expected, "inserted")
        assert not suggestions.display and sent(backend, chat_id) == []
        await pilot.press("enter")  # now enter sends it
        assert (await patron.next_event("message"))["message"]["text"] == expected

        # Nothing matches: enter sends the slash as typed.
        await pilot.press(*"/usr/bin")
        await wait_until(pilot, lambda: composer(app).value == "/usr/bin", "typed")
        assert composer(app).offered == [] and not suggestions.display
        await pilot.press("enter")
        assert (await patron.next_event("message"))["message"]["text"] == "/usr/bin"

        # Something matches but esc dismisses the list: enter sends as typed too.
        await pilot.press("/", "r")
        await wait_until(pilot, lambda: suggestions.display, "renew offered")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not suggestions.display, "dismissed")
        assert isinstance(app.focused, Composer)  # esc did not leave the chat
        await pilot.press("enter")
        assert (await patron.next_event("message"))["message"]["text"] == "/r"
        assert sent(backend, chat_id) == [expected, "/usr/bin", "/r"]

        # enter inserts the chosen one; a click on a line does too.
        await pilot.press("/", "r", "enter")
        await wait_until(pilot, lambda: composer(app).value == "You can renew online.", "enter inserts")
        await pilot.press("ctrl+u", "/", "h")
        await wait_until(pilot, lambda: len(composer(app).offered) == 2, "two again")
        await pilot.click(CannedSuggestions, offset=(4, 2))  # the second line: hours
        await wait_until(pilot, lambda: composer(app).value == expected, "clicked in")


async def test_a_hostile_patron_name_goes_in_inert(backend: Backend, clock: FakeClock,
                                                    tmp_path: Path) -> None:
    await with_canned(backend, ("hi", "Hello {patron_name}!"),
                      ("[b]click[/b]", "[@click=app.quit]Quit[/] \u202eevil"))
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        patron, _chat_id = await accepted(pilot, app, backend, "[red]x[/red]\x1b[2J")
        await pilot.press("ctrl+k")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), "the picker")
        # A colleague's markup in a name or a text is shown as typed, never run.
        assert "[b]click[/b]  [@click=app.quit]Quit[/] ⟨U+202E⟩evil" in screen_text(app)
        await pilot.press(*"hi", "enter")
        await wait_until(pilot, lambda: composer(app).value == "Hello [red]x[/red]!", "inserted, escape gone")
        assert "Hello [red]x[/red]!" in screen_text(app)  # shown as typed: the markup was not parsed
        await pilot.press("enter")
        assert (await patron.next_event("message"))["message"]["text"] == "Hello [red]x[/red]!"


async def test_the_editor_adds_changes_and_deletes_for_the_whole_team(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben = await with_canned(backend, ("hours", HOURS))
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    async with app.run_test(size=(80, 24), message_hook=toasts) as pilot:  # the smallest terminal
        await wait_until(pilot, lambda: len(app.model.canned) == 1, "the team's list")
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedEditor), "the editor")
        editor = app.screen
        assert isinstance(editor, CannedEditor)
        await pilot.press("ctrl+n", *"renew", "tab", *"You can renew {patron_name}'s books online.")
        await pilot.press("ctrl+s")
        event = await heard(ben, ["hours", "renew"])  # another console hears of it
        assert [m["updated_by"] for m in event["messages"]] == ["Ben", "Ana"]
        assert db(backend, "SELECT text FROM canned WHERE name='renew'") == [
            ("You can renew {patron_name}'s books online.",)]
        await wait_until(pilot, lambda: "Saved “renew”" in screen_text(app), "said so")
        assert "Save" in screen_text(app) and "esc" in screen_text(app)  # fits at 80 by 24

        # Ben changes hours meanwhile: Ana's list follows.
        await ben.ok("save_canned", name="hours", text="We open at 8 now.")
        await wait_until(pilot, lambda: "We open at 8 now." in screen_text(app), "the list follows")

        # Rename renew to Renewals (enter on it loads it into the form).
        editor.options.focus()
        editor.options.highlighted = editor.names.index("renew")
        await pilot.press("enter")
        await wait_until(pilot, lambda: editor.editing == "renew", "loaded")
        editor.query_one("#canned-name", Input).value = "Renewals"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: [m["name"] for m in app.model.canned] == ["hours", "Renewals"],
                         "renamed")
        assert db(backend, "SELECT name FROM canned ORDER BY name") == [("hours",), ("Renewals",)]

        # Delete asks first; n keeps it, y deletes it.
        editor.options.focus()
        editor.options.highlighted = editor.names.index("hours")
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks")
        assert "hours" in app.screen.question and "whole team" in app.screen.question
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is editor, "kept")
        assert len(db(backend, "SELECT name FROM canned")) == 2
        await pilot.press("delete", "y")
        await wait_until(pilot, lambda: [m["name"] for m in app.model.canned] == ["Renewals"], "deleted")
        await heard(ben, ["Renewals"])
        # Unsaved words in the form: esc asks before throwing them away.
        editor.query_one("#canned-text", TextArea).focus()
        await pilot.press(*"half-written")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm), "asks before losing it")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is editor, "still editing")
        await pilot.press("escape", "y")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "closed")
        assert not [t for t in toasts.titles if t in ("Error", "Refused")]


async def test_a_change_made_offline_is_delivered_even_after_the_editor_closes(
        tmp_path: Path, clock: FakeClock) -> None:
    backend = await started(tmp_path / "data", clock)
    port = backend.port
    app = make_app(backend, clock, tmp_path)
    toasts = Toasts()
    try:
        async with app.run_test(size=(120, 40), notifications=True, message_hook=toasts) as pilot:
            await wait_until(pilot, lambda: app.status.state == "online", "online")
            await backend.stop()
            await wait_until(pilot, lambda: app.status.state == "offline", "offline")
            await pilot.press("f7")
            await wait_until(pilot, lambda: isinstance(app.screen, CannedEditor), "the editor")
            await pilot.press("ctrl+n", *"wifi", "tab", *"Network: Library-Guest", "ctrl+s")
            await wait_until(pilot, lambda: "queued" in screen_text(app), "says it is queued")
            await pilot.press("escape")  # closed before the desk has it
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "closed")
            assert app.client is not None and app.client.queued == 1

            backend = Backend(data_dir=tmp_path / "data", clock=clock, token="test-token", port=port)
            await backend.start()
            await wait_until(pilot, lambda: app.status.state == "online", "back", timeout=15)
            await wait_until(pilot, lambda: "Saved the canned message “wifi”." in toasts.messages,
                             "the outcome, said once the desk answered")
            assert db(backend, "SELECT name, text, updated_by FROM canned") == [
                ("wifi", "Network: Library-Guest", "Ana")]
            await wait_until(pilot, lambda: [m["name"] for m in app.model.canned] == ["wifi"], "listed")
            assert not [t for t in toasts.titles if t in ("Error", "Refused")]
    finally:
        await backend.stop()
