"""The sanitiser makes patron text inert: no escape sequences, no controls, no bidi tricks.

Every string a patron could send goes through `clean`/`clean_name` before it reaches the
terminal, so these invariants are what stands between a hostile patron and a librarian's
screen (title, clipboard, cursor) and eyes (spoofed or reordered text).
"""

from __future__ import annotations

import re

import pytest
from hostile import HOSTILE, LEGIT
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from libchat_tui.sanitize import clean, clean_name, to_text

C1 = re.compile(r"[\x80-\x9f]")
RAW_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
C0_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # tab is expanded, so it is gone too
C0_ANY = re.compile(r"[\x00-\x1f\x7f]")


def assert_inert(out: str, *, one_line: bool) -> None:
    assert "\x1b" not in out
    assert not C1.search(out), f"C1 control left in {out[:80]!r}"
    assert not RAW_BIDI.search(out), f"raw bidi control left in {out[:80]!r}"
    assert not (C0_ANY if one_line else C0_BUT_NEWLINE).search(out), f"C0 control left in {out[:80]!r}"


def short(text: str) -> str:
    return repr(text[:30])


def test_the_hostile_list_covers_enough() -> None:
    assert len(HOSTILE) >= 45
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("text", HOSTILE, ids=short)
def test_clean_leaves_nothing_a_terminal_would_act_on(text: str) -> None:
    assert_inert(clean(text), one_line=False)
    assert_inert(clean(text, single_line=True), one_line=True)
    assert "\n" not in clean(text, single_line=True)


@pytest.mark.parametrize("text", HOSTILE, ids=short)
def test_clean_name_is_one_inert_line(text: str) -> None:
    name = clean_name(text)
    assert_inert(name, one_line=True)
    assert name == name.strip() and "  " not in name
    assert 0 < len(name) <= 60


@pytest.mark.parametrize("text", HOSTILE, ids=short)
def test_cleaning_twice_changes_nothing(text: str) -> None:
    once = clean(text)
    assert clean(once) == once
    line = clean(text, single_line=True)
    assert clean(line, single_line=True) == line
    short = clean(text, max_len=40)
    assert clean(short, max_len=40) == short
    name = clean_name(text)
    assert clean_name(name) == name


@pytest.mark.parametrize("text", LEGIT, ids=short)
def test_legitimate_text_survives_unchanged(text: str) -> None:
    assert clean(text) == text
    assert to_text(text).plain == text
    if "\n" not in text:
        assert clean(text, single_line=True) == text
        assert clean_name(text, max_len=None) == text


def test_terminal_sequences_are_removed_whole_and_the_text_around_them_kept() -> None:
    assert clean("\x1b[31mred\x1b[0m text") == "red text"
    assert clean("before\x1b]0;pwned\x07after") == "beforeafter"
    assert clean("a\x1b]52;c;ZXZpbA==\x1b\\b") == "ab"
    assert clean("\x1b]8;;https://evil/\x1b\\click\x1b]8;;\x1b\\") == "click"
    assert clean("x\x9b2Jy\x9d0;title\x9cz") == "xyz"
    assert clean("one\r\ntwo") == "one\ntwo"
    assert clean("a\tb") == "a    b"


def test_bidi_and_invisible_characters_are_made_visible() -> None:
    assert clean("file\u202egnp.exe") == "file⟨U+202E⟩gnp.exe"
    assert clean_name("Ad\u200bmin") == "Ad⟨ZWSP⟩min"
    assert clean_name("  \x1b[2J \u200b ").startswith("⟨ZWSP⟩")
    assert clean_name("\x1b[2J") == "(no name)"


def test_max_len_bounds_the_text_with_an_ellipsis() -> None:
    assert clean("A" * 10_000, max_len=100) == "A" * 99 + "…"
    assert len(clean_name("B" * 10_000)) == 60


@pytest.mark.parametrize("markup", [t for t in HOSTILE if "[" in t and "\x1b" not in t], ids=short)
def test_to_text_never_interprets_markup(markup: str) -> None:
    text = to_text(markup)
    assert text.plain == clean(markup)
    assert text.spans == []


def test_to_text_of_bold_markup_is_the_literal_brackets() -> None:
    text = to_text("[bold]x[/]", style="italic")
    assert text.plain == "[bold]x[/]"
    assert text.spans == []
    assert str(text.style) == "italic"
    console = Console(width=40, record=True, force_terminal=True, color_system=None)
    console.print(to_text("[@click=app.quit]click[/] \x1b]0;t\x07"))
    assert console.export_text().strip() == "[@click=app.quit]click[/]"


def test_to_text_single_line() -> None:
    assert to_text("a\nb\x1b[2J", single_line=True).plain == "a b"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
       | st.lists(st.sampled_from([*HOSTILE[:50], "\x1b", "\x9b", "\x9d", "\x07", "\\", "[", "]", "a", "\n",
                                   "\u202e", "\u200b", "\x1b[", "\x1b]", "\x9c"]), max_size=8).map("".join))
def test_any_text_comes_out_inert_and_stable(text: str) -> None:
    out = clean(text)
    assert_inert(out, one_line=False)
    assert clean(out) == out
    line = clean(text, single_line=True)
    assert_inert(line, one_line=True)
    assert clean(line, single_line=True) == line
    name = clean_name(text)
    assert_inert(name, one_line=True)
    assert clean_name(name) == name
    assert to_text(text).spans == []
