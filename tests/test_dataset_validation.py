"""Reference Analytics entries are checked against their dataset before they are stored.

The backend refuses what the dataset does not allow with an AnalyticsError naming the
field, so the console can put the message next to the right input.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from libchat_tui.analytics import (
    CHAT_DATASET,
    DEFAULT_DATASETS,
    READ_SCALE,
    AnalyticsError,
    Dataset,
    Field,
    validate_entry,
)

MINIMAL = {"question_type": "reference", "read_scale": 3}


def entry(**fields: Any) -> dict[str, Any]:
    return validate_entry(CHAT_DATASET, {**MINIMAL, **fields})


def refused(fields: dict[str, Any], dataset: Dataset = CHAT_DATASET) -> AnalyticsError:
    with pytest.raises(AnalyticsError) as caught:
        validate_entry(dataset, fields)
    return caught.value


def test_the_default_dataset_is_chat() -> None:
    assert DEFAULT_DATASETS == {"Chat": CHAT_DATASET}
    assert [f.name for f in CHAT_DATASET.fields] == [
        "question_type", "read_scale", "topics", "patron_type", "answer_summary"]
    read = CHAT_DATASET.fields[1]
    assert (read.kind, read.min, read.max) == ("scale", 1, 6)
    assert dict(read.descriptions) == READ_SCALE
    assert sorted(READ_SCALE) == ["1", "2", "3", "4", "5", "6"]


def test_a_minimal_entry_is_filled_with_blanks() -> None:
    assert entry() == {"question_type": "reference", "read_scale": 3, "topics": [],
                       "patron_type": None, "answer_summary": None}


@pytest.mark.parametrize("missing", ["question_type", "read_scale"])
@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_required_fields_must_be_filled(missing: str, blank: Any) -> None:
    error = refused({**MINIMAL, missing: blank})
    assert error.field == missing
    assert "is required" in str(error)


def test_a_required_field_left_out_is_refused() -> None:
    error = refused({"read_scale": 2})
    assert error.field == "question_type"
    assert str(error) == "Question type is required."


@pytest.mark.parametrize("value", [1, 2, 3, 4, 5, 6, "3", " 6 ", "1"])
def test_read_scale_accepts_whole_numbers_from_1_to_6(value: Any) -> None:
    assert entry(read_scale=value)["read_scale"] == int(value)


@pytest.mark.parametrize("value", [0, 7, -1, 2.5, "0", "7", "2.5", "three", "--3", "+3", "²",
                                   "9" * 5000, True, False, [3], {"v": 3}])
def test_read_scale_refuses_anything_else(value: Any) -> None:
    error = refused({**MINIMAL, "read_scale": value})
    assert error.field == "read_scale"
    assert "from 1 to 6" in str(error)


def test_bool_is_not_a_number() -> None:
    """True == 1 in Python, but a tick box is not a READ level."""
    assert "from 1 to 6" in str(refused({**MINIMAL, "read_scale": True}))


@pytest.mark.parametrize(("typed", "stored"), [("Reference", "reference"), ("  TECHNICAL ", "technical"),
                                                ("directional", "directional")])
def test_choices_are_case_insensitive_and_stored_lowercase(typed: str, stored: str) -> None:
    assert entry(question_type=typed)["question_type"] == stored
    assert entry(patron_type=typed.replace(typed.strip(), "Faculty"))["patron_type"] == "faculty"


@pytest.mark.parametrize("value", ["astrology", "referenc", 3, ["reference"]])
def test_a_choice_not_in_the_options_is_refused(value: Any) -> None:
    error = refused({**MINIMAL, "question_type": value})
    assert error.field == "question_type"
    assert "must be one of: directional, informational, reference" in str(error)


def test_tags_are_trimmed_and_deduplicated_case_insensitively() -> None:
    assert entry(topics=["Census", "census", " CENSUS ", "maps", "", "Maps"])["topics"] == ["Census", "maps"]
    assert entry(topics="history, History ,art,,")["topics"] == ["history", "art"]


def test_tags_are_bounded() -> None:
    topics = entry(topics=[f"tag{i}" for i in range(50)] + ["x" * 500])["topics"]
    assert len(topics) == 20
    assert all(len(t) <= 60 for t in entry(topics=["y" * 500])["topics"])


@pytest.mark.parametrize("value", [3, ["ok", 3], {"a": 1}, ("a", "b")])
def test_tags_must_be_words(value: Any) -> None:
    error = refused({**MINIMAL, "topics": value})
    assert (error.field, str(error)) == ("topics", "Topic tags must be a list of words.")


def test_a_required_multi_field_of_blank_tags_is_still_missing() -> None:
    dataset = Dataset("Desk", (Field("tags", "Tags", "multi", required=True),))
    for blank in ([" "], ",", [], " , "):
        assert refused({"tags": blank}, dataset).field == "tags"
    assert validate_entry(dataset, {"tags": "a, A"}) == {"tags": ["a"]}


def test_an_unknown_field_is_refused_by_name() -> None:
    error = refused({**MINIMAL, "mood": "happy"})
    assert error.field == "mood"
    assert str(error) == "Unknown field 'mood' in dataset Chat."


def test_text_is_stripped_and_bounded() -> None:
    assert entry(answer_summary="  Pointed to the census tables.  ")["answer_summary"] == \
        "Pointed to the census tables."
    assert entry(answer_summary="x" * 2000)["answer_summary"] == "x" * 2000
    error = refused({**MINIMAL, "answer_summary": "x" * 2001})
    assert error.field == "answer_summary"
    assert str(error) == "Answer summary is 2001 characters; the limit is 2000."
    assert refused({**MINIMAL, "answer_summary": 42}).field == "answer_summary"


def test_number_fields_without_bounds_take_any_whole_number() -> None:
    dataset = Dataset("Desk", (Field("minutes", "Minutes", "number"),))
    assert validate_entry(dataset, {"minutes": "-12"}) == {"minutes": -12}
    error = refused({"minutes": "1.5"}, dataset)
    assert str(error) == "Minutes must be a whole number."


def test_the_cleaned_entry_validates_again_unchanged() -> None:
    once = entry(question_type=" Policy ", read_scale="5", topics="a,b,A", patron_type="STAFF",
                 answer_summary=" done ")
    assert validate_entry(CHAT_DATASET, once) == once


def test_datasets_round_trip_over_the_wire() -> None:
    custom = Dataset("Desk stats", (
        Field("kind", "Kind of question", "choice", required=True, options=("how", "what")),
        Field("effort", "Effort", "scale", min=0, max=10, descriptions=(("0", "none"), ("10", "all day"))),
        Field("notes", "Notes", "text", max_length=99),
        Field("count", "Count", "number"),
        Field("tags", "Tags", "multi"),
    ))
    for dataset in (CHAT_DATASET, custom, Dataset("Empty")):
        wire = json.loads(json.dumps(dataset.to_wire()))
        assert Dataset.from_wire(wire) == dataset
    wire = CHAT_DATASET.to_wire()
    assert wire["name"] == "Chat"
    assert wire["fields"][1]["descriptions"] == READ_SCALE
    assert wire["fields"][0]["options"][:2] == ["directional", "informational"]


def test_a_field_from_the_wire_fills_in_what_is_missing() -> None:
    assert Field.from_wire({"name": "x", "kind": "text"}) == Field("x", "x", "text")
