"""`[keys]`: the table of remappable keys is the real bindings, and a key bound twice stops
start-up naming both actions (issue 23, and the documented examples that took f5 from Blocks
and ctrl+k from canned messages).

The settings file is read without textual (config.py must not load it); the console checks
`[keys]` against its real `Binding` objects before it starts (`ui.launch.check_keys`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from textual.binding import Binding

from libchat_tui.config import ConfigError, Settings, load_settings
from libchat_tui.ui import launch
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.screens.dashboard import DashboardScreen
from libchat_tui.ui.widgets.chat_list import ChatList
from libchat_tui.ui.widgets.patron_panel import PatronPanel

DOCS = Path(__file__).parent.parent / "docs"
#: A key no binding has by default (f10 and f11 are free too; examples use them).
FREE = "f12"


def settings_with(tmp_path: Path, keys: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text("[appearance]\nbell = false\n[keys]\n" + keys, encoding="utf-8")
    return load_settings(path, env={})


def refused(tmp_path: Path, keys: str) -> str:
    settings = settings_with(tmp_path, keys)
    with pytest.raises(ConfigError) as caught:
        launch.check_keys(settings)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'config.toml'}, line "), message
    return message


def real_ids() -> set[str]:
    """Every binding id of the console's main screen, read off the classes themselves."""
    found = set()
    for cls in (LibChatApp, DashboardScreen, ChatList, PatronPanel):
        for base in cls.__mro__:
            for binding in base.__dict__.get("BINDINGS", ()):
                if isinstance(binding, Binding) and binding.id:
                    found.add(binding.id)
    return found


# -- conflicts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "key", "victim"), [
    ('next-waiting = "ctrl+space,f5"', "f5", "blocks"),
    ('close-chat = "ctrl+k"', "ctrl+k", "canned"),
])
def test_the_old_documented_examples_are_refused_naming_both_actions(
        tmp_path: Path, line: str, key: str, victim: str) -> None:
    message = refused(tmp_path, f'end-chat = "f10"\n{line}\n')
    binding = line.split(" ")[0]
    assert ", line 5: [keys] " in message, message  # the line of the remap, not of end-chat
    assert binding in message and victim in message and f'"{key}"' in message, message
    assert "\n" not in message


def test_a_key_conflict_stops_the_console_before_it_starts(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nclose-chat = "ctrl+k"\n', encoding="utf-8")
    started = ("import sys; import libchat_tui.ui.launch as l; "
               "l.launch = lambda args, settings: print('STARTED') or 0; "
               "from libchat_tui import cli; sys.exit(cli.main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", started, "--data-dir", str(tmp_path / "data")],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                         env={**os.environ, "LIBCHAT_CONFIG": str(config),
                              "LIBCHAT_LOG_DIR": str(tmp_path / "log")})
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "STARTED" not in out.stdout
    assert out.stderr.startswith(f"libchat-tui: {config}, line 2: [keys] close-chat"), out.stderr
    assert "canned" in out.stderr and "ctrl+k" in out.stderr and out.stderr.count("\n") == 1


def test_two_remaps_to_one_key_name_both_and_their_lines(tmp_path: Path) -> None:
    message = refused(tmp_path, 'end-chat = "f10"\nnote = "ctrl+y,f10"\n')
    assert "end-chat" in message and "note" in message and '"f10"' in message
    assert "line 4" in message and "line 5" in message


def test_a_remapped_app_key_must_be_free_on_every_screen(tmp_path: Path) -> None:
    # ctrl+q is a priority key of the app: remapped to ctrl+s it would take every dialog's Save.
    message = refused(tmp_path, 'quit = "ctrl+s"\n')
    assert "quit" in message and '"ctrl+s"' in message and "-save" in message, message
    # f2 works from the Tickets screen too, where c closes a ticket.
    message = refused(tmp_path, 'tickets = "c"\n')
    assert "tickets-close" in message, message


@pytest.mark.parametrize(("keys", "taken"), [
    ('help = "tab"', "Focus Next"),
    ('note = "ctrl+p"', "palette"),
    ('next-waiting = "home"', "First"),  # the chat list's own
])
def test_textual_s_own_keys_are_taken_too(tmp_path: Path, keys: str, taken: str) -> None:
    message = refused(tmp_path, keys + "\n")
    assert taken.lower() in message.lower(), message


