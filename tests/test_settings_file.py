"""The settings file: optional, fully defaulted, and every mistake named by file, line and key.

A librarian who mistypes `config.toml` must be told exactly where to look; the app must
never start half-configured. The environment is always passed in explicitly so that the
tests never read the real user config dir.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from libchat_tui import config
from libchat_tui.analytics import CHAT_DATASET, DEFAULT_DATASETS, Dataset, Field
from libchat_tui.config import (
    ConfigError,
    Settings,
    config_path,
    load_settings,
)
from libchat_tui.libanswers import settings as libanswers_settings
from libchat_tui.libanswers.settings import DatasetLink, LibAnswersConfig, Secret
from libchat_tui.web import settings as widget_settings
from libchat_tui.web.settings import DEFAULT_STRINGS, WidgetSettings

#: The LibAnswers client secret, given only through the `env` mapping, never in a file.
SECRET = "s3cret-from-the-environment"
SECRET_ENV = {"LIBANSWERS_CLIENT_SECRET": SECRET}
KNOWN_SECTIONS = ("(known: analytics, appearance, canned, desk, keys, libanswers, librarian, limits, server, "
                  "widget)")

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
site = "https://library.libanswers.com/api/1.1/"
client_id = "1286APP-001"
queue_id = 5477
owner_email = "ref-desk@library.edu"
timeout_seconds = 20
connect_timeout_seconds = 2.5

[libanswers.owners]
"Ada Lovelace" = "ada@library.edu"

[libanswers.datasets.Chat]
dataset_id = 2047
fixed = { "Contact Method" = "Chat" }
skip = ["topics"]
answer_field = "answer_summary"

[libanswers.datasets.Chat.fields]
patron_type = "Patron Status"
read_scale = 813

[libanswers.datasets.Chat.options.question_type]
Reference = "Research"
other = 3309

[widget]
library_name = "Riverside Library"
primary_colour = "#1D4F91"
text_colour = "#fff"
greeting = "  Hello from Riverside!  "
offline_message = "Nobody is here; leave your question."
require_email = true
allowed_origins = ["https://www.Riverside.example:443/", "http://localhost:8000", "https://www.riverside.example"]

[widget.strings]
start = "Empezar el chat"
queue_position = "Usted es el número {position} en la fila."

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


def load_full(tmp_path: Path, **env: str) -> Settings:
    """FULL, with the LibAnswers secret given in `env` as it must be."""
    return load(tmp_path, FULL, **{**SECRET_ENV, **env})


def line_in(text: str, wanted: str) -> int:
    """The number of the line of `text` that is exactly `wanted`."""
    return text.split("\n").index(wanted) + 1


def mistake(tmp_path: Path, text: str, env: Mapping[str, str] = SECRET_ENV) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    message = str(caught.value)
    assert message.startswith(f"{path}, line "), message
    return message


def assert_mistake(tmp_path: Path, text: str, line: int, *words: str,
                   env: Mapping[str, str] = SECRET_ENV) -> str:
    message = mistake(tmp_path, text, env)
    assert f", line {line}: " in message, message
    for word in words:
        assert word in message, message
    return message


# -- no file, defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", (True, True, True, True)),
    ("bell = false\n", (False, False, False, True)),
    ("bell = false\nbell_ticket = true\nanimations = false\n", (False, True, False, False)),
    ("bell_drop = false\n", (True, True, False, True)),
])
def test_each_bell_follows_bell_unless_set(tmp_path: Path, text: str, expected: tuple[bool, ...]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[appearance]\n" + text, encoding="utf-8")
    look = load_settings(path).appearance
    assert (look.bell_new_chat, look.bell_ticket, look.bell_drop, look.animations) == expected


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
    assert settings.libanswers is None  # tickets and Reference Analytics stay in the desk's store
    assert settings.widget == WidgetSettings()


def test_the_widget_defaults_are_the_documented_ones() -> None:
    widget = WidgetSettings()
    assert (widget.library_name, widget.primary_colour, widget.text_colour) == \
        ("the library", "#1d4f91", "#ffffff")
    assert widget.require_email is False
    assert widget.allowed_origins == ()
    assert widget.strings == DEFAULT_STRINGS


def test_an_empty_file_is_the_same_as_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ada")
    empty = load(tmp_path, "# nothing here\n\n")
    missing = load_settings(env={"LIBCHAT_CONFIG": str(tmp_path / "missing.toml")})
    assert empty.librarian == missing.librarian
    assert (empty.server, empty.appearance, empty.desk, empty.keys, empty.datasets) == \
        (missing.server, missing.appearance, missing.desk, missing.keys, missing.datasets)
    assert empty.libanswers is None and missing.libanswers is None
    assert empty.widget == missing.widget == WidgetSettings()


def test_the_default_name_survives_an_environment_without_a_user(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("no user")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert load(tmp_path, "").librarian.name == "Librarian"


@pytest.mark.parametrize("account", ["root", "Administrator", "nobody", "_www", "daemon"])
def test_no_name_is_made_from_root_or_another_system_account(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account: str) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: account)
    librarian = load(tmp_path, "").librarian
    assert (librarian.name, librarian.placeholder) == ("Librarian", True)
    notice = config.name_notice(load(tmp_path, ""), "Librarian", tmp_path / "console")
    assert notice is not None and "--name" in notice and "[librarian]" in notice
    assert str(tmp_path / "config.toml") in notice
    # Said once: the next start is quiet; a name given any way is never second-guessed.
    assert config.name_notice(load(tmp_path, ""), "Librarian", tmp_path / "console") is None
    assert config.name_notice(load(tmp_path, ""), "Ada", tmp_path / "other") is None
    named = load(tmp_path, '[librarian]\nname = "Librarian"\n')
    assert named.librarian.placeholder is False
    assert config.name_notice(named, "Librarian", tmp_path / "other") is None


def test_a_person_s_account_still_gives_their_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "grace_hopper")
    librarian = load(tmp_path, "").librarian
    assert (librarian.name, librarian.placeholder) == ("Grace Hopper", False)
    assert config.name_notice(load(tmp_path, ""), "Grace Hopper", tmp_path / "console") is None


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


# -- every section and key -----------------------------------------------------------------------------


def test_every_section_and_key_is_read(tmp_path: Path) -> None:
    settings = load_full(tmp_path)
    assert settings.librarian.name == "Ada Lovelace"
    assert settings.server.url == "wss://chat.library.example/desk"
    assert settings.server.token == "from-the-file"
    assert settings.appearance.theme == "nord"
    assert settings.appearance.bell is False
    assert settings.desk.grace_seconds == 90.0
    assert isinstance(settings.desk.grace_seconds, float)
    assert settings.keys == {"end-chat": "ctrl+x", "close-chat": "f5, ctrl+k", "quit": "ctrl+q"}
    assert settings.libanswers == LibAnswersConfig(
        site="https://library.libanswers.com",  # the trailing /api/1.1/ is dropped
        client_id="1286APP-001",
        client_secret=Secret(SECRET),
        secret_source="$LIBANSWERS_CLIENT_SECRET",
        queue_id=5477,
        owner_email="ref-desk@library.edu",
        owners={"Ada Lovelace": "ada@library.edu"},
        datasets={"Chat": DatasetLink(
            dataset_id=2047,
            fields={"patron_type": "Patron Status", "read_scale": 813},
            options={"question_type": {"reference": "Research", "other": 3309}},
            fixed={"Contact Method": "Chat"},
            skip=("topics",),
            answer_field="answer_summary",
        )},
        timeout_seconds=20.0,
        connect_timeout_seconds=2.5,
    )
    assert settings.libanswers.api_base == "https://library.libanswers.com/api/1.1"
    assert settings.libanswers.pushes_tickets and settings.libanswers.pushes("Chat")
    assert not settings.libanswers.pushes("Instruction")
    assert settings.widget == WidgetSettings(
        library_name="Riverside Library",
        primary_colour="#1d4f91",
        text_colour="#fff",
        greeting="Hello from Riverside!",
        offline_message="Nobody is here; leave your question.",
        require_email=True,
        allowed_origins=("https://www.riverside.example", "http://localhost:8000"),
        strings={**DEFAULT_STRINGS, "start": "Empezar el chat",
                 "queue_position": "Usted es el número {position} en la fila."},
    )
    assert settings.datasets["Chat"] == CHAT_DATASET
    assert settings.datasets["Instruction"] == Dataset("Instruction", (
        Field("format", "Session format", "choice", required=True, options=("in person", "online")),
        Field("effort", "effort", "scale", min=1, max=6),
        Field("attendees", "attendees", "number", min=1, max=500),
        Field("notes", "notes", "text", max_length=300),
        Field("subjects", "subjects", "multi"),
    ))


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_full(tmp_path)
    with pytest.raises(AttributeError):
        settings.desk.grace_seconds = 5  # type: ignore[misc]
    assert settings.libanswers is not None
    with pytest.raises(AttributeError):
        settings.libanswers.queue_id = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.widget.require_email = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.widget.strings["start"] = "Go"  # type: ignore[index]


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
    for dataset in load_full(tmp_path).datasets.values():
        assert Dataset.from_wire(dataset.to_wire()) == dataset


LIBANSWERS = '[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = "12"\n'  # lines 1-3


@pytest.mark.parametrize(("site", "read"), [
    ("https://x.libanswers.com", "https://x.libanswers.com"),
    ("  https://x.libanswers.com/  ", "https://x.libanswers.com"),
    ("https://x.libanswers.com/api/1.1", "https://x.libanswers.com"),
    ("https://x.libanswers.com:8443", "https://x.libanswers.com:8443"),
    ("http://localhost:9000", "http://localhost:9000"),
    ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
    ("http://[::1]:9000", "http://[::1]:9000"),
])
def test_a_libanswers_site_is_https_or_local(tmp_path: Path, site: str, read: str) -> None:
    settings = load(tmp_path, f'[libanswers]\nsite = "{site}"\nclient_id = "12"\n', **SECRET_ENV)
    assert settings.libanswers is not None
    assert settings.libanswers.site == read
    assert settings.libanswers.api_base == read + "/api/1.1"


@pytest.mark.parametrize("site", [
    "http://library.libanswers.com", "library.libanswers.com", "https://", "ftp://x.libanswers.com",
    "https://x.libanswers.com?a=1", "https://x.libanswers.com/#top", "http://localhost.example.com",
    "http://10.0.0.1",
])
def test_a_bad_libanswers_site(tmp_path: Path, site: str) -> None:
    assert_mistake(tmp_path, f'[libanswers]\nclient_id = "12"\nsite = "{site}"\n', 3,
                   "[libanswers] site", "must be an https:// address like")


def test_a_minimal_libanswers_section_pushes_nothing_yet(tmp_path: Path) -> None:
    cfg = load(tmp_path, LIBANSWERS, **SECRET_ENV).libanswers
    assert cfg == LibAnswersConfig("https://x.libanswers.com", "12", Secret(SECRET),
                                   "$LIBANSWERS_CLIENT_SECRET")
    assert (cfg.queue_id, cfg.owner_email, cfg.owners, cfg.datasets) == (None, None, {}, {})
    assert (cfg.timeout_seconds, cfg.connect_timeout_seconds) == (15.0, 5.0)
    assert not cfg.pushes_tickets and not cfg.pushes("Chat")


def test_libanswers_ids_may_be_written_as_text(tmp_path: Path) -> None:
    text = LIBANSWERS + 'queue_id = " 5477 "\n[libanswers.datasets.Chat]\ndataset_id = "2047"\n'
    cfg = load(tmp_path, text, **SECRET_ENV).libanswers
    assert cfg is not None and cfg.queue_id == 5477 and cfg.datasets["Chat"].dataset_id == 2047
    assert cfg.datasets["Chat"] == DatasetLink(2047)


def test_an_empty_answer_field_sends_no_answer(tmp_path: Path) -> None:
    text = LIBANSWERS + '[libanswers.datasets.Chat]\ndataset_id = 1\nanswer_field = ""\n'
    cfg = load(tmp_path, text, **SECRET_ENV).libanswers
    assert cfg is not None and cfg.datasets["Chat"].answer_field is None


def test_the_libanswers_section_may_be_written_with_dotted_keys(tmp_path: Path) -> None:
    text = ('libanswers.site = "https://x.libanswers.com"\nlibanswers.client_id = "12"\n'
            'libanswers.owners.Sam = "sam@library.edu"\nwidget.require_email = true\n')
    settings = load(tmp_path, text, **SECRET_ENV)
    assert settings.libanswers is not None and settings.libanswers.owners == {"Sam": "sam@library.edu"}
    assert settings.widget == WidgetSettings(require_email=True)


def test_widget_origins_are_normalised_and_deduplicated(tmp_path: Path) -> None:
    settings = load(tmp_path, '[widget]\nallowed_origins = ["https://a.example/", "https://A.example:443", '
                              '"http://b.example:80", "http://[::1]:8000", "*", "*"]\n')
    assert settings.widget.allowed_origins == ("https://a.example", "http://b.example", "http://[::1]:8000",
                                               "*")


def test_widget_colours_are_lower_cased_and_strings_keep_the_rest_in_english(tmp_path: Path) -> None:
    settings = load(tmp_path, '[widget]\nprimary_colour = "#FFF"\ntext_colour = "#000000"\n'
                              '[widget.strings]\nstart = "Go"\n')
    assert (settings.widget.primary_colour, settings.widget.text_colour) == ("#fff", "#000000")
    assert settings.widget.strings == {**DEFAULT_STRINGS, "start": "Go"}
    assert settings.widget.to_json()["strings"]["send"] == "Send"


# -- environment ---------------------------------------------------------------------------------------


def test_libchat_token_overrides_the_file(tmp_path: Path) -> None:
    assert load_full(tmp_path, LIBCHAT_TOKEN="from-env").server.token == "from-env"
    assert load_full(tmp_path, LIBCHAT_TOKEN="").server.token == "from-the-file"
    assert load(tmp_path, "", LIBCHAT_TOKEN="only-env").server.token == "only-env"


def test_the_libanswers_secret_comes_only_from_the_environment(tmp_path: Path) -> None:
    cfg = load_full(tmp_path).libanswers
    assert cfg is not None
    assert cfg.client_secret.reveal() == SECRET
    assert cfg.secret_source == "$LIBANSWERS_CLIENT_SECRET"
    assert SECRET not in repr(load_full(tmp_path)) and SECRET not in str(cfg.client_secret)
    header = line_in(FULL, "[libanswers]")
    for blank in ("", "  "):
        message = mistake(tmp_path, FULL, {"LIBANSWERS_CLIENT_SECRET": blank})
        assert f", line {header}: [libanswers] needs the API client secret: set $LIBANSWERS_CLIENT_SECRET, " \
               "or name an owner-only file in client_secret_file" in message, message


def test_a_secret_in_the_settings_file_is_refused_and_never_repeated(tmp_path: Path) -> None:
    message = assert_mistake(tmp_path, LIBANSWERS + 'client_secret = "oops-in-the-file"\n', 4,
                             "[libanswers] client_secret", "must not be in the settings file",
                             "$LIBANSWERS_CLIENT_SECRET", "client_secret_file")
    assert "oops-in-the-file" not in message
    # even with no secret anywhere else, a secret in the file is not taken
    message = assert_mistake(tmp_path, LIBANSWERS + 'client_secret = "oops-in-the-file"\n', 4,
                             "must not be in the settings file", env={})
    assert "oops-in-the-file" not in message


def test_the_secret_variable_may_be_renamed(tmp_path: Path) -> None:
    text = LIBANSWERS + 'client_secret_env = "RIVERSIDE_LA_SECRET"\n'
    cfg = load(tmp_path, text, RIVERSIDE_LA_SECRET=" renamed ", LIBANSWERS_CLIENT_SECRET="default").libanswers
    assert cfg is not None
    assert (cfg.client_secret.reveal(), cfg.secret_source) == ("renamed", "$RIVERSIDE_LA_SECRET")
    assert_mistake(tmp_path, text, 1, "[libanswers] needs the API client secret: set $RIVERSIDE_LA_SECRET")


def test_the_secret_may_come_from_an_owner_only_file_next_to_the_settings(tmp_path: Path) -> None:
    secret_file = tmp_path / "libanswers-secret"
    secret_file.write_text("from-the-secret-file\n", encoding="utf-8")
    secret_file.chmod(0o600)
    text = LIBANSWERS + 'client_secret_file = "libanswers-secret"\n'  # relative to config.toml's folder
    cfg = load(tmp_path, text, LIBANSWERS_CLIENT_SECRET="the-file-wins").libanswers
    assert cfg is not None
    assert (cfg.client_secret.reveal(), cfg.secret_source) == ("from-the-secret-file", str(secret_file))
    secret_file.chmod(0o640)
    message = assert_mistake(tmp_path, text, 4, "[libanswers] client_secret_file",
                             "can be read by others (mode 0640)", f"chmod 600 {secret_file}")
    assert "from-the-secret-file" not in message
    secret_file.unlink()
    assert_mistake(tmp_path, text, 4, "[libanswers] client_secret_file", "cannot be read")


def test_the_process_environment_is_not_consulted_when_env_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBCHAT_TOKEN", "leaked")
    monkeypatch.setenv("LIBANSWERS_CLIENT_SECRET", "leaked")
    monkeypatch.setenv("RIVERSIDE_LA_SECRET", "leaked")
    settings = load_full(tmp_path)
    assert settings.server.token == "from-the-file"
    assert settings.libanswers is not None and settings.libanswers.client_secret.reveal() == SECRET
    # the secret is in the process environment but not in `env`: it is missing
    assert "needs the API client secret" in mistake(tmp_path, FULL, {})
    assert "set $RIVERSIDE_LA_SECRET" in mistake(
        tmp_path, LIBANSWERS + 'client_secret_env = "RIVERSIDE_LA_SECRET"\n', {})


# -- mistakes: file, line and key ----------------------------------------------------------------------


def test_an_unknown_section_is_named_with_its_line(tmp_path: Path) -> None:
    message = assert_mistake(tmp_path, '[librarian]\nname = "A"\n\n[sever]\nurl = "ws://x"\n', 4,
                             "[sever]", "is not a section", "server")
    assert message.endswith(f"[sever] is not a section {KNOWN_SECTIONS}"), message


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
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = "1"\nsecret = "s"\n', 4,
     "[libanswers] secret"),
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = "1"\n[libanswers.queue]\nid = 5\n', 4,
     "[libanswers] queue"),
    ('[widget]\nlibrary_name = "R"\ncolour = "#000"\n', 3, "[widget] colour"),
    ('[widget]\n\n[widget.colours]\nprimary = "#000"\n', 3, "[widget] colours"),
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
    ('[appearance]\nbell = true\n\nbell_drop = "no"\n', 4, "[appearance] bell_drop",
     "must be true or false, got 'no'"),
    ('[appearance]\nbell_ticket = 0\n', 2, "[appearance] bell_ticket", "must be true or false, got 0"),
    ('[appearance]\ntheme = "nord"\nbell_new_chat = "on"\n', 3, "[appearance] bell_new_chat",
     "must be true or false"),
    ('[appearance]\nanimations = "none"\n', 2, "[appearance] animations",
     "must be true or false, got 'none'"),
    ('[desk]\ngrace_seconds = "60"\n', 2, "[desk] grace_seconds", "between 5 and 3600, got '60'"),
    ('[desk]\ngrace_seconds = true\n', 2, "[desk] grace_seconds", "got True"),
    ('[libanswers]\nsite = 1\n', 2, "[libanswers] site", "must be text of 1 to 500 characters, got 1"),
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = ""\n', 3, "[libanswers] client_id",
     "must be text of 1 to 200 characters, got ''"),
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = 1286\n', 3, "[libanswers] client_id",
     "must be text of 1 to 200 characters, got 1286"),
    ('[widget]\nlibrary_name = 5\n', 2, "[widget] library_name",
     "must be text of 1 to 100 characters, got 5"),
    (f'[widget]\nlibrary_name = "{"L" * 101}"\n', 2, "[widget] library_name", "1 to 100 characters"),
    ('[widget]\ngreeting = " "\n', 2, "[widget] greeting", "must be text of 1 to 1000 characters, got ' '"),
    ('[widget]\noffline_message = ["x"]\n', 2, "[widget] offline_message", "must be text"),
    ('[widget]\nprimary_colour = "blue"\n', 2, "[widget] primary_colour",
     'must be a hex colour like "#1d4f91", got \'blue\''),
    ('[widget]\nprimary_colour = "#12345"\n', 2, "[widget] primary_colour", "got '#12345'"),
    ('[widget]\ntext_colour = 16777215\n', 2, "[widget] text_colour", "must be a hex colour"),
    ('[widget]\nrequire_email = "yes"\n', 2, "[widget] require_email", "must be true or false, got 'yes'"),
    ('[widget]\nrequire_email = 1\n', 2, "[widget] require_email", "must be true or false, got 1"),
    ('[widget]\nallowed_origins = "https://a.example"\n', 2, "[widget] allowed_origins",
     'must be a list like ["https://www.example.edu"]'),
    ('[widget]\nallowed_origins = ["https://a.example/chat"]\n', 2, "[widget] allowed_origins",
     "no path) or \"*\", got 'https://a.example/chat'"),
    ('[widget]\nallowed_origins = ["a.example"]\n', 2, "[widget] allowed_origins", "got 'a.example'"),
    ('[widget]\nallowed_origins = [443]\n', 2, "[widget] allowed_origins", "got 443"),
    ('[widget]\nstrings = "es"\n', 2, "[widget] strings", "must be a section: [widget.strings]"),
    ('[widget.strings]\nstart = 5\n', 2, "[widget.strings] start", "must be text of 1 to 1000 characters"),
    ('[widget.strings]\nsend = ""\n', 2, "[widget.strings] send", "got ''"),
    ('[widget.strings]\nbegin = "Go"\n', 2, "[widget.strings] begin", "is not a widget string"),
    ('[widget.strings]\nqueue_position = "No. {place}"\n', 2, "[widget.strings] queue_position",
     "uses the unknown placeholder {place} (known: {position})"),
    ('[widget.strings]\nstart = "Go, {name}"\n', 2, "[widget.strings] start",
     "uses the unknown placeholder {name} (known: none)"),
])
def test_a_wrong_type_is_named_with_its_line(
        tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    assert_mistake(tmp_path, "# settings\n\n" + text, line + 2, key, words)


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    ('queue_id = "ask"\n', 4, "[libanswers] queue_id",
     "must be a positive whole number (an id from LibAnswers), got 'ask'"),
    ("queue_id = 0\n", 4, "[libanswers] queue_id", "got 0"),
    ("queue_id = -5477\n", 4, "[libanswers] queue_id", "got -5477"),
    ("queue_id = 5477.0\n", 4, "[libanswers] queue_id", "got 5477.0"),
    ("queue_id = true\n", 4, "[libanswers] queue_id", "got True"),
    ('owner_email = "ref desk"\n', 4, "[libanswers] owner_email", "must be an email address, got 'ref desk'"),
    ("owner_email = 5\n", 4, "[libanswers] owner_email", "must be an email address, got 5"),
    ("timeout_seconds = 0\n", 4, "[libanswers] timeout_seconds",
     "must be a number of seconds from 0.05 to 300, got 0"),
    ("timeout_seconds = 301\n", 4, "[libanswers] timeout_seconds", "got 301"),
    ("timeout_seconds = nan\n", 4, "[libanswers] timeout_seconds", "got nan"),
    ('connect_timeout_seconds = "5"\n', 4, "[libanswers] connect_timeout_seconds", "got '5'"),
    ("connect_timeout_seconds = true\n", 4, "[libanswers] connect_timeout_seconds", "got True"),
    ('client_secret_env = "MY-SECRET"\n', 4, "[libanswers] client_secret_env",
     "must be an environment variable name, got 'MY-SECRET'"),
    ("client_secret_env = 7\n", 4, "[libanswers] client_secret_env", "must be text"),
    ("client_secret_file = 7\n", 4, "[libanswers] client_secret_file", "must be text"),
    ('client_secret_file = "/"\n', 4, "[libanswers] client_secret_file", "must be a regular file: /"),
    ('owners = "ada@library.edu"\n', 4, "[libanswers] owners", 'must be a table of librarian = "email"'),
    ('[libanswers.owners]\n"Ada Lovelace" = "ada"\n', 5, "[libanswers.owners] Ada Lovelace",
     "must be an email address, got 'ada'"),
    ("datasets = 1\n", 4, "[libanswers] datasets", "must be a table: [libanswers.datasets.NAME]"),
    ("[libanswers.datasets]\n\nChat = 2047\n", 6, "[libanswers.datasets.Chat]",
     "must be a table with dataset_id"),
    ('[libanswers.datasets.Chat]\nskip = []\n', 4, "[libanswers.datasets.Chat] dataset_id", "is required"),
    ('[libanswers.datasets.Chat]\ndataset_id = "two"\n', 5, "[libanswers.datasets.Chat] dataset_id",
     "must be a positive whole number (an id from LibAnswers), got 'two'"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\ncolour = "red"\n', 6, "[libanswers.datasets.Chat] colour",
     "is not a setting (known: answer_field, dataset_id, fields, fixed, options, skip)"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\nskip = "topics"\n', 6, "[libanswers.datasets.Chat] skip",
     "must be a list of local field names"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\nskip = ["topics", 2]\n', 6,
     "[libanswers.datasets.Chat] skip", "must be a list of local field names"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\nanswer_field = false\n', 6,
     "[libanswers.datasets.Chat] answer_field", "must be a local field name, got False"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\nfields = ["a"]\n', 6, "[libanswers.datasets.Chat] fields",
     "must be a table"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\nfixed = "Chat"\n', 6, "[libanswers.datasets.Chat] fixed",
     "must be a table"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\n[libanswers.datasets.Chat.fields]\npatron_type = true\n',
     7, "[libanswers.datasets.Chat.fields] patron_type",
     "must be a LibAnswers label (text) or id (a number), got True"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\n[libanswers.datasets.Chat.fields]\nread_scale = 0\n',
     7, "[libanswers.datasets.Chat.fields] read_scale", "got 0"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\n[libanswers.datasets.Chat.fixed]\n"Contact" = ""\n',
     7, "[libanswers.datasets.Chat.fixed] Contact", "got ''"),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\n[libanswers.datasets.Chat.options]\nquestion_type = "x"\n',
     7, "[libanswers.datasets.Chat.options] question_type", 'must be a table of local option = "label"'),
    ('[libanswers.datasets.Chat]\ndataset_id = 1\n[libanswers.datasets.Chat.options.question_type]\n'
     'reference = 2.5\n', 7, "[libanswers.datasets.Chat.options.question_type] reference", "got 2.5"),
])
def test_a_wrong_libanswers_value_is_named_with_its_line(
        tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    assert_mistake(tmp_path, LIBANSWERS + text, line, key, words)


def test_a_libanswers_section_needs_a_site_and_a_client_id(tmp_path: Path) -> None:
    assert_mistake(tmp_path, "# LibAnswers\n[libanswers]\n", 2,
                   "[libanswers] site", 'is required, e.g. "https://library.libanswers.com"')
    assert_mistake(tmp_path, '# LibAnswers\n[libanswers]\nsite = "https://x.libanswers.com"\n', 2,
                   "[libanswers] client_id", "is required (LibAnswers admin: API > Authentication)")
    assert_mistake(tmp_path, "# settings\nlibanswers = 5\n", 2, "libanswers must be a section")


def test_widget_colours_need_aa_contrast(tmp_path: Path) -> None:
    assert_mistake(tmp_path, '[widget]\nprimary_colour = "#ffffff"\ntext_colour = "#eeeeee"\n', 3,
                   "[widget] text_colour",
                   "#eeeeee on #ffffff has a contrast of 1.2:1; WCAG AA needs at least 4.5:1")
    # Only the primary colour is set: the mistake points at the section, where text_colour belongs.
    assert_mistake(tmp_path, '# widget\n[widget]\nprimary_colour = "#ffff00"\n', 2,
                   "[widget] text_colour", "#ffffff on #ffff00", "WCAG AA needs at least 4.5:1")
    assert load(tmp_path, '[widget]\nprimary_colour = "#767676"\n').widget.primary_colour == "#767676"


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


@pytest.mark.parametrize("binding", ["end_chat", "End-Chat", "a b", "-x", "x" * 41])
def test_a_binding_id_that_cannot_be_one_is_refused_here(tmp_path: Path, binding: str) -> None:
    # Whether a well-formed id is a real binding is checked by the console against its keys
    # (tests/test_keys_config.py): this module never loads textual.
    assert_mistake(tmp_path, f'[keys]\nend-chat = "ctrl+x"\n"{binding}" = "ctrl+e"\n', 3,
                   f"[keys] {binding}", "is not a binding id")


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


GUIDE = Path(__file__).parent.parent / "docs" / "guide-settings.md"


def test_every_example_in_the_settings_guide_loads(tmp_path: Path) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", guide, re.S)
    assert len(examples) >= 5
    untouched = load(tmp_path, "")
    for example in examples:
        # The secret is never in a settings file: examples get it the way a desk does.
        settings = load(tmp_path, example, **SECRET_ENV)
        assert settings != untouched, example  # every example changes something
    # The last example is the complete file: every section in it is read.
    assert "Instruction" in settings.datasets
    assert settings.keys and settings.server.url and settings.librarian.name
    assert settings.libanswers is not None and settings.libanswers.client_secret.reveal() == SECRET
    assert settings.widget != WidgetSettings()
    assert f"[sever] is not a section {KNOWN_SECTIONS}" in guide


def guide_row(guide: str, section: str, key: str) -> str:
    rows = [row for row in guide.split("\n") if row.startswith(f"| `{section}` | `{key}` |")]
    assert len(rows) == 1, (section, key, rows)
    return rows[0]


def test_the_settings_guide_lists_every_libanswers_and_widget_setting() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for key in sorted(libanswers_settings._KEYS):
        guide_row(guide, "[libanswers]", key)
    for key in sorted(libanswers_settings._DATASET_KEYS):
        guide_row(guide, "[libanswers.datasets.NAME]", key)
    for key in sorted(widget_settings._KEYS):
        guide_row(guide, "[widget]", key)
    # The defaults shown are the parsers' own.
    widget = WidgetSettings()
    for key in ("library_name", "primary_colour", "text_colour", "greeting", "offline_message"):
        assert f'`"{getattr(widget, key)}"`' in guide_row(guide, "[widget]", key), key
    assert "| `false` |" in guide_row(guide, "[widget]", "require_email")
    assert "| `[]` |" in guide_row(guide, "[widget]", "allowed_origins")
    la = LibAnswersConfig("https://x", "1", Secret("s"))
    assert "| `15` |" in guide_row(guide, "[libanswers]", "timeout_seconds") and la.timeout_seconds == 15
    assert "| `5` |" in guide_row(guide, "[libanswers]", "connect_timeout_seconds")
    assert la.connect_timeout_seconds == 5
    assert f'| `"{libanswers_settings.DEFAULT_SECRET_ENV}"` |' in \
        guide_row(guide, "[libanswers]", "client_secret_env")
    assert '| `"answer_summary"` |' in guide_row(guide, "[libanswers.datasets.NAME]", "answer_field")
    assert DatasetLink(1).answer_field == "answer_summary"


# -- values the parsers must refuse, not crash on ------------------------------------------------------
# Each once raised a bare ValueError/RuntimeError (or was accepted) instead of a located ConfigError.

@pytest.mark.parametrize(("text", "line", "key"), [
    pytest.param(LIBANSWERS + 'client_secret_file = "secret\\u0000file"\n', 4,
                 "[libanswers] client_secret_file",
                 id="NUL in client_secret_file"),
    pytest.param(LIBANSWERS + 'client_secret_file = "~no-such-user-zz/secret"\n', 4,
                 "[libanswers] client_secret_file",
                 id="unknown ~user in client_secret_file"),
    pytest.param(LIBANSWERS + 'queue_id = "\u00b2"\n', 4, "[libanswers] queue_id",
                 id="superscript digit as queue_id"),
    pytest.param('[widget]\nprimary_colour = "#000\\n"\n', 2, "[widget] primary_colour",
                 id="#rgb colour with a trailing newline"),
    pytest.param('[widget]\nprimary_colour = "#000000\\n"\n', 2, "[widget] primary_colour",
                 id="#rrggbb colour with a trailing newline"),
])
def test_odd_values_are_located_mistakes_not_crashes(tmp_path: Path, text: str, line: int, key: str) -> None:
    assert_mistake(tmp_path, text, line, key)


# -- [limits] ------------------------------------------------------------------------------------------


def test_limits_default_and_from_the_file(tmp_path: Path) -> None:
    from libchat_tui.limits import Limits

    assert load(tmp_path, "").limits == Limits()
    settings = load(tmp_path, '[limits]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8"]\n'
                              "new_chats_per_address = 40\njoin_timeout = 30\n")
    assert settings.limits == Limits(trusted_proxies=("127.0.0.1", "10.0.0.0/8"), new_chats_per_address=40,
                                     join_timeout=30.0)


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    ("[limits]\nnew_chats_per_address = 0\n", 2, "[limits] new_chats_per_address", "greater than 0"),
    ("[limits]\nnew_chats_per_address = 2.5\n", 2, "[limits] new_chats_per_address", "whole number"),
    ("[limits]\njoin_timeout = true\n", 2, "[limits] join_timeout", "a number"),
    ('[limits]\ntrusted_proxies = ["not an address"]\n', 2, "[limits]", "not an address or CIDR"),
    ('[limits]\nproxy_header = "x-real-ip"\n', 2, "[limits] proxy_header", "x-forwarded-for"),
    ("[limits]\npatrons = 5\n", 2, "[limits] patrons", "is not a setting"),
])
def test_a_wrong_limit_is_named_with_its_line(tmp_path: Path, text: str, line: int, key: str,
                                              words: str) -> None:
    assert_mistake(tmp_path, text, line, key, words)
