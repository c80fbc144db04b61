"""Whatever is in the settings file, loading it gives Settings or a located ConfigError.

Hypothesis writes arbitrary text and arbitrary TOML-shaped documents (plausible sections
and keys, any values, nested tables and arrays of tables) to a file; `load_settings` must
never fail with any other exception, and its error must name the file and a real line.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libchat_tui.analytics import AnalyticsError, Dataset, validate_entry
from libchat_tui.config import ConfigError, Settings, load_settings
from libchat_tui.libanswers.settings import LibAnswersConfig
from libchat_tui.web.settings import DEFAULT_STRINGS, WidgetSettings

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: The LibAnswers secret is only ever given in `env`; with it, a [libanswers] section can load.
ENV = {"LIBANSWERS_CLIENT_SECRET": "s3cret", "OTHER_SECRET": "other"}
SECTIONS = ["librarian", "server", "appearance", "desk", "keys", "analytics", "libanswers", "widget",
            "sever", "Desk"]
#: Binding ids as `[keys]` takes them (the real ones are checked by the console, with textual).
BINDING_IDS = ["end-chat", "close-chat", "next-waiting", "help", "quit", "accept-open", "cursor-down"]
KEYS = sorted({
    "name", "url", "token", "theme", "bell", "grace_seconds", "site", "client_id", "client_secret",
    "client_secret_env", "queue_id", "owner_email", "owners", "timeout_seconds", "connect_timeout_seconds",
    "dataset_id", "fixed", "skip", "answer_field",
    "datasets", "fields", "label", "kind", "required", "options", "min", "max", "max_length",
    "library_name", "primary_colour", "text_colour", "greeting", "offline_message", "require_email",
    "allowed_origins", "strings", "start", "queue_position",
    *BINDING_IDS, "end_chat", "a b", "é", "", "x.y",
})
TEXTS = ["ws://localhost:8765", "wss://x/y", "http://x", "ctrl+e", "f5,ctrl+x", "Ctrl+E", "choice", "multi",
         "text", "number", "scale", "nord", "", " ", "Chat", "a", "[x]", "x = 1", '"', "\\", "\n", "\x00",
         "https://x.libanswers.com", "a@b.edu", "#1d4f91", "#fff", "*", "{position}", "{name}"]

names = st.sampled_from(KEYS) | st.text(max_size=6)
scalars = (
    st.sampled_from(TEXTS) | st.text(max_size=12)
    | st.integers(-10, 5000) | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True) | st.booleans()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)
field_tables = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "topic", "Bad", "1x", ""]) | scalars,
     "kind": st.sampled_from(["choice", "multi", "text", "number", "scale", "blob"]) | scalars},
    optional={"options": st.lists(st.sampled_from(["x", "y", " ", ""]) | scalars, max_size=3) | scalars,
              "label": scalars, "required": scalars, "min": scalars, "max": scalars,
              "max_length": scalars, "colour": scalars},
)
datasets = st.dictionaries(
    st.sampled_from(["Chat", "Instruction", "Desk stats", ""]) | st.text(max_size=6),
    st.fixed_dictionaries({"fields": st.lists(field_tables, max_size=3)}) | values,
    max_size=2,
)
arbitrary_documents = st.dictionaries(
    st.sampled_from(SECTIONS) | names,
    st.dictionaries(names, values, max_size=4)
    | st.fixed_dictionaries({"datasets": datasets})
    | values,
    max_size=5,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a well-typed value, sometimes anything at all."""
    return st.one_of(good, good, good, scalars)


