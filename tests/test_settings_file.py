"""The settings file: optional, fully defaulted, and every mistake named by file, line and key.

A librarian who mistypes `config.toml` must be told exactly where to look; the app must
never start half-configured. The environment is always passed in explicitly so that the
tests never read the real user config dir.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from libchat_tui import config
from libchat_tui.analytics import CHAT_DATASET, DEFAULT_DATASETS, Dataset, Field
from libchat_tui.config import (
    BINDING_IDS,
    DEFAULT_KEYS,
    ConfigError,
    Settings,
    config_path,
    load_settings,
)

FULL = """\
# A complete settings file.
[librarian]
name = "Ada Lovelace"

[server]
url = "wss://chat.library.example/desk"
token = "from-the-file"

[appearance]
theme = "nord"
bell = false

[desk]
grace_seconds = 90

[keys]
end-chat = "ctrl+x"
"close-chat" = "f5, ctrl+k"
quit = "ctrl+q"

[libanswers]
site = "https://library.libanswers.com"
client_id = "123"

[analytics.datasets.Instruction]
[[analytics.datasets.Instruction.fields]]
name = "format"
label = "Session format"
kind = "choice"
required = true
options = ["In person", " Online "]

[[analytics.datasets.Instruction.fields]]
name = "effort"
kind = "scale"

[[analytics.datasets.Instruction.fields]]
name = "attendees"
kind = "number"
min = 1
max = 500

[[analytics.datasets.Instruction.fields]]
name = "notes"
kind = "text"
max_length = 300

[[analytics.datasets.Instruction.fields]]
name = "subjects"
kind = "multi"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **env: str) -> Settings:
    path = write(tmp_path, text)
    return load_settings(env={"LIBCHAT_CONFIG": str(path), **env})


def mistake(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}, line "), message
    return message


def assert_mistake(tmp_path: Path, text: str, line: int, *words: str) -> str:
    message = mistake(tmp_path, text)
    assert f", line {line}: " in message, message
    for word in words:
        assert word in message, message
    return message


# -- no file, defaults ------------------------------------------------------------------------------


def test_no_file_means_every_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ada.lovelace")
    missing = tmp_path / "nowhere" / "config.toml"
    settings = load_settings(env={"LIBCHAT_CONFIG": str(missing)})
    assert settings.path == missing
    assert settings.librarian.name == "Ada Lovelace"
    assert settings.server.url is None and settings.server.token is None
    assert (settings.appearance.theme, settings.appearance.bell) == ("textual-dark", True)
    assert settings.desk.grace_seconds == 60.0
    assert settings.keys == {}
    assert settings.datasets == DEFAULT_DATASETS
    assert settings.libanswers == config.LibAnswersSettings(None, None, None)


def test_an_empty_file_is_the_same_as_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ada")
    empty = load(tmp_path, "# nothing here\n\n")
    missing = load_settings(env={"LIBCHAT_CONFIG": str(tmp_path / "missing.toml")})
    assert empty.librarian == missing.librarian
    assert (empty.server, empty.appearance, empty.desk, empty.keys) == \
        (missing.server, missing.appearance, missing.desk, missing.keys)


