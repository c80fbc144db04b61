"""The one sanitiser for text that comes from patrons (names, emails, questions, messages).

Patron text is untrusted. Stored as sent; cleaned on display and export:

- terminal escape sequences (CSI, OSC such as window titles, OSC 52 clipboard writes and
  OSC 8 links, DCS/APC/PM/SOS strings, two-character ESC sequences), including their C1
  forms (``\\x9b``, ``\\x9d`` ...), are removed whole;
- remaining C0/C1 control characters and DEL are removed, except newline (and tab, which
  is expanded to spaces because tabs break cell layout);
- bidi overrides, embeddings and isolates (Trojan Source) are shown as visible
  placeholders like ``⟨U+202E⟩`` so text cannot masquerade;
- in names, zero-width characters are made visible too, and whitespace is collapsed.

Callers render the result with ``Text``/``Content`` (never markup): this module removes
what the terminal would act on; not parsing markup is the renderer's half of the job.
"""

from __future__ import annotations

import re

from rich.text import Text

# ESC- and C1-introduced sequences, removed whole. String sequences (OSC, DCS, SOS, PM, APC)
# end at BEL or ST (ESC \ or \x9c); an unterminated one runs to the end of the text.
_SEQUENCES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?          # CSI
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])                       # OSC DCS SOS PM APC
        [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|(?=\x1b)|$)
  | \x1b[\x20-\x2f]*[\x30-\x7e]?                                  # other ESC sequences
    """,
    re.VERBOSE,
)

_BIDI = [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F,
         0x061C]
_ZERO_WIDTH = {0x200B: "ZWSP", 0x200C: "ZWNJ", 0x200D: "ZWJ", 0x2060: "WJ", 0xFEFF: "BOM"}

_CONTROLS = {c: None for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A)}
_CONTROLS[0x0D] = None  # a bare carriage return would let text overwrite itself
_BASE = {**_CONTROLS, **{c: f"⟨U+{c:04X}⟩" for c in _BIDI}, 0x2028: "\n", 0x2029: "\n"}
_TEXT_TABLE = str.maketrans({**_BASE, 0x09: "    "})
_LINE_TABLE = str.maketrans({**_BASE, 0x09: " ", 0x0A: " ", 0x2028: " ", 0x2029: " "})
_NAME_TABLE = str.maketrans(
    {**_BASE, 0x09: " ", 0x0A: " ", 0x2028: " ", 0x2029: " ",
     **{c: f"⟨{n}⟩" for c, n in _ZERO_WIDTH.items()}}
)
_SPACES = re.compile(r"\s+")
_NEEDS_WORK = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")


def _trim(text: str, max_len: int | None) -> str:
    if max_len is not None and len(text) > max_len:
        return text[: max(0, max_len - 1)] + "…"
    return text


def clean(text: str, *, single_line: bool = False, max_len: int | None = None) -> str:
    """Patron text made inert for a terminal. `single_line` also flattens newlines and tabs."""
    if _NEEDS_WORK.search(text) is not None:
        if "\x1b" in text or _has_c1_introducer(text):
            text = _SEQUENCES.sub("", text)
        text = text.translate(_LINE_TABLE if single_line else _TEXT_TABLE)
    return _trim(text, max_len)


def _has_c1_introducer(text: str) -> bool:
    return any(ch in text for ch in "\x90\x98\x9b\x9d\x9e\x9f")


def clean_name(text: str, max_len: int | None = 60) -> str:
    """A patron's name (or e-mail) for a one-line slot: clean, zero-width chars visible."""
    if _NEEDS_WORK.search(text) is not None:
        if "\x1b" in text or _has_c1_introducer(text):
            text = _SEQUENCES.sub("", text)
        text = text.translate(_NAME_TABLE)
    return _trim(_SPACES.sub(" ", text).strip() or "(no name)", max_len)


def to_text(text: str, style: str = "", *, single_line: bool = False) -> Text:
    """Cleaned patron text as a rich Text: styled as a whole, never parsed as markup."""
    return Text(clean(text, single_line=single_line), style=style)
