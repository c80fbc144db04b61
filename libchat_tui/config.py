"""Settings: one optional TOML file, loaded once into frozen dataclasses and passed in.

`config.toml` lives in the platformdirs user config dir; `LIBCHAT_CONFIG` points
elsewhere (tests use it). Every setting has a default. A mistake stops start-up with a
`ConfigError` naming the file, the line and the key; nothing starts half-configured.
`[keys]` is read here as binding id = keys; which ids exist and whether a key ends up
bound twice is for the console to say, from its real bindings (`ui.launch.check_keys`):
this module never loads textual.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import platformdirs

from .analytics import DEFAULT_DATASETS, KINDS, Dataset, Field
from .limits import Limits
from .team_settings import TeamSettings
from .web.settings import WidgetSettings

if TYPE_CHECKING:
    from .libanswers.settings import LibAnswersConfig

APP: Final = "libchat-tui"

#: `[appearance]` bells, one per desk event; each defaults to `bell`.
BELLS: Final = ("bell_new_chat", "bell_ticket", "bell_drop")
_KEY = re.compile(r"^[a-z0-9_+\-]+$")
#: What a `[keys]` binding id looks like; which ids exist is the console's to say (its
#: `Binding` objects, checked by `ui.launch.check_keys`): this module never loads textual.
_BINDING_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
#: Accounts that name no person: the librarian is "Librarian" until told otherwise.
SYSTEM_ACCOUNTS: Final = frozenset({
    "root", "toor", "admin", "administrator", "daemon", "nobody", "guest", "user", "operator",
    "system", "www-data", "bin", "sys",
})
#: The file whose presence says the "set your name" notice was given (in the console's folder).
NAME_NOTICE_FILE: Final = "name-notice-given"
_ASSIGN = re.compile(r"""^((?:[^="'#\[]|"(?:[^"\\]|\\.)*"|'[^']*')+?)\s*=""")


def _key_path(fragment: str) -> tuple[str, ...] | None:
    """The key path a TOML header or `key =` fragment names (quotes and escapes resolved)."""
    try:
        node: Any = tomllib.loads(fragment)
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        ((name, node),) = node.items()
        parts.append(name)
        node = node[0] if isinstance(node, list) and node and fragment.startswith("[[") else node
    return tuple(parts)


class ConfigError(Exception):
    """A settings file mistake, with file, line and key in the message."""


@dataclass(frozen=True, slots=True)
class LibrarianSettings:
    name: str
    #: The name is the neutral "Librarian": none was set and the account names no person.
    placeholder: bool = False


@dataclass(frozen=True, slots=True)
class ServerSettings:
    url: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class AppearanceSettings:
    """`[appearance]`: theme, motion, and which desk events ring the terminal bell."""

    theme: str = "textual-dark"
    bell: bool = True  # the default of every bell_* below
    animations: bool = True
    bell_new_chat: bool = True
    bell_ticket: bool = True  # a patron left a ticket
    bell_drop: bool = True  # a patron's connection dropped


@dataclass(frozen=True, slots=True)
class DeskSettings:
    grace_seconds: float = 60.0
    team: TeamSettings = field(default_factory=TeamSettings)  # departments, transfers, canned...


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with defaults."""

    librarian: LibrarianSettings
    server: ServerSettings = ServerSettings()
    appearance: AppearanceSettings = AppearanceSettings()
    desk: DeskSettings = DeskSettings()
    keys: Mapping[str, str] = field(default_factory=dict)
    #: The line of each `[keys]` entry, for mistakes found once the console knows its keys.
    key_lines: Mapping[str, int] = field(default_factory=dict)
    datasets: Mapping[str, Dataset] = field(default_factory=lambda: dict(DEFAULT_DATASETS))
    libanswers: LibAnswersConfig | None = None  # None: tickets and RA stay in the desk's store
    widget: WidgetSettings = field(default_factory=WidgetSettings)
    limits: Limits = field(default_factory=Limits)
    path: Path | None = None


#: Where `libchat-tui patron` looks for a desk when neither --server nor $LIBCHAT_SERVER says.
DEFAULT_SERVER: Final = "ws://127.0.0.1:8765"


def default_config_dir() -> Path:
    return platformdirs.user_config_path(APP)


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP)


def config_path(explicit: Path | None = None, env: Mapping[str, str] = os.environ) -> Path:
    if explicit is not None:
        return explicit
    if env.get("LIBCHAT_CONFIG"):
        return Path(env["LIBCHAT_CONFIG"])
    return default_config_dir() / "config.toml"


def default_log_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where the console and plain mode write their log: `$LIBCHAT_LOG_DIR`, else the
    platform's user log dir (never the terminal, which the console is drawing on)."""
    if env.get("LIBCHAT_LOG_DIR"):
        return Path(env["LIBCHAT_LOG_DIR"])
    return platformdirs.user_log_path(APP)


def _default_name() -> str | None:
    """A display name from the login name (`ada.lovelace` → "Ada Lovelace"), or None when
    there is none or it names no person (root, a service account)."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        return None
    if user.casefold() in SYSTEM_ACCOUNTS or user.startswith("_") or user.endswith("$"):
        return None
    return user.replace(".", " ").replace("_", " ").strip().title()[:80] or None


def name_notice(settings: Settings, name: str, folder: Path | None) -> str | None:
    """The one-time word on how to set a display name, when the librarian is the neutral
    "Librarian" (`name` is the name in use: --name, else the settings'). Said once per
    console folder (`DATA_DIR/console`, shared by the console and plain mode); None after."""
    if not settings.librarian.placeholder or name != settings.librarian.name:
        return None
    if folder is not None:
        from .files import write_atomic

        marker = folder / NAME_NOTICE_FILE
        if marker.exists():
            return None
        with contextlib.suppress(OSError):  # cannot remember it: said again next time, no harm
            write_atomic(marker, "")
    where = settings.path or default_config_dir() / "config.toml"
    return (f'Patrons and colleagues see you as "{name}". To show your name, start with '
            f'--name "Your Name" or put name = "Your Name" under [librarian] in {where}.')


def _seconds(r: Any, desk: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = desk.get(key, default)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not (value == 0 or low <= value <= high):
        raise r.fail("desk", key, f"must be 0 or a number of seconds from {low:g} to {high:g}, "
                     f"got {value!r}")
    return float(value)


def _team(r: Any, doc: dict[str, Any], desk: dict[str, Any]) -> TeamSettings:
    """`[desk] departments / transfer_seconds / realert_seconds` and the `[canned]` table."""
    departments = desk.get("departments", ["General"])
    if (not isinstance(departments, list) or not 1 <= len(departments) <= 50
            or not all(isinstance(d, str) and d.strip() and len(d) <= 100 for d in departments)
            or len({d.strip().casefold() for d in departments}) != len(departments)):
        raise r.fail("desk", "departments", "must be a list of 1 to 50 different names of 1 to 100 "
                     f"characters, got {departments!r}")
    transfer = _seconds(r, desk, "transfer_seconds", 60, 10, 3600)
    if transfer == 0:
        raise r.fail("desk", "transfer_seconds", "must be between 10 and 3600 seconds, got 0")
    realert = _seconds(r, desk, "realert_seconds", 180, 30, 86400)
    canned = doc.get("canned", {})
    if not isinstance(canned, dict):
        raise ConfigError(f"{r.path}, line {r.line_of('', 'canned')}: canned must be a section")
    for name, text in canned.items():
        if not 1 <= len(name) <= 40 or not isinstance(text, str) or not 1 <= len(text.strip()) <= 2000:
            raise r.fail("canned", name, "must be a name of 1 to 40 characters = text of 1 to 2,000 "
                         f"characters, got {text!r}")
    return TeamSettings(tuple(d.strip() for d in departments), transfer, realert,
                        tuple((name, text.strip()) for name, text in canned.items()))


class _Reader:
    """Checks one parsed document, reporting mistakes with the line of the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")  # TOML counts lines by newline only

    def line_of(self, section: str, key: str | None, index: int = 0) -> int:
        """The line defining `key` in `section` (its `index`-th table when it is an array of
        tables, as a header, a key or a dotted key), else the nearest enclosing line, else 1."""
        target = section if key is None else f"{section}.{key}" if section else key
        best, best_depth = 1, 0
        current: tuple[str, ...] = ()
        seen = -1
        for number, raw in enumerate(self.lines, 1):
            line = raw.strip()
            header = _key_path(line) if line.startswith("[") else None
            if header is not None:
                current, path = header, header
                seen += ".".join(current) == section
            elif assign := _ASSIGN.match(line):
                path = current + (_key_path(assign.group(1) + " = 0") or ())
            else:
                continue
            if section and ".".join(current) == section and seen != index:
                continue  # another table of the same array
            dotted = ".".join(path)
            if dotted == target or dotted.startswith(target + "."):
                return number
            if target.startswith(dotted + ".") and len(path) > best_depth:
                best, best_depth = number, len(path)
        return best

    def fail(self, section: str, key: str | None, message: str, index: int = 0) -> ConfigError:
        where = f"[{section}] {key}" if key else f"[{section}]"
        return ConfigError(f"{self.path}, line {self.line_of(section, key, index)}: {where} {message}")

    def table(self, doc: dict[str, Any], section: str, allowed: set[str] | None) -> dict[str, Any]:
        """`doc[section]`, a table holding only `allowed` keys (None: any key)."""
        data = doc.get(section, {})
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}, line {self.line_of('', section)}: {section} must be a section")
        for key in data:
            if allowed is not None and key not in allowed:
                raise self.fail(section, key, f"is not a setting (known: {', '.join(sorted(allowed))})")
        return data

    def string(self, data: dict[str, Any], section: str, key: str, limit: int = 500) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise self.fail(section, key, f"must be text of 1 to {limit} characters, got {value!r}")
        return value.strip()


def load_settings(path: Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read the settings file (if any) and the environment; raise ConfigError on mistakes."""
    from .libanswers.settings import parse_libanswers  # it reads the file with `_Reader`
    from .web.settings import parse_widget

    where = config_path(path, env)
    text = ""
    if where.exists():
        try:
            text = where.read_bytes().decode("utf-8-sig")  # a BOM is fine; newlines as written
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"line (\d+)", str(exc))
            line = found.group(1) if found else str(max(1, len(text.rstrip("\n").split("\n"))))
            raise ConfigError(f"{where}, line {line}: not valid TOML ({exc})") from None
        except RecursionError:
            raise ConfigError(f"{where}, line 1: not valid TOML (nested too deeply)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}, line 1: cannot read the file ({exc})") from None
    else:
        doc = {}
    r = _Reader(where, text)
    sections = {"librarian", "server", "appearance", "desk", "keys", "analytics", "libanswers", "widget",
                "limits", "canned"}
    for section in doc:
        if section not in sections:
            raise ConfigError(f"{where}, line {r.line_of(section, None)}: [{section}] is not a section "
                              f"(known: {', '.join(sorted(sections))})")

    lib = r.table(doc, "librarian", {"name"})
    given = r.string(lib, "librarian", "name", 80)
    name = given or _default_name()

    srv = r.table(doc, "server", {"url", "token"})
    url = r.string(srv, "server", "url")
    if url is not None and not re.match(r"^wss?://[^\s/]+", url):
        raise r.fail("server", "url", f"must start with ws:// or wss://, got {url!r}")
    token = env.get("LIBCHAT_TOKEN") or r.string(srv, "server", "token")

    app = r.table(doc, "appearance", {"theme", "bell", "animations", *BELLS})
    theme = r.string(app, "appearance", "theme", 60) or "textual-dark"
    switches: dict[str, bool] = {}
    for key in ("bell", "animations", *BELLS):
        value = app.get(key, switches.get("bell", True) if key in BELLS else True)
        if not isinstance(value, bool):
            raise r.fail("appearance", key, f"must be true or false, got {value!r}")
        switches[key] = value

    desk = r.table(doc, "desk", {"grace_seconds", "departments", "transfer_seconds", "realert_seconds"})
    grace = desk.get("grace_seconds", 60)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not 5 <= grace <= 3600:
        raise r.fail("desk", "grace_seconds", f"must be a number between 5 and 3600, got {grace!r}")
    team = _team(r, doc, desk)

    keys = r.table(doc, "keys", None)  # which ids exist is checked by ui.launch.check_keys
    for binding, key in keys.items():
        if not _BINDING_ID.match(binding) or len(binding) > 40:
            raise r.fail("keys", binding, "is not a binding id: ids are lowercase words joined by "
                         "\"-\", like end-chat (f1 and docs/guide-settings.md list them)")
        if not isinstance(key, str) or not all(_KEY.match(k.strip()) for k in key.split(",")):
            raise r.fail("keys", binding, f"must be keys like \"ctrl+e\" or \"f5,ctrl+x\", got {key!r}")

    libanswers = parse_libanswers(r, doc, env)
    widget = parse_widget(r, doc)
    limits = _limits(r, doc)

    return Settings(
        librarian=LibrarianSettings(name or "Librarian", placeholder=name is None),
        server=ServerSettings(url, token),
        appearance=AppearanceSettings(theme, **switches),
        desk=DeskSettings(float(grace), team),
        keys={k: v.strip() for k, v in keys.items()},
        key_lines={k: r.line_of("keys", k) for k in keys},
        datasets=_datasets(r, doc),
        libanswers=libanswers,
        widget=widget,
        limits=limits,
        path=where,
    )


def _limits(r: _Reader, doc: dict[str, Any]) -> Limits:
    """`[limits]`: each key a field of `Limits` (docs/security.md), checked for its type."""
    kinds = {f.name: f.type for f in fields(Limits)}
    table = r.table(doc, "limits", set(kinds))
    values: dict[str, Any] = {}
    for key, value in table.items():
        kind = str(kinds[key])
        if key == "trusted_proxies":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise r.fail("limits", key, f"must be a list of addresses or CIDRs, got {value!r}")
            value = tuple(value)
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise r.fail("limits", key, f"must be a whole number, got {value!r}")
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise r.fail("limits", key, f"must be a number, got {value!r}")
            value = float(value)
        elif not isinstance(value, str):
            raise r.fail("limits", key, f"must be text, got {value!r}")
        values[key] = value
    try:
        return Limits(**values)
    except ValueError as exc:
        key = str(exc).split(" ", 1)[0].rstrip(":")
        raise r.fail("limits", key if key in kinds else None, str(exc)) from None


def _datasets(r: _Reader, doc: dict[str, Any]) -> dict[str, Dataset]:
    found: dict[str, Dataset] = dict(DEFAULT_DATASETS)
    analytics = r.table(doc, "analytics", {"datasets"})
    defined = analytics.get("datasets", {})
    if not isinstance(defined, dict):
        raise r.fail("analytics", "datasets", "must be a table of datasets")
    for name, body in defined.items():
        section = f"analytics.datasets.{name}"
        if not name.strip() or len(name) > 60 or not name.isprintable():
            raise r.fail(section, None, "needs a name of 1 to 60 printable characters")
        if not isinstance(body, dict):
            raise r.fail(section, None, "must be a table holding [[analytics.datasets.NAME.fields]]")
        for key in sorted(set(body) - {"fields"}):
            raise r.fail(section, key, "is not a dataset setting (a dataset takes only its fields)")
        fields_raw = body.get("fields", [])
        if not isinstance(fields_raw, list) or not fields_raw:
            raise r.fail(section, "fields", "must list at least one field")
        fields: list[Field] = []
        fsec = f"{section}.fields"
        allowed = {"name", "label", "kind", "required", "options", "min", "max", "max_length"}
        for index, raw in enumerate(fields_raw):
            if not isinstance(raw, dict):
                raise r.fail(fsec, None, "each field must be a table")
            for key in raw:
                if key not in allowed:
                    known = ", ".join(sorted(allowed))
                    raise r.fail(fsec, key, f"is not a field setting (known: {known})", index)
            fname = raw.get("name")
            if not isinstance(fname, str) or not re.match(r"^[a-z][a-z0-9_]{0,39}$", fname):
                raise r.fail(fsec, "name", f"must be a lowercase identifier, got {fname!r}", index)
            if any(f.name == fname for f in fields):
                raise r.fail(fsec, "name", f"{fname!r} is defined twice", index)
            kind = raw.get("kind")
            if kind not in KINDS:
                raise r.fail(fsec, "kind", f"must be one of {', '.join(KINDS)}, got {kind!r}", index)
            options = raw.get("options", [])
            if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options):
                raise r.fail(fsec, "options", "must be a list of words", index)
            if kind == "choice" and not options:
                raise r.fail(fsec, "options", f"are required for the choice field {fname!r}", index)
            bounds = [raw.get("min"), raw.get("max")]
            for key, bound in zip(("min", "max"), bounds, strict=True):
                if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                    raise r.fail(fsec, key, f"must be a whole number, got {bound!r}", index)
            required = raw.get("required", False)
            if not isinstance(required, bool):
                raise r.fail(fsec, "required", f"must be true or false, got {required!r}", index)
            label = raw.get("label", fname)
            if not isinstance(label, str) or not label.strip():
                raise r.fail(fsec, "label", f"must be text, got {label!r}", index)
            max_length = raw.get("max_length", 2000)
            if (isinstance(max_length, bool) or not isinstance(max_length, int)
                    or not 1 <= max_length <= 100_000):
                raise r.fail(fsec, "max_length",
                             f"must be a whole number from 1 to 100000, got {max_length!r}", index)
            low, high = bounds
            if kind == "scale" and (low is None or high is None):
                low, high = low if low is not None else 1, high if high is not None else 6
            if low is not None and high is not None and low > high:
                raise r.fail(fsec, "min", f"{low} is above max {high}", index)
            fields.append(Field(fname, label, kind, required, tuple(o.strip().lower() for o in options),
                                min=low, max=high, max_length=max_length))
        found[name] = Dataset(name, tuple(fields))
    return found


def keys_mistake(settings: Settings, binding: str, message: str) -> ConfigError:
    """A `[keys]` mistake found by the console, which knows its keys: located like any other."""
    where = settings.path or config_path()
    return ConfigError(f"{where}, line {settings.key_lines.get(binding, 1)}: [keys] {binding} {message}")


def librarian_id(data_dir: Path) -> str:
    """This librarian's stable id on this machine, kept in the data dir (shared by the full
    console and plain mode, so both are the same librarian to the desk)."""
    from .files import write_atomic

    path = data_dir / "librarian-id"
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = uuid.uuid4().hex
    write_atomic(path, value + "\n")
    return value