good_fields = st.fixed_dictionaries(
    {"name": mostly(st.sampled_from(["a", "b", "topic", "effort"])),
     "kind": mostly(st.sampled_from(["choice", "multi", "text", "number", "scale"]))},
    optional={"options": mostly(st.lists(st.sampled_from(["x", "y", "In person"]), min_size=1, max_size=3)),
              "label": mostly(st.text(min_size=1, max_size=10)), "required": mostly(st.booleans()),
              "min": mostly(st.integers(0, 3)), "max": mostly(st.integers(3, 10)),
              "max_length": mostly(st.integers(1, 100_000))},
)
la_labels = st.dictionaries(names, mostly(st.sampled_from(["Patron Status", 815])), max_size=2)
la_datasets = mostly(st.fixed_dictionaries({"dataset_id": mostly(st.integers(1, 5000))}, optional={
    "fields": mostly(la_labels),
    "options": mostly(st.dictionaries(names, mostly(la_labels), max_size=2)),
    "fixed": mostly(la_labels),
    "skip": mostly(st.lists(st.sampled_from(["topics", "patron_type"]), max_size=2)),
    "answer_field": mostly(st.sampled_from(["answer_summary", ""])),
}))
plausible_documents = st.fixed_dictionaries({}, optional={
    "librarian": st.fixed_dictionaries({}, optional={"name": mostly(st.text(min_size=1, max_size=20))}),
    "server": st.fixed_dictionaries({}, optional={
        "url": mostly(st.sampled_from(["ws://localhost:8765", "wss://chat.example/desk"])),
        "token": mostly(st.text(min_size=1, max_size=20))}),
    "appearance": st.fixed_dictionaries({}, optional={
        "theme": mostly(st.sampled_from(["nord", "textual-light"])), "bell": mostly(st.booleans())}),
    "desk": st.fixed_dictionaries({}, optional={
        "grace_seconds": mostly(st.integers(5, 3600) | st.floats(5, 3600))}),
    "keys": st.dictionaries(st.sampled_from(sorted(BINDING_IDS)) | names,
                            mostly(st.sampled_from(["ctrl+e", "f5,ctrl+x", "escape", "j"])), max_size=3),
    "libanswers": st.fixed_dictionaries({
        "site": mostly(st.sampled_from(["https://x.libanswers.com", "https://x.libanswers.com/api/1.1",
                                        "http://localhost:9000", "http://x.libanswers.com"])),
        "client_id": mostly(st.just("12")),
    }, optional={
        "client_secret_env": mostly(st.sampled_from(["LIBANSWERS_CLIENT_SECRET", "OTHER_SECRET", "1x"])),
        "queue_id": mostly(st.integers(-1, 10**6) | st.sampled_from(["5477", " 12 "])),
        "owner_email": mostly(st.sampled_from(["desk@library.edu", "desk"])),
        "owners": st.dictionaries(names, mostly(st.just("ada@library.edu")), max_size=2) | values,
        "timeout_seconds": mostly(st.floats(0, 400) | st.integers(0, 400)),
        "connect_timeout_seconds": mostly(st.floats(0, 400) | st.integers(0, 400)),
        "datasets": st.dictionaries(st.sampled_from(["Chat", "Instruction"]) | names, la_datasets,
                                    max_size=2),
        # Paths only: a NUL or an unknown ~user in the path crashes the parser today (reported; pinned
        # by test_settings_file.py::test_odd_values_are_located_mistakes_not_crashes).
        "client_secret_file": st.sampled_from(["libanswers-secret", "missing-secret", "/", ".", "config.toml",
                                               "~/missing"]),
    }),
    "widget": st.fixed_dictionaries({}, optional={
        "library_name": mostly(st.text(min_size=1, max_size=20)),
        "primary_colour": mostly(st.sampled_from(["#1d4f91", "#000", "#FFFFFF", "#ffff00", "blue"])),
        "text_colour": mostly(st.sampled_from(["#ffffff", "#fff", "#000000", "#eeeeee"])),
        "greeting": mostly(st.text(min_size=1, max_size=20)),
        "offline_message": mostly(st.text(min_size=1, max_size=20)),
        "require_email": mostly(st.booleans()),
        "allowed_origins": mostly(st.lists(st.sampled_from(
            ["https://www.example.edu", "http://localhost:8000/", "*", "https://x.example/path", "x"])
            | scalars, max_size=3)),
        "strings": st.dictionaries(st.sampled_from(sorted(DEFAULT_STRINGS)) | names,
                                   mostly(st.sampled_from(["Go", "No. {position}", "{name}", "{nope}", ""])),
                                   max_size=3),
    }),
    "analytics": st.fixed_dictionaries({"datasets": st.dictionaries(
        st.sampled_from(["Chat", "Instruction", "Desk stats"]) | names,
        st.fixed_dictionaries({"fields": st.lists(good_fields, min_size=1, max_size=3,
                                                  unique_by=lambda f: str(f["name"]))}),
        max_size=2)}),
})
documents = arbitrary_documents | plausible_documents


