"""Plain mode's team-desk commands: presence, colleagues, departments and transfer.

The desk commands the full console sends from ui/team.py (f9, d, ctrl+g): `presence`,
`monitor`, `transfer`, `answer_transfer` and `withdraw_transfer`. The domain's
`refusal()` says first whether this librarian may transfer, answer or withdraw; the desk
has the last word, and its reason is printed as sent. How an offer ends (taken, declined,
withdrawn, timed out) is told by the event lines (events.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain import Act, Chat, ChatState, refusal
from ..sanitize import clean_name
from .commands import Command
from .events import one_line, patron
from .session import Refused, Session


def refused_line(chat: Chat, act: Act, s: Session, hints: dict[str, str] | None = None) -> None:
    """Raise the domain's refusal, if any, as one line (with what to do, where we know it)."""
    refused = refusal(chat, act, s.librarian_id)
    if refused is None:
        return
    hint = (hints or {}).get(refused.code, "")
    if not hint and chat.state is ChatState.WAITING and act is not Act.DISMISS:
        hint = f"/accept {chat.id} first"
    message = refused.message.rstrip(".")
    raise Refused(f"{message}; {hint}." if hint else f"{message}.")


# --- presence --------------------------------------------------------------------------


async def away(s: Session, _cmd: Command) -> None:
    await _presence(s, "away")


async def online(s: Session, _cmd: Command) -> None:
    await _presence(s, "online")


async def _presence(s: Session, state: str) -> None:
    if (state == "away") == s.away:
        other = "/online" if s.away else "/away"
        s.console.line(f"You are already {state}; {other} changes it.")
        return
    s.command()
    s.set_presence(state)  # kept for the next hello too, so a reconnect keeps it

    def done(result: dict[str, Any]) -> None:
        s.model.librarians = list(result.get("librarians") or s.model.librarians)

    if s.away:
        s.console.line("You are away: new chats are still read out but do not ring the bell, and "
                       "colleagues see you away. /online comes back.")
    else:
        s.console.line("You are online: new chats ring the bell again.")
    await s.submit("presence", f"setting you {state}", done=done, state=state)


async def team(s: Session, _cmd: Command) -> None:
    roster = s.narrator.roster or {}
    me = "away" if s.away else "online"
    others = [(name, state) for lid, (name, state) in roster.items() if lid != s.librarian_id]
    if not others:
        s.console.line(f"No colleague is on the desk; you are {me}.")
    else:
        listed = ", ".join(f"{clean_name(name, 60)} {state}" for name, state in others)
        s.console.line(f"{len(others)} colleague{'s' * (len(others) != 1)} on the desk: {listed}; "
                       f"you are {me}.")
    if me == "away" and all(state != "online" for _, state in others):
        s.console.line("Nobody is online: patrons are offered to leave a ticket instead of chatting.")


# --- departments -----------------------------------------------------------------------


async def departments(s: Session, _cmd: Command) -> None:
    names = s.model.departments
    if len(names) <= 1:
        s.console.line(_one_department(s))
        return
    s.console.line(f"{len(names)} departments; you take the waiting chats of the ones you monitor:")
    for number, name in enumerate(names, 1):
        waiting = sum(1 for c in s.model.chats.values()
                      if c.state is ChatState.WAITING and c.department == name)
        mark = "monitored" if name in s.model.monitor else "not monitored"
        s.console.line(f"{number} {one_line(name)}: {mark}, {waiting} waiting")
    s.console.line("/monitor 1, 2 (numbers or names, or all) chooses the ones you monitor.")


def _one_department(s: Session) -> str:
    names = s.model.departments
    if not names:
        return "This desk has no departments: every waiting chat is yours to take."
    return f"This desk has one department, {one_line(names[0])}: every waiting chat is yours to take."


def chosen_departments(typed: str, names: list[str]) -> list[str]:
    """`1, 3`, `1 3`, `Law library, general`, `law` or `all` as department names, in the
    desk's order; raises Refused naming what is not a department."""
    if typed.strip().lower() == "all":
        return list(names)
    parts = [part.strip() for part in typed.split(",") if part.strip()]
    if len(parts) == 1 and all(word.isdigit() for word in parts[0].split()):
        parts = parts[0].split()
    chosen: set[str] = set()
    listed = ", ".join(f"{i} {one_line(n)}" for i, n in enumerate(names, 1))
    for part in parts:
        if part.isdigit() and 1 <= int(part) <= len(names):
            chosen.add(names[int(part) - 1])
            continue
        found = [n for n in names if n.casefold() == part.casefold()] or \
                [n for n in names if n.casefold().startswith(part.casefold())]
        if len(found) != 1:
            what = "could be several" if found else "is not a department"
            raise Refused(f"'{one_line(part)[:60]}' {what}; the desk has {listed}.")
        chosen.add(found[0])
    if not chosen:
        raise Refused("Name at least one department, like /monitor 1 or /monitor all.")
    return [n for n in names if n in chosen]


async def monitor(s: Session, cmd: Command) -> None:
    names = s.model.departments
    if len(names) <= 1:
        raise Refused(f"{_one_department(s).rstrip('.')}; there is nothing to choose.")
    typed = cmd.text
    if not typed:
        listed = ", ".join(f"{i} {one_line(n)}" for i, n in enumerate(names, 1))
        now = ", ".join(one_line(n) for n in s.model.monitor) or "none"
        typed = await s.ask(f"Departments to monitor: {listed}. Type numbers or names separated by "
                            f"commas, or all. Enter keeps {now}.")
        if not typed:
            s.console.line(f"Nothing changed: you monitor {now}.")
            return
    chosen = chosen_departments(typed, names)

    def done(result: dict[str, Any]) -> None:
        s.model.monitor = list(result.get("monitor") or chosen)
        elsewhere = s.model.waiting_elsewhere()
        more = f"; {elsewhere} chats wait in the others" if elsewhere else ""
        s.console.line(f"You monitor {', '.join(one_line(n) for n in s.model.monitor)}: their waiting "
                       f"chats are yours to take, the others' are counted, not listed{more}.")

    await s.submit("monitor", "the departments you monitor", done=done, departments=chosen)