def test_the_default_name_survives_an_environment_without_a_user(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("no user")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert load(tmp_path, "").librarian.name == "Librarian"


def test_the_file_lives_in_the_user_config_dir_unless_told_otherwise(tmp_path: Path) -> None:
    assert config_path(env={}) == config.default_config_dir() / "config.toml"
    assert config_path(env={"LIBCHAT_CONFIG": ""}) == config.default_config_dir() / "config.toml"
    assert config_path(env={"LIBCHAT_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    assert config_path(tmp_path / "explicit.toml", env={"LIBCHAT_CONFIG": "/elsewhere"}) == \
        tmp_path / "explicit.toml"


def test_an_explicit_path_wins_over_libchat_config(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[librarian]\nname = "Explicit"\n')
    other = write(tmp_path, '[librarian]\nname = "From env"\n')
    assert load_settings(explicit, env={"LIBCHAT_CONFIG": str(other)}).librarian.name == "Explicit"
    assert load_settings(env={"LIBCHAT_CONFIG": str(other)}).librarian.name == "From env"


def test_every_binding_id_has_a_valid_default_key() -> None:
    assert frozenset(DEFAULT_KEYS) == BINDING_IDS
    for binding, keys in DEFAULT_KEYS.items():
        assert all(re.fullmatch(r"[a-z0-9_+\-]+", key) for key in keys.split(",")), binding


# -- every section and key -----------------------------------------------------------------------------


def test_every_section_and_key_is_read(tmp_path: Path) -> None:
    settings = load(tmp_path, FULL)
    assert settings.librarian.name == "Ada Lovelace"
    assert settings.server.url == "wss://chat.library.example/desk"
    assert settings.server.token == "from-the-file"
    assert settings.appearance.theme == "nord"
    assert settings.appearance.bell is False
    assert settings.desk.grace_seconds == 90.0
    assert isinstance(settings.desk.grace_seconds, float)
    assert settings.keys == {"end-chat": "ctrl+x", "close-chat": "f5, ctrl+k", "quit": "ctrl+q"}
    assert settings.libanswers.site == "https://library.libanswers.com"
    assert settings.libanswers.client_id == "123"
    assert settings.libanswers.client_secret is None
    assert settings.datasets["Chat"] == CHAT_DATASET
    assert settings.datasets["Instruction"] == Dataset("Instruction", (
        Field("format", "Session format", "choice", required=True, options=("in person", "online")),
        Field("effort", "effort", "scale", min=1, max=6),
        Field("attendees", "attendees", "number", min=1, max=500),
        Field("notes", "notes", "text", max_length=300),
        Field("subjects", "subjects", "multi"),
    ))


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path, FULL)
    with pytest.raises(AttributeError):
        settings.desk.grace_seconds = 5  # type: ignore[misc]


def test_text_settings_are_trimmed_and_grace_may_be_a_fraction(tmp_path: Path) -> None:
    settings = load(tmp_path, '[librarian]\nname = "  Sam  "\n[desk]\ngrace_seconds = 5.5\n'
                              '[server]\nurl = "ws://localhost:8765"\n')
    assert settings.librarian.name == "Sam"
    assert settings.desk.grace_seconds == 5.5
    assert settings.server.url == "ws://localhost:8765"


@pytest.mark.parametrize("grace", [5, 3600])
def test_grace_bounds_are_inclusive(tmp_path: Path, grace: int) -> None:
    assert load(tmp_path, f"[desk]\ngrace_seconds = {grace}\n").desk.grace_seconds == grace


def test_settings_written_as_dotted_keys_are_read_too(tmp_path: Path) -> None:
    settings = load(tmp_path, 'librarian.name = "Dot"\ndesk.grace_seconds = 30\n'
                              'keys = { help = "f9" }\n')
    assert (settings.librarian.name, settings.desk.grace_seconds) == ("Dot", 30)
    assert settings.keys == {"help": "f9"}


def test_a_dataset_may_replace_the_default_chat_dataset(tmp_path: Path) -> None:
    settings = load(tmp_path, '[[analytics.datasets.Chat.fields]]\nname = "q"\nkind = "text"\n')
    assert settings.datasets == {"Chat": Dataset("Chat", (Field("q", "q", "text"),))}


def test_datasets_from_the_file_survive_the_wire(tmp_path: Path) -> None:
    for dataset in load(tmp_path, FULL).datasets.values():
        assert Dataset.from_wire(dataset.to_wire()) == dataset


# -- environment ---------------------------------------------------------------------------------------


def test_libchat_token_overrides_the_file(tmp_path: Path) -> None:
    assert load(tmp_path, FULL, LIBCHAT_TOKEN="from-env").server.token == "from-env"
    assert load(tmp_path, FULL, LIBCHAT_TOKEN="").server.token == "from-the-file"
    assert load(tmp_path, "", LIBCHAT_TOKEN="only-env").server.token == "only-env"


def test_the_libanswers_secret_comes_only_from_the_environment(tmp_path: Path) -> None:
    settings = load(tmp_path, FULL, LIBANSWERS_CLIENT_SECRET="s3cret")
    assert settings.libanswers.client_secret == "s3cret"
    assert load(tmp_path, FULL, LIBANSWERS_CLIENT_SECRET="").libanswers.client_secret is None
    assert_mistake(tmp_path, '[libanswers]\nsite = "x"\nclient_secret = "oops"\n', 3,
                   "[libanswers] client_secret", "is not a setting")


def test_the_process_environment_is_not_consulted_when_env_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBCHAT_TOKEN", "leaked")
    monkeypatch.setenv("LIBANSWERS_CLIENT_SECRET", "leaked")
    settings = load(tmp_path, FULL)
    assert settings.server.token == "from-the-file"
    assert settings.libanswers.client_secret is None


# -- mistakes: file, line and key ----------------------------------------------------------------------


def test_an_unknown_section_is_named_with_its_line(tmp_path: Path) -> None:
    message = assert_mistake(tmp_path, '[librarian]\nname = "A"\n\n[sever]\nurl = "ws://x"\n', 4,
                             "[sever]", "is not a section", "server")
    assert "known: analytics, appearance" in message


def test_an_unknown_top_level_key_or_subtable_is_found(tmp_path: Path) -> None:
    assert_mistake(tmp_path, "# settings\n\ntheme = 'nord'\n", 3, "[theme]", "is not a section")
    assert_mistake(tmp_path, '# settings\n[look.colours]\nx = 1\n', 2, "[look]", "is not a section")


@pytest.mark.parametrize(("text", "line", "key"), [
    ('[librarian]\nname = "A"\nemail = "a@b"\n', 3, "[librarian] email"),
    ('[server]\nurl = "ws://x"\n\nport = 80\n', 4, "[server] port"),
    ("[appearance]\ncolour = 'red'\n", 2, "[appearance] colour"),
    ("[desk]\ngrace = 30\n", 2, "[desk] grace"),
    ("[analytics]\ndataset = 1\n", 2, "[analytics] dataset"),
    ("[desk]\ngrace_seconds = 30\n[appearance]\nbell = true\n[appearance.extra]\n", 5, "[appearance] extra"),
])
def test_an_unknown_key_is_named_with_its_line(tmp_path: Path, text: str, line: int, key: str) -> None:
    assert_mistake(tmp_path, text, line, key, "is not a setting (known: ")


def test_a_section_that_is_not_a_table(tmp_path: Path) -> None:
    assert_mistake(tmp_path, '# hi\ndesk = 30\n', 2, "desk must be a section")
    assert_mistake(tmp_path, '[librarian]\nname = "x"\n[analytics]\ndatasets = 3\n', 4,
                   "[analytics] datasets", "must be a table of datasets")


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    ('[librarian]\nname = 42\n', 2, "[librarian] name", "must be text of 1 to 80 characters, got 42"),
    ('[librarian]\nname = "   "\n', 2, "[librarian] name", "got '   '"),
    (f'[librarian]\nname = "{"x" * 81}"\n', 2, "[librarian] name", "1 to 80"),
    ('[server]\ntoken = ["a"]\n', 2, "[server] token", "must be text"),
    ('[server]\nurl = 8765\n', 2, "[server] url", "must be text"),
    ('[appearance]\ntheme = true\n', 2, "[appearance] theme", "must be text"),
    ('[appearance]\nbell = "yes"\n', 2, "[appearance] bell", "must be true or false, got 'yes'"),
    ('[appearance]\nbell = 1\n', 2, "[appearance] bell", "must be true or false, got 1"),
    ('[desk]\ngrace_seconds = "60"\n', 2, "[desk] grace_seconds", "between 5 and 3600, got '60'"),
    ('[desk]\ngrace_seconds = true\n', 2, "[desk] grace_seconds", "got True"),
    ('[libanswers]\nsite = 1\n', 2, "[libanswers] site", "must be text"),
    ('[libanswers]\nclient_id = ""\n', 2, "[libanswers] client_id", "must be text"),
])
def test_a_wrong_type_is_named_with_its_line(
        tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    assert_mistake(tmp_path, "# settings\n\n" + text, line + 2, key, words)


@pytest.mark.parametrize("grace", ["4.9", "0", "-60", "3601", "1e9", "nan", "inf"])
def test_grace_out_of_range(tmp_path: Path, grace: str) -> None:
    assert_mistake(tmp_path, f"[librarian]\nname = 'A'\n[desk]\ngrace_seconds = {grace}\n", 4,
                   "[desk] grace_seconds", "must be a number between 5 and 3600")


@pytest.mark.parametrize("url", ["http://chat.example", "chat.example", "ws://", "wss:// space", "ftp://x"])
def test_a_bad_server_url(tmp_path: Path, url: str) -> None:
    assert_mistake(tmp_path, f'[server]\ntoken = "t"\nurl = "{url}"\n', 3,
                   "[server] url", "must start with ws:// or wss://")


@pytest.mark.parametrize("key", ["Ctrl+E", "ctrl e", "", "ctrl+e,", "é", "ctrl+[", "f5;f6"])
def test_a_bad_key_string(tmp_path: Path, key: str) -> None:
    assert_mistake(tmp_path, f'[keys]\nhelp = "f1"\nend-chat = "{key}"\n', 3,
                   "[keys] end-chat", 'must be keys like "ctrl+e"')


def test_a_key_that_is_not_text(tmp_path: Path) -> None:
    assert_mistake(tmp_path, '[keys]\n\n"end-chat" = 5\n', 3, "[keys] end-chat", "got 5")


def test_an_unknown_binding_id_lists_the_known_ones(tmp_path: Path) -> None:
    message = assert_mistake(tmp_path, '[keys]\nend-chat = "ctrl+x"\nend_chat = "ctrl+e"\n', 3,
                             "[keys] end_chat", "is not a setting")
    assert all(binding in message for binding in BINDING_IDS)


@pytest.mark.parametrize(("text", "line"), [
    ('[librarian]\nname = "A"\n\n[server\nurl = "ws://x"\n', 4),
    ('[librarian]\nname = "A" "B"\n', 2),
    ('[desk]\ngrace_seconds = 30\n[desk]\n', 3),
    ('[librarian]\nname = "A"\nname = "B"\n', 3),
    ('[server]\nurl = "ws://x\n', 2),
    ("[keys]\nhelp = \n", 2),
])
def test_a_toml_syntax_error_is_located(tmp_path: Path, text: str, line: int) -> None:
    assert_mistake(tmp_path, text, line, "not valid TOML")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[librarian]\nname = "\xff"\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}, line 1: cannot read the file"):
        load_settings(path, env={})


def test_windows_line_endings_and_a_byte_order_mark_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'\xef\xbb\xbf[librarian]\r\nname = "Notepad"\r\n\r\n[desk]\r\ngrace_seconds = 1\r\n')
    with pytest.raises(ConfigError, match=r", line 5: \[desk\] grace_seconds"):
        load_settings(path, env={})
    path.write_bytes(b'\xef\xbb\xbf[librarian]\r\nname = "Notepad"\r\n')
    assert load_settings(path, env={}).librarian.name == "Notepad"


