"""From a local Reference Analytics entry to a LibAnswers transaction form. No I/O.

A LibAnswers dataset describes its questions in `formfields` (field ids, labels, option
ids). `plan_dataset` matches the local dataset's fields to them by label, with the
settings' overrides where labels differ, and fails with a `MappingError` that names the
field when something does not line up. `transaction_form` then turns one entry into the
form pairs `POST /ra/dataset/{id}/transaction` takes (`field[<id>]=<option id>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..analytics import AUTO_FIELDS, Dataset, Field
from .settings import DatasetLink


class MappingError(ValueError):
    """A local field or value that has no place in the LibAnswers dataset."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True, slots=True)
class FormOption:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One question of a LibAnswers RA dataset, as `formfields` describes it."""

    id: str
    label: str
    html_type: str = "text"
    required: bool = False
    options: tuple[FormOption, ...] = ()

    @classmethod
    def from_api(cls, raw: Any) -> FormField:
        if not isinstance(raw, dict) or raw.get("id") in (None, ""):
            raise ValueError(f"LibAnswers sent a form field without an id: {str(raw)[:120]}")
        found = raw.get("options") or []
        if isinstance(found, dict):  # {"12": "Reference", ...}
            found = [{"id": k, "label": v} for k, v in found.items()]
        options = tuple(
            FormOption(str(o.get("id")), str(o.get("label") or o.get("name") or o.get("value") or ""))
            for o in found if isinstance(o, dict) and o.get("id") not in (None, "")
        )
        required = raw.get("required", False)
        return cls(str(raw["id"]), str(raw.get("label") or raw.get("name") or ""),
                   str(raw.get("html_type") or raw.get("type") or "text"),
                   required in (True, 1, "1", "true", "yes"), options)

    def option(self, wanted: str | int) -> FormOption | None:
        if isinstance(wanted, int):
            return next((o for o in self.options if o.id == str(wanted)), None)
        key = normal(wanted)
        return next((o for o in self.options if normal(o.label) == key), None)


@dataclass(frozen=True, slots=True)
class Route:
    """Where one local field goes: a LibAnswers field, with option ids for local choices."""

    local: Field
    target: FormField
    options: Mapping[str, FormOption] = field(default_factory=dict)  # local option -> remote
    overrides: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetPlan:
    """The checked mapping of one local dataset onto one LibAnswers dataset."""

    dataset: str
    dataset_id: int
    routes: tuple[Route, ...]
    fixed: tuple[tuple[FormField, str], ...]  # (LibAnswers field, option id or text)
    answer_field: str | None
    skipped: tuple[str, ...]

    def describe(self) -> list[str]:
        """One line per mapped field, for `libchat-tui libanswers check`."""
        lines = []
        for route in self.routes:
            opts = ", ".join(f"{k}→{o.id}" for k, o in route.options.items())
            lines.append(f"{route.local.name} ({route.local.label}) → field {route.target.id} "
                         f"\"{route.target.label}\"" + (f": {opts}" if opts else ""))
        lines += [f"\"{f.label}\" (field {f.id}) is always {value}" for f, value in self.fixed]
        if self.answer_field:
            lines.append(f"{self.answer_field} → the transaction's answer")
        lines += [f"{name} is not sent (skip)" for name in self.skipped]
        return lines


def normal(label: str) -> str:
    """Labels compare without case, extra spaces, or a trailing ':' or '*'."""
    return re.sub(r"\s+", " ", label).strip().rstrip(":*").strip().casefold()


def _find(fields: list[FormField], wanted: str | int) -> FormField | None:
    if isinstance(wanted, int):
        return next((f for f in fields if f.id == str(wanted)), None)
    key = normal(wanted)
    return next((f for f in fields if normal(f.label) == key), None)


def _choices(local: Field) -> list[str]:
    if local.kind == "scale" and local.min is not None and local.max is not None:
        return [str(n) for n in range(local.min, local.max + 1)]
    return list(local.options)


def plan_dataset(local: Dataset, link: DatasetLink, fields: list[FormField]) -> DatasetPlan:
    """Match every local field to a LibAnswers field, or raise MappingError naming it."""
    where = f"LibAnswers dataset {link.dataset_id}"
    known = ", ".join(f'"{f.label}"' for f in fields) or "none"
    local_names = {f.name for f in local.fields}
    for name in [*link.fields, *link.options, *link.skip]:
        if name not in local_names:
            raise MappingError(name, f"The settings name the field '{name}', which the local dataset "
                               f"'{local.name}' does not have.")
    answer = link.answer_field if link.answer_field in local_names else None
    routes: list[Route] = []
    used: dict[str, str] = {}
    for f in local.fields:
        if f.name in link.skip or f.name == answer or f.name in AUTO_FIELDS:
            continue
        wanted = link.fields.get(f.name, f.label)
        target = _find(fields, wanted)
        if target is None:
            raise MappingError(f.name, f"{where} has no field {_say(wanted)} for the local field "
                               f"'{f.name}' ({f.label}); its fields are {known}. Set "
                               f"[libanswers.datasets.{local.name}.fields] {f.name} = \"<label>\", "
                               "or list it in skip.")
        if target.id in used:
            raise MappingError(f.name, f"'{f.name}' and '{used[target.id]}' both map to the "
                               f"LibAnswers field \"{target.label}\".")
        used[target.id] = f.name
        overrides = link.options.get(f.name, {})
        options: dict[str, FormOption] = {}
        if target.options and f.kind != "multi":
            for choice in _choices(f):
                hit = target.option(overrides.get(choice, choice))
                if hit is None:
                    raise MappingError(f.name, f"The LibAnswers field \"{target.label}\" has no option "
                                       f"{_say(overrides.get(choice, choice))} for '{choice}' of "
                                       f"'{f.name}'; its options are "
                                       f"{', '.join(o.label for o in target.options)}. Set "
                                       f"[libanswers.datasets.{local.name}.options.{f.name}] "
                                       f"{choice} = \"<label>\".")
                options[choice] = hit
        routes.append(Route(f, target, options, overrides))
    fixed: list[tuple[FormField, str]] = []
    for label, value in link.fixed.items():
        target = _find(fields, label)
        if target is None:
            raise MappingError(label, f"{where} has no field \"{label}\" (in fixed); its fields are {known}.")
        if target.options:
            hit = target.option(value)
            if hit is None:
                raise MappingError(label, f"The LibAnswers field \"{label}\" has no option \"{value}\".")
            value = hit.id
        used[target.id] = label
        fixed.append((target, value))
    for remote in fields:
        if remote.required and remote.id not in used:
            raise MappingError(remote.label, f"{where} requires \"{remote.label}\" and no local field "
                               f"maps to it; map one in [libanswers.datasets.{local.name}.fields] or "
                               f"give it a value in [libanswers.datasets.{local.name}.fixed].")
    skipped = tuple(n for n in link.skip if n in local_names)
    return DatasetPlan(local.name, link.dataset_id, tuple(routes), tuple(fixed), answer, skipped)


def _say(wanted: str | int) -> str:
    return f"with id {wanted}" if isinstance(wanted, int) else f'labelled "{wanted}"'


def utc_text(stamp: str) -> str:
    """An ISO timestamp as LibAnswers wants it: UTC, `Y-m-d H:i:s`."""
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _values(route: Route, value: Any) -> list[str]:
    f, target = route.local, route.target
    items = value if isinstance(value, list) else [value]
    if not target.options:
        return [", ".join(str(i) for i in items)]
    out = []
    for item in items:
        key = str(item).strip().lower()
        hit = route.options.get(key) or target.option(route.overrides.get(key, str(item)))
        if hit is None:
            raise MappingError(f.name, f"'{item}' in '{f.name}' is not an option of the LibAnswers field "
                               f"\"{target.label}\" ({', '.join(o.label for o in target.options)}).")
        out.append(hit.id)
    return out


def transaction_form(plan: DatasetPlan, entry: dict[str, Any], owner_email: str,
                     marker: str) -> list[tuple[str, str]]:
    """The form pairs for one entry; `marker` goes in the internal note for reconciliation."""
    values = entry["fields"]
    when = values.get("date_time") or entry["created_at"]
    details = [f"Chat {entry['chat_id']} at the libchat-tui desk"]
    if values.get("wait_seconds") is not None:
        details.append(f"waited {values['wait_seconds']} s")
    if values.get("duration_seconds") is not None:
        details.append(f"lasted {values['duration_seconds']} s")
    form = [
        ("owner_email", owner_email), ("date_time", utc_text(when)),
        ("question", str(values.get("first_question") or "")), ("q_details", ", ".join(details)),
        ("answer", str(values.get(plan.answer_field) or "") if plan.answer_field else ""),
        ("internal_note", f"Recorded by {entry.get('author') or 'libchat-tui'} [{marker}]"),
    ]
    for route in plan.routes:
        value = values.get(route.local.name)
        if value is None or value == [] or value == "":
            if route.target.required:
                raise MappingError(route.local.name, f"LibAnswers requires \"{route.target.label}\" but "
                                   f"this entry leaves '{route.local.name}' empty.")
            continue
        ids = _values(route, value)
        many = route.local.kind == "multi" and bool(route.target.options)
        form += [(f"field[{route.target.id}][]" if many else f"field[{route.target.id}]", v) for v in ids]
    form += [(f"field[{target.id}]", value) for target, value in plan.fixed]
    return form
