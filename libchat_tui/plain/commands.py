"""What the librarian types in plain mode: commands, their help, and tab completion.

Pure functions, no I/O. A line that does not start with ``/`` is a message to the
current chat (``//`` sends a line that starts with a slash). `parse` turns a line into a
`Command` or raises `UsageError`, whose message is one sentence saying what to type.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Spec:
    """One command as /help shows it."""

    usage: str
    help: str
    chat_arg: bool = False  # takes an optional chat number


SPECS: dict[str, Spec] = {
    "accept": Spec("/accept [N]", "accept chat N, or the chat waiting longest; it becomes the current chat",
                   chat_arg=True),
    "next": Spec("/next", "go to the next chat that needs you: one of yours with unread lines, "
                          "else accept the chat waiting longest"),
    "switch": Spec("/switch N", "make chat N the current chat (plain text goes to it)", chat_arg=True),
    "end": Spec("/end [N]", "end the current chat (or chat N), after asking", chat_arg=True),
    "close": Spec("/close [N]", "close an ended or disconnected chat: it leaves the desk", chat_arg=True),
    "note": Spec("/note text", "save an internal note on the current chat (never sent to the patron)"),
    "ticket": Spec("/ticket [N]", "create a follow-up ticket from the chat; asks name, e-mail, subject",
                   chat_arg=True),
    "ra": Spec("/ra [N]", "add the chat to Reference Analytics; asks each field in turn", chat_arg=True),
    "transcript": Spec("/transcript [N] [last K]", "read the chat's transcript, or only its last K lines",
                       chat_arg=True),
    "export": Spec("/export [N]", "write the chat's transcript to a file", chat_arg=True),
    "list": Spec("/list", "every chat on the desk, one line each"),
    "who": Spec("/who", "who you are talking to, who you are, and who else has chats"),
    "away": Spec("/away", "switch between away (no new-chat bell) and online"),
    "tickets": Spec("/tickets [open|closed|all|T]", "list tickets, or read ticket T in full"),
    "closeticket": Spec("/closeticket T", "close ticket T"),
    "history": Spec("/history [words]", "search closed chats (names, transcript, notes, tickets, RA)"),
    "stats": Spec("/stats [YYYY-MM-DD]", "the desk's figures for today or for a day"),
    "help": Spec("/help [command]", "this list, or one command"),
    "quit": Spec("/quit", "leave plain mode (Ctrl-D too); queued lines are kept for next time"),
}

ALIASES = {"a": "accept", "n": "next", "s": "switch", "t": "transcript", "l": "list", "h": "help",
           "q": "quit", "exit": "quit", "back": "away", "?": "help"}

_NUMBER = re.compile(r"#?([0-9]{1,18})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UsageError(ValueError):
    """A line that is not a command we can run; the message says what to type instead."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed line. `name` is a key of SPECS, or `say` for a message to the current chat."""

    name: str
    chat: int | None = None
    text: str = ""
    last: int | None = None


def _chat_number(word: str, usage: str) -> int:
    found = _NUMBER.fullmatch(word)
    if found is None or int(found.group(1)) == 0:
        raise UsageError(f"'{word[:40]}' is not a chat number; type it like {usage}.")
    return int(found.group(1))


def parse(line: str) -> Command | None:
    """The command a line asks for; None for an empty line."""
    if not line.strip():
        return None
    if not line.startswith("/"):
        return Command("say", text=line)
    if line.startswith("//"):
        return Command("say", text=line[1:])
    head, _, rest = line[1:].partition(" ")
    word = head.lower()
    name = ALIASES.get(word, word)
    if name not in SPECS:
        close = difflib.get_close_matches(word, list(SPECS), n=1)
        hint = f"did you mean /{close[0]}? " if close else ""
        raise UsageError(f"There is no command /{head[:30]}; {hint}type /help for the list.")
    spec = SPECS[name]
    args = rest.split()
    if name == "note":
        return Command("note", text=rest.strip())
    if name in ("history",):
        return Command(name, text=rest.strip())
    if name == "transcript":
        return _transcript(args, spec.usage)
    if name in ("tickets", "stats", "help"):
        return _word(name, args, spec.usage)
    if name == "closeticket":
        if len(args) != 1:
            raise UsageError("Give the ticket number, like /closeticket 3.")
        return Command(name, chat=_chat_number(args[0], "/closeticket 3"))
    if spec.chat_arg:
        if name == "switch" and len(args) != 1:
            raise UsageError("Give the chat number to switch to, like /switch 12.")
        if len(args) > 1:
            raise UsageError(f"/{name} takes at most one chat number, like /{name} 12.")
        return Command(name, chat=_chat_number(args[0], f"/{name} 12") if args else None)
    if args:
        raise UsageError(f"/{name} takes nothing after it; type just /{name}.")
    return Command(name)


def _transcript(args: list[str], usage: str) -> Command:
    chat: int | None = None
    last: int | None = None
    words = list(args)
    if words and words[0].lower() != "last":
        chat = _chat_number(words.pop(0), "/transcript 12")
    if words:
        if words[0].lower() != "last" or len(words) != 2 or not words[1].isdigit() or int(words[1]) < 1:
            raise UsageError("Type it like /transcript 12 last 5, "
                             "or /transcript last 5 for the current chat.")
        last = int(words[1])
    return Command("transcript", chat=chat, last=last)


def _word(name: str, args: list[str], usage: str) -> Command:
    if len(args) > 1:
        raise UsageError(f"Type it like {usage}.")
    word = args[0] if args else ""
    if name == "tickets" and word:
        if word.lower() in ("open", "closed", "all"):
            return Command(name, text=word.lower())
        return Command(name, chat=_chat_number(word, "/tickets 3"))
    if name == "stats" and word and word.lower() not in ("today", "yesterday") and not _DAY.fullmatch(word):
        raise UsageError("Give the day like 2026-11-28 (or today, yesterday), or nothing for today.")
    if name == "help" and word:
        key = ALIASES.get(word.lstrip("/").lower(), word.lstrip("/").lower())
        if key not in SPECS:
            raise UsageError(f"There is no command /{word.lstrip('/')[:30]}; type /help for the list.")
        return Command(name, text=key)
    return Command(name, text=word.lower())


def help_lines(only: str = "") -> list[str]:
    """The command list for /help, one line per command."""
    if only:
        spec = SPECS[only]
        return [f"{spec.usage}: {spec.help}."]
    lines = ["Type a line without a slash to send it to the current chat. Commands:"]
    lines += [f"{spec.usage}: {spec.help}." for spec in SPECS.values()]
    lines.append("N is a chat number, T a ticket number. Tab completes commands and chat numbers; "
                 "up and down arrows recall earlier lines. Any question takes /cancel.")
    return lines


def complete(before: str, word: str, chats: list[int]) -> list[str]:
    """Tab completion: command names at the start of the line, chat numbers after them.

    readline adds the space after a single match itself.
    """
    if not before.strip():
        if not word.startswith("/"):
            return []
        return [f"/{name}" for name in SPECS if f"/{name}".startswith(word.lower())]
    head = before.split()[0].lstrip("/").lower()
    name = ALIASES.get(head, head)
    spec = SPECS.get(name)
    if spec is None or not spec.chat_arg or len(before.split()) > 1:
        return []
    return [str(n) for n in chats if str(n).startswith(word.lstrip("#"))]