def test_a_bare_carriage_return_is_not_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[librarian]\rname = "x"\n')
    with pytest.raises(ConfigError, match=r", line 1: not valid TOML"):
        load_settings(path, env={})


def test_a_config_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r", line 1: cannot read the file"):
        load_settings(tmp_path, env={})


def test_absurdly_nested_toml_is_a_config_error(tmp_path: Path) -> None:
    assert_mistake(tmp_path, "x = " + "[" * 5000, 1, "not valid TOML")


# -- dataset mistakes ----------------------------------------------------------------------------------

FIELD_A = '[[analytics.datasets.Desk.fields]]\nname = "a"\nkind = "text"\n\n'
SECTION = "[analytics.datasets.Desk.fields]"


def second_field(body: str) -> str:
    """A dataset whose second field (starting on line 5) has `body`."""
    return FIELD_A + "[[analytics.datasets.Desk.fields]]\n" + body


@pytest.mark.parametrize(("body", "line", "key", "words"), [
    ('name = "b"\nkind = "blob"\n', 7, "kind", "must be one of choice, multi, text, number, scale, got 'b"),
    ('name = "b"\n', 5, "kind", "got None"),
    ('name = "b"\nkind = "choice"\n', 5, "options", "are required for the choice field 'b'"),
    ('name = "b"\nkind = "choice"\noptions = []\n', 8, "options", "are required"),
    ('name = "b"\nkind = "choice"\noptions = ["x", 3]\n', 8, "options", "must be a list of words"),
    ('name = "b"\nkind = "multi"\noptions = "x"\n', 8, "options", "must be a list of words"),
    ('name = "a"\nkind = "text"\n', 6, "name", "'a' is defined twice"),
    ('name = "Bad Name"\nkind = "text"\n', 6, "name", "must be a lowercase identifier, got 'Bad Name'"),
    ('name = "1st"\nkind = "text"\n', 6, "name", "lowercase identifier"),
    (f'name = "{"n" * 41}"\nkind = "text"\n', 6, "name", "lowercase identifier"),
    ('kind = "text"\n', 5, "name", "got None"),
    ('name = 7\nkind = "text"\n', 6, "name", "got 7"),
    ('name = "b"\nkind = "text"\ncolour = "red"\n', 8, "colour", "is not a field setting (known: "),
    ('name = "b"\nkind = "number"\nmin = 1.5\n', 8, "min", "must be a whole number, got 1.5"),
    ('name = "b"\nkind = "number"\nmax = true\n', 8, "max", "must be a whole number, got True"),
    ('name = "b"\nkind = "scale"\nmin = 5\nmax = 2\n', 8, "min", "5 is above max 2"),
    ('name = "b"\nkind = "scale"\nmin = 7\n', 8, "min", "7 is above max 6"),
    ('name = "b"\nkind = "text"\nrequired = "yes"\n', 8, "required", "must be true or false"),
    ('name = "b"\nkind = "text"\nlabel = 3\n', 8, "label", "must be text, got 3"),
    ('name = "b"\nkind = "text"\nlabel = ""\n', 8, "label", "must be text"),
    ('name = "b"\nkind = "text"\nmax_length = 0\n', 8, "max_length", "from 1 to 100000, got 0"),
    ('name = "b"\nkind = "text"\nmax_length = "long"\n', 8, "max_length", "got 'long'"),
])
def test_a_field_mistake_points_at_the_field_and_key(
        tmp_path: Path, body: str, line: int, key: str, words: str) -> None:
    assert_mistake(tmp_path, second_field(body), line, f"{SECTION} {key}", words)


