"""`[libanswers]` settings: the site, the API client, where its secret lives, and the mapping.

Parsed once at start-up with the settings file's `_Reader`, so every mistake names the
file, the line and the key. The client secret never comes from the TOML: it is read from
an environment variable (named in the settings, `LIBANSWERS_CLIENT_SECRET` by default) or
from a file only its owner can read, and it is held in a `Secret` that never prints.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ..config import _Reader

SECTION = "libanswers"
DEFAULT_SECRET_ENV = "LIBANSWERS_CLIENT_SECRET"
_KEYS = {"site", "client_id", "client_secret_env", "client_secret_file", "queue_id", "owner_email",
         "owners", "datasets", "timeout_seconds", "connect_timeout_seconds"}
_DATASET_KEYS = {"dataset_id", "fields", "options", "fixed", "skip", "answer_field"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Secret:
    """A credential that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, only for the one form field that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class DatasetLink:
    """How one local Reference Analytics dataset lands in a LibAnswers dataset.

    `fields` and `options` are overrides for when labels differ (a label, or an id as a
    number); everything else is matched by label. `fixed` gives LibAnswers fields the desk
    does not ask about a constant value (e.g. "Contact method" = "Chat").
    """

    dataset_id: int
    fields: Mapping[str, str | int] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, str | int]] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()
    answer_field: str | None = "answer_summary"


@dataclass(frozen=True, slots=True)
class LibAnswersConfig:
    """Everything needed to push tickets and Reference Analytics to one LibAnswers site."""

    site: str
    client_id: str
    client_secret: Secret = field(repr=False)
    secret_source: str = ""  # "$NAME" or the file's path, for `libanswers check`
    queue_id: int | None = None
    owner_email: str | None = None
    owners: Mapping[str, str] = field(default_factory=dict)  # librarian name or id -> email
    datasets: Mapping[str, DatasetLink] = field(default_factory=dict)
    timeout_seconds: float = 15.0
    connect_timeout_seconds: float = 5.0

    @property
    def api_base(self) -> str:
        return f"{self.site}/api/1.1"

    @property
    def pushes_tickets(self) -> bool:
        """Whether tickets go to LibAnswers (call enqueue_ticket only then)."""
        return self.queue_id is not None

    def pushes(self, dataset: str) -> bool:
        """Whether entries of this local dataset go to LibAnswers (call enqueue only then)."""
        return dataset in self.datasets


def parse_libanswers(r: _Reader, doc: dict[str, Any],
                     env: Mapping[str, str] = os.environ) -> LibAnswersConfig | None:
    """The `[libanswers]` section checked and resolved, or None when it is absent."""
    if SECTION not in doc:
        return None
    la = r.table(doc, SECTION, _KEYS | {"client_secret"})
    if "client_secret" in la:
        raise r.fail(SECTION, "client_secret", "must not be in the settings file: put the secret in "
                     f"${DEFAULT_SECRET_ENV} or in a file named by client_secret_file")
    site = _site(r, la)
    client_id = r.string(la, SECTION, "client_id", 200)
    if client_id is None:
        raise r.fail(SECTION, "client_id", "is required (LibAnswers admin: API > Authentication)")
    secret, source = _secret(r, la, env)
    queue = la.get("queue_id")
    return LibAnswersConfig(
        site=site, client_id=client_id, client_secret=secret, secret_source=source,
        queue_id=None if queue is None else _whole(r, SECTION, "queue_id", queue),
        owner_email=_email(r, SECTION, "owner_email", la.get("owner_email")),
        owners=_owners(r, la.get("owners", {})),
        datasets=_datasets(r, la.get("datasets", {})),
        timeout_seconds=_seconds(r, la, "timeout_seconds", 15.0),
        connect_timeout_seconds=_seconds(r, la, "connect_timeout_seconds", 5.0),
    )


def _site(r: _Reader, la: dict[str, Any]) -> str:
    site = r.string(la, SECTION, "site")
    if site is None:
        raise r.fail(SECTION, "site", 'is required, e.g. "https://library.libanswers.com"')
    site = site.rstrip("/").removesuffix("/api/1.1")
    parts = urlsplit(site)
    local = parts.scheme == "http" and (parts.hostname or "") in _LOCAL_HOSTS
    if not (parts.scheme == "https" or local) or not parts.netloc or parts.query or parts.fragment:
        raise r.fail(SECTION, "site", f'must be an https:// address like "https://library.libanswers.com",'
                     f" got {site!r}")
    return site