# -- a tiny TOML writer ----------------------------------------------------------------------------


def key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else string(name)


def string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    return "{" + ", ".join(f"{key(k)} = {inline(v)}" for k, v in value.items()) + "}"


def is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(doc: dict[str, Any]) -> str:
    """TOML for `doc`: plain keys first, then [tables] and [[arrays of tables]] by header."""
    lines: list[str] = []

    def table(body: dict[str, Any], path: list[str]) -> None:
        for k, v in body.items():
            if not isinstance(v, dict) and not is_table_array(v):
                lines.append(f"{key(k)} = {inline(v)}")
        for k, v in body.items():
            sub = [*path, key(k)]
            if isinstance(v, dict):
                lines.extend(["", f"[{'.'.join(sub)}]"])
                table(v, sub)
            elif is_table_array(v):
                for item in v:
                    lines.extend(["", f"[[{'.'.join(sub)}]]"])
                    table(item, sub)

    table(doc, [])
    return "\n".join(lines) + "\n"


# -- the properties -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    secret = folder / "libanswers-secret"  # an owner-only secret file next to the settings
    secret.write_text("from-a-file\n", encoding="utf-8")
    secret.chmod(0o600)
    return folder / "config.toml"


def check_load(path: Path, text: str) -> Settings | ConfigError:
    path.write_text(text, encoding="utf-8")
    try:
        return load_settings(path, env=ENV)
    except ConfigError as error:
        message = str(error)
        assert message.startswith(f"{path}, line "), message
        line = int(re.match(r", line (\d+): ", message[len(str(path)):]).group(1))  # type: ignore[union-attr]
        assert 1 <= line <= max(1, len(text.split("\n"))), message
        return error


@FUZZ
@given(text=st.text(max_size=200) | st.lists(st.sampled_from(
    ["[", "]", "[[", "]]", "=", '"', "'", "\n", "librarian", "desk", "keys", ".", "name", "1", "true",
     "{", "}", ",", "#", "analytics.datasets.X.fields", "\\", "nan", " "]), max_size=30).map("".join))
def test_arbitrary_text_never_crashes(config_file: Path, text: str) -> None:
    check_load(config_file, text)


@FUZZ
@given(doc=documents)
def test_arbitrary_documents_give_settings_or_a_located_error(config_file: Path, doc: dict[str, Any]) -> None:
    text = to_toml(doc)
    result = check_load(config_file, text)
    if isinstance(result, Settings):
        assert result.path == config_file
        assert result.libanswers is None or isinstance(result.libanswers, LibAnswersConfig)
        assert isinstance(result.widget, WidgetSettings)
        for dataset in result.datasets.values():  # every dataset the file defines is usable
            assert Dataset.from_wire(json.loads(json.dumps(dataset.to_wire()))) == dataset
            with contextlib.suppress(AnalyticsError):
                validate_entry(dataset, {})
        return
    if "not valid TOML" not in str(result):
        # The line shown is the key itself or the table that holds it, never a blank line.
        line = int(re.search(r", line (\d+): ", str(result)).group(1))  # type: ignore[union-attr]
        assert text.split("\n")[line - 1].strip(), (str(result), text)


@FUZZ
@given(doc=documents)
def test_the_writer_writes_what_it_was_given(doc: dict[str, Any]) -> None:
    """So the properties above exercise the settings checks, not only the TOML parser."""
    text = to_toml(doc)
    parsed = tomllib.loads(text)
    if "nan" not in text:
        assert parsed == doc