def test_a_dataset_without_fields(tmp_path: Path) -> None:
    assert_mistake(tmp_path, "[librarian]\nname = 'A'\n[analytics.datasets.Desk]\n", 3,
                   "[analytics.datasets.Desk]", "must list at least one field")
    assert_mistake(tmp_path, "[analytics.datasets.Desk]\nfields = []\n", 2,
                   "[analytics.datasets.Desk] fields", "must list at least one field")


def test_a_dataset_with_other_settings(tmp_path: Path) -> None:
    assert_mistake(tmp_path, FIELD_A + "[analytics.datasets.Desk]\ncolour = 'red'\n", 6,
                   "[analytics.datasets.Desk] colour", "is not a dataset setting")


def test_a_dataset_that_is_not_a_table(tmp_path: Path) -> None:
    assert_mistake(tmp_path, "[analytics.datasets]\n\nDesk = 3\n", 3,
                   "[analytics.datasets.Desk]", "must be a table")


def test_fields_that_are_not_tables(tmp_path: Path) -> None:
    assert_mistake(tmp_path, "[analytics.datasets.Desk]\nfields = ['a']\n", 2,
                   "[analytics.datasets.Desk.fields]", "each field must be a table")


@pytest.mark.parametrize("name", ['""', '"   "', f'"{"D" * 61}"', '"tab\\there"'])
def test_a_bad_dataset_name(tmp_path: Path, name: str) -> None:
    text = f"# datasets\n[[analytics.datasets.{name}.fields]]\nname = 'a'\nkind = 'text'\n"
    assert_mistake(tmp_path, text, 2, "[analytics.datasets.", "needs a name of 1 to 60 printable characters")