def _secret(r: _Reader, la: dict[str, Any], env: Mapping[str, str]) -> tuple[Secret, str]:
    path_text = r.string(la, SECTION, "client_secret_file")
    if path_text is not None:
        try:
            path = Path(path_text).expanduser()
        except RuntimeError:  # "~nobody/..." names a user this machine does not have
            raise r.fail(SECTION, "client_secret_file",
                         f"cannot be read: {path_text!r} (no such user)") from None
        if not path.is_absolute():
            path = r.path.parent / path
        return Secret(_read_secret_file(r, path)), str(path)
    name = r.string(la, SECTION, "client_secret_env", 100) or DEFAULT_SECRET_ENV
    if not _ENV_NAME.match(name):
        raise r.fail(SECTION, "client_secret_env", f"must be an environment variable name, got {name!r}")
    value = env.get(name, "").strip()
    if not value:
        raise r.fail(SECTION, None, f"needs the API client secret: set ${name}, "
                     "or name an owner-only file in client_secret_file")
    return Secret(value), f"${name}"


def _read_secret_file(r: _Reader, path: Path) -> str:
    try:
        info = path.stat()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) else "not a valid path"
        raise r.fail(SECTION, "client_secret_file", f"cannot be read: {path!r} ({reason})") from None
    if not stat.S_ISREG(info.st_mode):
        raise r.fail(SECTION, "client_secret_file", f"must be a regular file: {path}")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise r.fail(SECTION, "client_secret_file", f"{path} can be read by others (mode {mode:04o});"
                     f" make it owner-only: chmod 600 {path}")
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise r.fail(SECTION, "client_secret_file", f"cannot be read: {path} ({exc})") from None
    if not value or len(value) > 1000:
        raise r.fail(SECTION, "client_secret_file", f"{path} must hold the secret on one line")
    return value


def _whole(r: _Reader, section: str, key: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise r.fail(section, key, f"must be a positive whole number (an id from LibAnswers), got {value!r}")
    return value


def _email(r: _Reader, section: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", value.strip()):
        raise r.fail(section, key, f"must be an email address, got {value!r}")
    return value.strip()


def _seconds(r: _Reader, la: dict[str, Any], key: str, default: float) -> float:
    value = la.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= 300:
        raise r.fail(SECTION, key, f"must be a number of seconds from 0.05 to 300, got {value!r}")
    return float(value)


def _owners(r: _Reader, raw: Any) -> dict[str, str]:
    section = f"{SECTION}.owners"
    if not isinstance(raw, dict):
        raise r.fail(SECTION, "owners", 'must be a table of librarian = "email"')
    return {str(name): _email(r, section, name, email) or "" for name, email in raw.items()}


def _label(r: _Reader, section: str, key: str, value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return value.strip()
    raise r.fail(section, key, f"must be a LibAnswers label (text) or id (a number), got {value!r}")


def _datasets(r: _Reader, raw: Any) -> dict[str, DatasetLink]:
    if not isinstance(raw, dict):
        raise r.fail(SECTION, "datasets", "must be a table: [libanswers.datasets.NAME] dataset_id = ...")
    links: dict[str, DatasetLink] = {}
    for name, body in raw.items():
        section = f"{SECTION}.datasets.{name}"
        if not isinstance(body, dict):
            raise r.fail(section, None, "must be a table with dataset_id")
        for key in body:
            if key not in _DATASET_KEYS:
                raise r.fail(section, key, f"is not a setting (known: {', '.join(sorted(_DATASET_KEYS))})")
        if "dataset_id" not in body:
            raise r.fail(section, "dataset_id", "is required (LibAnswers admin: Reference Analytics)")
        fields = _table(r, section, "fields", body)
        options = _table(r, section, "options", body)
        fixed = _table(r, section, "fixed", body)
        skip = body.get("skip", [])
        if not isinstance(skip, list) or not all(isinstance(s, str) for s in skip):
            raise r.fail(section, "skip", "must be a list of local field names")
        answer = body.get("answer_field", "answer_summary")
        if not isinstance(answer, str):
            raise r.fail(section, "answer_field", f"must be a local field name, got {answer!r}")
        per_option: dict[str, dict[str, str | int]] = {}
        for local, table in options.items():
            if not isinstance(table, dict):
                raise r.fail(f"{section}.options", local, 'must be a table of local option = "label"')
            per_option[local] = {str(k).lower(): _label(r, f"{section}.options.{local}", k, v)
                                 for k, v in table.items()}
        links[str(name)] = DatasetLink(
            dataset_id=_whole(r, section, "dataset_id", body["dataset_id"]),
            fields={k: _label(r, f"{section}.fields", k, v) for k, v in fields.items()},
            options=per_option,
            fixed={k: str(_label(r, f"{section}.fixed", k, v)) for k, v in fixed.items()},
            skip=tuple(skip), answer_field=answer or None,
        )
    return links


def _table(r: _Reader, section: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    value = body.get(key, {})
    if not isinstance(value, dict):
        raise r.fail(section, key, "must be a table")
    return value