# --- transfer --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where a chat can go: a colleague on the desk (they must take it) or a department."""

    name: str
    librarian_id: str = ""  # empty for a department
    state: str = ""

    @property
    def said(self) -> str:
        if self.librarian_id:
            return f"{clean_name(self.name, 60)} ({self.state}; they must take it)"
        return f"{one_line(self.name)} (department: first in its line)"


def targets(s: Session) -> list[Target]:
    colleagues = [Target(name, lid, state) for lid, (name, state) in (s.narrator.roster or {}).items()
                  if lid != s.librarian_id]
    return colleagues + [Target(name) for name in s.model.departments]


def find_target(s: Session, typed: str) -> Target:
    """The colleague or department `typed` names: the whole name, else the start of one.
    `colleague …` or `department …` first says which, when a name is both."""
    words = typed.split()
    kind = words[0].lower() if words and words[0].lower() in ("colleague", "department") else ""
    wanted = " ".join(words[1:] if kind else words).casefold()
    me = (s.narrator.roster or {}).get(s.librarian_id)
    if me is not None and me[0].casefold() == wanted:
        raise Refused("That is you: the chat is already yours.")
    options = [t for t in targets(s) if not kind or (kind == "colleague") == bool(t.librarian_id)]
    found = [t for t in options if t.name.casefold() == wanted] or \
            [t for t in options if t.name.casefold().startswith(wanted)]
    if not found:
        raise Refused(f"Nobody called '{one_line(typed)[:60]}' is on the desk and no department has that "
                      "name; /team lists colleagues, /departments the departments.")
    if len(found) > 1:
        names = " or ".join(t.said for t in found[:4])
        raise Refused(f"'{one_line(typed)[:60]}' could be {names}; type more of the name (or put "
                      "colleague or department before it).")
    return found[0]


async def ask_target(s: Session, chat: Chat) -> Target:
    options = targets(s)
    if not options:
        raise Refused("No colleague is on the desk and the desk has no departments to send it to.")
    listed = "; ".join(f"{i} {t.said}" for i, t in enumerate(options, 1))
    while True:
        answer = await s.ask(f"Transfer chat {chat.id} with {patron(chat)} to: {listed}. Type a number "
                             "or a name.")
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return options[int(answer) - 1]
        if answer:
            try:
                return find_target(s, answer)
            except Refused as exc:
                s.console.line(str(exc), "error")
                continue
        s.console.line(f"Type a number from 1 to {len(options)}, or /cancel.", "error")


async def transfer(s: Session, cmd: Command) -> None:
    chat = s.chat(cmd.chat, "transfer")
    refused_line(chat, Act.TRANSFER, s, {"transfer_pending": f"type /withdraw {chat.id}"})
    if cmd.text:
        target, note = find_target(s, cmd.text), cmd.detail
    else:
        target = await ask_target(s, chat)
        note = await s.ask("Note for whoever takes it, one line (internal: never sent to the patron). "
                           "Enter for none.")
    if target.librarian_id:
        await s.submit("transfer", f"offering chat {chat.id} to {clean_name(target.name, 60)}",
                       chat_id=chat.id, to_librarian=target.librarian_id, note=note)
    else:
        await s.submit("transfer", f"sending chat {chat.id} to {one_line(target.name)}", chat_id=chat.id,
                       to_department=target.name, note=note)


def _offered(s: Session, number: int | None, command: str, *, to_me: bool) -> Chat:
    """The chat an answer or a withdrawal is about: the number given, else the only one on
    offer (to me, or from me), else the current chat."""
    if number is not None:
        return s.chat(number, command)
    me = s.librarian_id
    offered = [c for c in s.model.ordered() if c.transfer is not None
               and (c.transfer.to_id if to_me else c.transfer.from_id) == me]
    if len(offered) == 1:
        return offered[0]
    if len(offered) > 1:
        numbers = ", ".join(str(c.id) for c in offered)
        raise Refused(f"Chats {numbers} are on offer; type the number, like /{command} {offered[0].id}.")
    if s.current is None:
        raise Refused("No chat is offered to you now." if to_me else "None of your chats is on offer now.")
    return s.chat(None, command)


async def take(s: Session, cmd: Command) -> None:
    chat = _offered(s, cmd.chat, "take", to_me=True)
    refused_line(chat, Act.ANSWER_TRANSFER, s)

    def taken(_result: dict[str, Any]) -> None:
        s.make_current(chat)
        s.console.line(f"Now in chat {chat.id} with {patron(chat)}; what you type goes to them.")

    await s.submit("answer_transfer", f"taking chat {chat.id}", done=taken, chat_id=chat.id, accept=True)


async def decline(s: Session, cmd: Command) -> None:
    chat = _offered(s, cmd.chat, "decline", to_me=True)
    refused_line(chat, Act.ANSWER_TRANSFER, s)
    await s.submit("answer_transfer", f"declining chat {chat.id}", chat_id=chat.id, accept=False)


async def withdraw(s: Session, cmd: Command) -> None:
    chat = _offered(s, cmd.chat, "withdraw", to_me=False)
    refused_line(chat, Act.WITHDRAW_TRANSFER, s)
    await s.submit("withdraw_transfer", f"withdrawing the offer of chat {chat.id}", chat_id=chat.id)
