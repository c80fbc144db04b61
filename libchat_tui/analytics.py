"""Reference Analytics datasets: their fields, the default "Chat" dataset, and validation.

No I/O. The backend validates every entry against its dataset before storing it; the
console builds its form from the same definitions (sent in the `hello` ack).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

KINDS: Final = ("choice", "multi", "text", "number", "scale")

#: Filled in by the backend from the chat, never typed by the librarian.
AUTO_FIELDS: Final = ("date_time", "duration_seconds", "wait_seconds", "first_question")

#: The READ Scale (Reference Effort Assessment Data, Bella Karr Gerlich): effort per level.
READ_SCALE: Final = {
    "1": "Answer needs no specialised knowledge or skills; under 5 minutes (directions, hours).",
    "2": "Answer needs only minimal resources or knowledge (known-item lookup, printing help).",
    "3": "Answer needs some reference knowledge and a few sources; 5-15 minutes.",
    "4": "Answer needs several sources and consultation; instruction in searching.",
    "5": "Answer needs substantial effort and subject knowledge; more than 30 minutes.",
    "6": "In-depth research and collaboration; may take several sessions or referral.",
}


class AnalyticsError(ValueError):
    """An entry its dataset does not allow; the message says what to fix."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True, slots=True)
class Field:
    """One question of a dataset's form."""

    name: str
    label: str
    kind: str
    required: bool = False
    options: tuple[str, ...] = ()
    descriptions: tuple[tuple[str, str], ...] = ()  # (option, meaning), e.g. READ levels
    min: int | None = None
    max: int | None = None
    max_length: int = 2000

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name, "label": self.label, "kind": self.kind, "required": self.required,
            "options": list(self.options), "descriptions": dict(self.descriptions),
            "min": self.min, "max": self.max, "max_length": self.max_length,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Field:
        return cls(
            name=str(data["name"]), label=str(data.get("label") or data["name"]), kind=str(data["kind"]),
            required=bool(data.get("required", False)), options=tuple(data.get("options") or ()),
            descriptions=tuple((str(k), str(v)) for k, v in (data.get("descriptions") or {}).items()),
            min=data.get("min"), max=data.get("max"), max_length=int(data.get("max_length") or 2000),
        )


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named Reference Analytics dataset and its fields."""

    name: str
    fields: tuple[Field, ...] = field(default=())

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "fields": [f.to_wire() for f in self.fields]}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Dataset:
        return cls(str(data["name"]), tuple(Field.from_wire(f) for f in data.get("fields", ())))


CHAT_DATASET: Final = Dataset("Chat", (
    Field("question_type", "Question type", "choice", required=True,
          options=("directional", "informational", "reference", "technical", "policy", "other")),
    Field("read_scale", "READ scale", "scale", required=True, min=1, max=6,
          descriptions=tuple(READ_SCALE.items())),
    Field("topics", "Topic tags", "multi"),
    Field("patron_type", "Patron type", "choice",
          options=("student", "faculty", "staff", "community", "other")),
    Field("answer_summary", "Answer summary", "text", max_length=2000),
))

DEFAULT_DATASETS: Final = {"Chat": CHAT_DATASET}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        return int(value.strip())
    return None


def _check(f: Field, value: Any) -> Any:
    if f.kind == "choice":
        if not isinstance(value, str) or value.strip().lower() not in f.options:
            raise AnalyticsError(f.name, f"{f.label} must be one of: {', '.join(f.options)}.")
        return value.strip().lower()
    if f.kind in ("scale", "number"):
        number = _whole(value)
        low, high = f.min, f.max
        if number is None or (low is not None and number < low) or (high is not None and number > high):
            span = f" from {low} to {high}" if low is not None and high is not None else ""
            raise AnalyticsError(f.name, f"{f.label} must be a whole number{span}.")
        return number
    if f.kind == "multi":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise AnalyticsError(f.name, f"{f.label} must be a list of words.")
        tags: list[str] = []
        for item in (i.strip() for i in items):
            if item and item.lower() not in (t.lower() for t in tags):
                tags.append(item[:60])
        return tags[:20]
    if not isinstance(value, str):
        raise AnalyticsError(f.name, f"{f.label} must be text.")
    if len(value) > f.max_length:
        raise AnalyticsError(f.name, f"{f.label} is {len(value)} characters; the limit is {f.max_length}.")
    return value.strip()


def validate_entry(dataset: Dataset, fields: dict[str, Any]) -> dict[str, Any]:
    """The entry cleaned (stripped, tags deduplicated, scale as int), or AnalyticsError."""
    known = {f.name: f for f in dataset.fields}
    for name in fields:
        if name not in known:
            raise AnalyticsError(name, f"Unknown field '{name}' in dataset {dataset.name}.")
    clean: dict[str, Any] = {}
    for f in dataset.fields:
        value = fields.get(f.name)
        if f.kind == "multi" and not _blank(value) and _check(f, value) == []:
            value = None  # only blank tags, e.g. [" "] or ","
        if _blank(value):
            if f.required:
                raise AnalyticsError(f.name, f"{f.label} is required.")
            clean[f.name] = [] if f.kind == "multi" else None
            continue
        clean[f.name] = _check(f, value)
    return clean


def scale_levels(field: Field) -> list[int]:
    """The levels a scale field offers (1-6 unless the dataset says otherwise)."""
    low = field.min if field.min is not None else 1
    high = field.max if field.max is not None else 6
    return list(range(low, high + 1))


def scale_meanings(field: Field) -> dict[str, str]:
    """What each level of a scale means: its own descriptions, or the READ Scale's."""
    if field.descriptions:
        return dict(field.descriptions)
    if "read" in f"{field.name} {field.label}".lower().replace("_", " ").split():
        return dict(READ_SCALE)
    return {}