def test_keys_that_stay_apart_are_fine(tmp_path: Path) -> None:
    launch.check_keys(settings_with(tmp_path, ""))
    launch.check_keys(settings_with(tmp_path, 'end-chat = "ctrl+w"\nclose-chat = "ctrl+e"\n'))  # a swap
    launch.check_keys(settings_with(tmp_path, f'missed-filter = "{FREE}"\n'))  # one id, two bindings
    launch.check_keys(settings_with(tmp_path, 'blocks = "f10"\nnext-waiting = "ctrl+space,f5"\n'))
    launch.check_keys(settings_with(tmp_path, 'cursor-down = "down, n"\n'))


def shared_defaults() -> list[tuple[str, str, str]]:
    """(id, id, key): two different binding ids one class gives the same key on purpose."""
    pairs = []
    for cls in (LibChatApp, DashboardScreen, ChatList, PatronPanel):
        own = [b for base in cls.__mro__ for b in base.__dict__.get("BINDINGS", ())
               if isinstance(b, Binding) and b.id]
        for i, first in enumerate(own):
            for second in own[i + 1:]:
                shared = set(first.key.split(",")) & set(second.key.split(","))
                if first.id != second.id and shared:
                    pairs.append((str(first.id), str(second.id), min(shared)))
    return pairs


@pytest.mark.parametrize(("first", "second", "key"), shared_defaults())
def test_remapping_one_of_two_bindings_that_share_a_key_must_name_the_other(
        tmp_path: Path, first: str, second: str, key: str) -> None:
    # Textual would take the shared key from both: the other would be left without it.
    message = refused(tmp_path, f'{first} = "{FREE}"\n')
    assert first in message and second in message and f'"{key}"' in message, message
    launch.check_keys(settings_with(tmp_path, f'{first} = "{FREE}"\n{second} = "{FREE}"\n'))


# -- the table of remappable keys is the real bindings (issue 23) ------------------------------


def test_every_binding_id_of_the_main_screen_can_be_remapped(tmp_path: Path) -> None:
    assert set(launch.remappable_keys()) == real_ids()
    sharing = shared_defaults()
    for binding in sorted(real_ids()):
        # with the bindings that share its key on purpose (enter: accept / open), if any
        together = {binding, *(b for a, b, _ in sharing if a == binding),
                    *(a for a, b, _ in sharing if b == binding)}
        launch.check_keys(settings_with(tmp_path, "".join(f'{b} = "{FREE}"\n' for b in sorted(together))))


def test_every_default_key_could_be_written_in_the_settings_file(tmp_path: Path) -> None:
    for binding, keys in launch.remappable_keys().items():
        assert settings_with(tmp_path, f'{binding} = "{keys}"\n').keys == {binding: keys}


def test_an_unknown_binding_id_lists_the_known_ones(tmp_path: Path) -> None:
    message = refused(tmp_path, 'end-chat = "ctrl+x"\nclose-chats = "ctrl+e"\n')
    assert ", line 5: [keys] close-chats is not a binding id" in message, message
    assert all(binding in message for binding in launch.remappable_keys())


def key_table(guide: str) -> dict[str, str]:
    section = guide.split("## Keys: `[keys]`", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z0-9-]+)` \| `([^`]+)` \|", section, re.M))


def test_the_settings_guide_lists_the_real_bindings() -> None:
    assert key_table((DOCS / "guide-settings.md").read_text(encoding="utf-8")) == launch.remappable_keys()


@pytest.mark.parametrize("guide", [
    "guide-settings.md",
    "guide.md",
])
def test_the_key_examples_in_the_guides_start(tmp_path: Path, guide: str) -> None:
    text = (DOCS / guide).read_text(encoding="utf-8")
    examples = [e for e in re.findall(r"```toml\n(.*?)```", text, re.S) if "[keys]" in e]
    assert examples
    for example in examples:
        path = tmp_path / "config.toml"
        path.write_text(example, encoding="utf-8")
        launch.check_keys(load_settings(path, env={"LIBANSWERS_CLIENT_SECRET": "s"}))


def test_the_keyboard_reference_lists_every_remappable_key(tmp_path: Path) -> None:
    app = LibChatApp(settings_with(tmp_path, ""), librarian_id="ana", name="Ana")
    assert {row[2] for row in app.key_rows()} >= set(launch.remappable_keys())
