"""Hostile and legitimate patron text, shared by the sanitiser tests and any UI test.

`HOSTILE` holds strings a patron could send to break, spoof or take over a librarian's
terminal: markup, terminal escape sequences (7- and 8-bit), control characters, bidi
tricks, invisible characters and sheer size. `LEGIT` holds real-world text that looks
unusual but must be shown exactly as typed.
"""

# ruff: noqa: RUF001  (look-alike characters are the point of this file)

from __future__ import annotations

HOSTILE: list[str] = [
    # Rich / Textual markup: must be shown literally, never interpreted.
    "[bold]x[/]",
    "[@click=app.quit]click[/]",
    "[link=https://evil]x[/link]",
    "[on red]alarm",
    "[/]",
    "[@click=app.bell]",
    "\\[escaped]",
    "[b]unclosed",
    "[red]fake[/red] [dim]librarian:[/dim] your account is locked",
    "[@click=app.push_screen('quit')]Click for help[/]",
    # ANSI SGR and cursor/screen control (CSI).
    "\x1b[31mred\x1b[0m",
    "\x1b[1;5;41mblink\x1b[m",
    "\x1b[2J",
    "\x1b[H",
    "\x1b[2J\x1b[Hscreen wiped",
    "\x1b[10;10Hmoved\x1b[K",
    "\x1b[?1049h alternate screen",
    "\x1b[?25l hidden cursor",
    "\x1b[6n",  # device status report: asks the terminal to type a reply
    "\x1b[",  # a CSI cut short at the end of the text
    # OSC: window title (BEL and ST terminated), clipboard, hyperlinks.
    "\x1b]0;pwned\x07",
    "\x1b]2;Librarian: urgent\x1b\\after",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "\x1b]0;never terminated",
    # DCS, APC, PM, SOS and plain two-character ESC sequences.
    "\x1bPq#0;2;0;0;0#1!14@\x1b\\",
    "\x1b_Gf=100;AAAA\x1b\\",
    "\x1b^privacy message\x1b\\",
    "\x1bXstart of string\x1b\\",
    "\x1bc reset",
    "\x1b7saved\x1b8",
    "\x1b(0lqqk\x1b(B",
    # 8-bit C1 forms.
    "\x9b31m",
    "\x9d0;title\x9c",
    "\x90DCS\x9c",
    "\x85next line \x84 index \x8d reverse",
    # C0 controls and DEL.
    "ding\x07ding\x07",
    "secret\x08\x08\x08\x08\x08\x08public",
    "rm -rf ~\rls -la    ",
    "line one\r\nline two\r",
    "nul\x00byte",
    "del\x7fete",
    "\x0b\x0c\x1c\x1d\x1e\x1f separators",
    "\x1a\x1b\x18\x1b\x1b",
    "tab\tinside\there",
    # Bidi (Trojan Source), isolates, marks and invisible characters.
    "access = \u202euser\u202c admin",
    "file\u202egnp.exe",
    "\u202a\u202b\u202c\u202d",
    "\u2066isolate\u2069 \u2067rtl\u2069 \u2068first\u2069",
    "\u200e\u200f\u061c marks",
    "zero\u200bwidth\u200cjoin\u200dner\u2060word\ufeffbom",
    "Ad\u200bmin",
    "\u2028line separator\u2029paragraph",
    # Size and rendering stress.
    "A" * 10_000,
    "Z" + "\u0336\u0353\u0489\u0310\u0300\u0301" * 400,
    "😀" * 300 + "中文" * 300,
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
    # Full-text-search syntax: must not break search or the store.
    '"unbalanced quote',
    "title* NEAR(a b, 3) -not OR AND",
    "'; DROP TABLE chats; --",
    # Combinations.
    "\x1b[31m[bold]\u202e\x07mixed\x00\x9b2J[/]",
    "[link=\x1b]8;;https://x\x07]x[/link]",
]

LEGIT: list[str] = [
    "Where can I find the 1984 census data?",
    "Crème brûlée, naïve façade, Ångström, Łódź, São Paulo",
    "图书馆几点开门？",
    "図書館の開館時間は何時ですか",
    "도서관은 몇 시에 문을 여나요?",
    "مرحبا، أحتاج مساعدة في البحث",
    "שלום, אני צריך עזרה עם מאמר",
    "Здравствуйте! Где найти учебник?",
    "Thanks! 😀👍🎉",
    "C++ & <html> & 'quotes' & \"double quotes\"",
    "see [Smith 2020] and [1], [2]",
    "Array a[0] = b[i + 1]",
    "50% off? $5 — no, €5 ~ ¥5 #tag @user",
    "Call number: QA76.73.P98 L85 2019",
    "first line\nsecond line\n\nafter a blank line",
    "x² + y² = z², ½ cup, 3 × 4 ÷ 2",
    "Café ☕ at 9:00–17:00",
]