def test_a_dataset_name_may_be_quoted_with_spaces(tmp_path: Path) -> None:
    settings = load(tmp_path, '[[analytics.datasets."Desk stats".fields]]\nname = "a"\nkind = "text"\n')
    assert "Desk stats" in settings.datasets
    message = mistake(tmp_path, '[[analytics.datasets."Desk stats".fields]]\nname = "a"\nkind = "blob"\n')
    assert ", line 3: [analytics.datasets.Desk stats.fields] kind" in message


def test_inline_fields_point_at_their_line(tmp_path: Path) -> None:
    assert_mistake(tmp_path, '[analytics]\n\ndatasets.Desk.fields = [{ name = "a", kind = "blob" }]\n', 3,
                   f"{SECTION} kind", "got 'blob'")


def test_every_example_in_the_settings_guide_loads(tmp_path: Path) -> None:
    guide = (Path(__file__).parent.parent / "docs" / "guide-settings.md").read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", guide, re.S)
    assert len(examples) >= 3
    for example in examples:
        settings = load(tmp_path, example)
        assert settings.keys or settings.datasets.keys() > {"Chat"}
    assert "Instruction" in settings.datasets
    for binding, keys in DEFAULT_KEYS.items():
        assert f"| `{binding}` | `{keys}` |" in guide
