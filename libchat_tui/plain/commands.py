"""What the librarian types in plain mode: commands, their help, and tab completion.

Pure functions, no I/O. A line that does not start with ``/`` is a message to the
current chat (``//`` sends a line that starts with a slash). `parse` turns a line into a
`Command` or raises `UsageError`, whose message is one sentence saying what to type.
`SPECS` is the one registry of commands: /help, tab completion, the handlers
(`actions.HANDLERS`) and the table in docs/accessibility.md are all held to it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .wording import MAX_BLOCK_MINUTES, block_minutes


@dataclass(frozen=True, slots=True)
class Spec:
    """One command as /help shows it."""

    usage: str
    help: str
    chat_arg: bool = False  # takes an optional chat number first
    group: str = "Chats"
    canned_arg: bool = False  # takes a canned message's name (tab completes it)


_TEAM, _PATRON, _CANNED, _RECORDS, _CONSOLE = (
    "The team desk", "Patrons, dismiss and block", "Canned messages", "Records", "This console")

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
    "list": Spec("/list", "the chats on the desk, one line each (waiting ones only of the departments you "
                              "monitor)"),
    "missed": Spec("/missed", "list only the missed chats: patrons who left before anyone answered"),
    "close-missed": Spec("/close-missed", "close every missed chat, after asking with the count"),
    "who": Spec("/who", "who you are talking to, who you are, and who else has chats"),
    "away": Spec("/away", "set yourself away: new chats are still read out but do not ring, and "
                          "colleagues see you away", group=_TEAM),
    "online": Spec("/online", "set yourself online again: new chats ring the bell", group=_TEAM),
    "team": Spec("/team", "who is on the desk, online or away", group=_TEAM),
    "departments": Spec("/departments", "the desk's departments, which ones you monitor, and how many "
                                        "chats wait in each", group=_TEAM),
    "monitor": Spec("/monitor [D, D…|all]", "choose the departments whose waiting chats you take, by "
                                            "name or by number from /departments", group=_TEAM),
    "transfer": Spec("/transfer [N] [to WHO][: note]", "offer your chat to a colleague (they must take "
                     "it) or send it to a department, first in its line; the note is internal",
                     chat_arg=True, group=_TEAM),
    "take": Spec("/take [N]", "take the chat a colleague offers you", chat_arg=True, group=_TEAM),
    "decline": Spec("/decline [N]", "decline the chat a colleague offers you; it stays theirs",
                    chat_arg=True, group=_TEAM),
    "withdraw": Spec("/withdraw [N]", "take back your offer of a chat to a colleague", chat_arg=True,
                     group=_TEAM),
    "patron": Spec("/patron [N]", "the patron: e-mail, browser, page, department, wait, and earlier "
                                  "chats and tickets with the same e-mail", chat_arg=True, group=_PATRON),
    "edit-patron": Spec("/edit-patron [N]", "correct the patron's name or e-mail", chat_arg=True,
                        group=_PATRON),
    "dismiss": Spec("/dismiss [N] [reason]", "close a chat nobody has accepted (spam, test, abusive, "
                    "or your own words); it leaves the desk", chat_arg=True, group=_PATRON),
    "block": Spec("/block [N] [1h|1d|7d|30d] [reason]", "block the patron of your chat or of one nobody "
                  "has accepted: the chat ends and new chats from them are refused; asks first",
                  chat_arg=True, group=_PATRON),
    "blocks": Spec("/blocks", "the blocks in force, newest first", group=_PATRON),
    "unblock": Spec("/unblock B", "lift block B, after asking", group=_PATRON),
    "canned": Spec("/canned [NAME]", "list the team's canned messages, or send the one called NAME "
                                     "to the current chat", group=_CANNED, canned_arg=True),
    "insert": Spec("/insert NAME", "put a canned message at the prompt, to edit before you send it",
                   group=_CANNED, canned_arg=True),
    "save-canned": Spec("/save-canned NAME: text", "add a canned message for the whole team, or "
                        "replace the one of that name (asks first)", group=_CANNED, canned_arg=True),
    "delete-canned": Spec("/delete-canned NAME", "delete a canned message for the whole team, after "
                          "asking", group=_CANNED, canned_arg=True),
    "tickets": Spec("/tickets [open|closed|all|T]", "list tickets, or read ticket T in full",
                    group=_RECORDS),
    "closeticket": Spec("/closeticket T", "close ticket T", group=_RECORDS),
    "history": Spec("/history [words]", "search closed chats (names, transcript, notes, tickets, RA)",
                    group=_RECORDS),
    "stats": Spec("/stats [YYYY-MM-DD]", "the desk's figures for today or for a day", group=_RECORDS),
    "help": Spec("/help [command]", "this list, or one command", group=_CONSOLE),
    "quit": Spec("/quit", "leave plain mode (Ctrl-D too); queued lines are kept for next time",
                 group=_CONSOLE),
}

ALIASES = {"a": "accept", "n": "next", "s": "switch", "t": "transcript", "l": "list", "h": "help",
           "q": "quit", "exit": "quit", "back": "online", "?": "help"}

_NUMBER = re.compile(r"#?([0-9]{1,18})")
_LEADING_NUMBER = re.compile(r"#?([0-9]{1,18})(?:\s+|$)")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UsageError(ValueError):
    """A line that is not a command we can run; the message says what to type instead."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed line. `name` is a key of SPECS, or `say` for a message to the current chat.

    `chat` is the chat (or ticket, or block) number; `text` the command's words (a message,
    a reason, a canned message's name, where a chat goes); `detail` what follows a colon
    (a transfer's note, a canned message's text); `minutes` a block's length.
    """

    name: str
    chat: int | None = None
    text: str = ""
    last: int | None = None
    detail: str = ""
    minutes: int | None = None
    colon: bool = False  # the line had `: …` (an empty note is still a note given)


def _chat_number(word: str, usage: str) -> int:
    found = _NUMBER.fullmatch(word)
    if found is None or int(found.group(1)) == 0:
        raise UsageError(f"'{word[:40]}' is not a chat number; type it like {usage}.")
    return int(found.group(1))


def _leading_chat(rest: str) -> tuple[int | None, str]:
    """An optional chat number first (`/block 12 1h …`), and what follows it."""
    found = _LEADING_NUMBER.match(rest.strip())
    if found is None or int(found.group(1)) == 0:
        return None, rest.strip()
    return int(found.group(1)), rest.strip()[found.end():].strip()


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
    if name in ("history", "monitor", "canned", "delete-canned"):
        return Command(name, text=" ".join(args))
    if name == "insert":
        if not args:
            raise UsageError("Give the canned message's name, like /insert hours; /canned lists them.")
        return Command(name, text=" ".join(args))
    if name == "save-canned":
        return _save_canned(rest)
    if name == "transfer":
        return _transfer(rest)
    if name == "dismiss":
        chat, reason = _leading_chat(rest)
        return Command(name, chat=chat, text=" ".join(reason.split()))
    if name == "block":
        return _block(rest)
    if name == "transcript":
        return _transcript(args, spec.usage)
    if name in ("tickets", "stats", "help"):
        return _word(name, args, spec.usage)
    if name in ("closeticket", "unblock"):
        what, example = ("ticket", "/closeticket 3") if name == "closeticket" else ("block", "/unblock 3")
        if len(args) != 1:
            raise UsageError(f"Give the {what} number, like {example}.")
        return Command(name, chat=_chat_number(args[0], example))
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


def _transfer(rest: str) -> Command:
    """`/transfer [N] [to] WHO[: note]`: WHO is a colleague or a department; asked when missing."""
    chat, rest = _leading_chat(rest)
    target, colon, note = rest.partition(":")
    words = target.split()
    if words and words[0].lower() == "to":
        words = words[1:]
    if colon and not words:
        raise UsageError("Name who takes the chat before the note, like /transfer 12 to Ben Ortiz: a note.")
    return Command("transfer", chat=chat, text=" ".join(words), detail=note.strip(), colon=bool(colon))


def _block(rest: str) -> Command:
    """`/block [N] [length] [reason]`: the length as 1h, 1d, 7d, 30d (or 90m, 2 days)."""
    chat, rest = _leading_chat(rest)
    words = rest.split()
    minutes: int | None = None
    for take in (2, 1):  # "2 days" before "2d"
        if len(words) >= take and (take == 1 or words[0].isdigit()):
            minutes = block_minutes(" ".join(words[:take]))
            if minutes is not None:
                words = words[take:]
                break
    if minutes is None and words and re.fullmatch(r"[0-9]+[a-z]*", words[0].lower()):
        raise UsageError(f"'{words[0][:20]}' is not a length of time; type it like 1h, 1d, 7d or 30d.")
    if minutes is not None and not 1 <= minutes <= MAX_BLOCK_MINUTES:
        raise UsageError("A block lasts from 1 minute to 30 days; type it like 1h, 1d, 7d or 30d.")
    return Command("block", chat=chat, minutes=minutes, text=" ".join(words))


def _save_canned(rest: str) -> Command:
    name, colon, text = rest.partition(":")
    if not name.strip():
        raise UsageError("Give the name and the text, like /save-canned hours: We open at nine.")
    return Command("save-canned", text=" ".join(name.split()), detail=text.strip(), colon=bool(colon))


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
    """The command list for /help: a heading line per group, one line per command."""
    if only:
        spec = SPECS[only]
        return [f"{spec.usage}: {spec.help}."]
    lines = ["Type a line without a slash to send it to the current chat. Commands:"]
    group = ""
    for spec in SPECS.values():
        if spec.group != group:
            group = spec.group
            lines.append(f"{group}:")
        lines.append(f"{spec.usage}: {spec.help}.")
    lines.append("N is a chat number, T a ticket number, B a block number, D a department. Tab completes "
                 "commands, chat numbers and canned names; up and down arrows recall earlier lines. "
                 "Any question takes /cancel.")
    return lines


def complete(before: str, word: str, chats: list[int], canned: list[str] | None = None) -> list[str]:
    """Tab completion: command names at the start of the line, then chat numbers or canned names.

    readline adds the space after a single match itself.
    """
    if not before.strip():
        if not word.startswith("/"):
            return []
        return [f"/{name}" for name in SPECS if f"/{name}".startswith(word.lower())]
    head = before.split()[0].lstrip("/").lower()
    name = ALIASES.get(head, head)
    spec = SPECS.get(name)
    if spec is None or len(before.split()) > 1:
        return []
    if spec.canned_arg:
        return [n for n in canned or [] if n.casefold().startswith(word.casefold())]
    if not spec.chat_arg:
        return []
    return [str(n) for n in chats if str(n).startswith(word.lstrip("#"))]
