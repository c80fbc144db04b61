"""What each plain-mode command does: the same desk commands the full console sends.

One function per command, dispatched by `run` through `HANDLERS` (whose keys are the
command registry's, `commands.SPECS`; a test holds them together). The chat commands
live here; the team desk's in team.py, dismiss, block and missed chats in moderation.py,
canned messages in canned.py, the patron panel in patron.py, the after-chat forms in
forms.py. The domain answers whether a chat may be accepted, ended, closed, transferred,
dismissed or blocked, so a refusal is explained before the desk is asked; the desk
still has the last word and its reason is printed as sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from ..client import CommandError
from ..domain import Act, Chat, ChatState, Message, Note, Sender, refusal
from ..sanitize import clean, clean_name
from . import canned, forms, moderation, team
from .commands import Command, help_lines
from .events import duration, hm, one_line, patron
from .patron import edit_patron, patron_info
from .session import Refused, Session

Handler = Callable[[Session, Command], Awaitable[None]]


def may(session: Session, chat: Chat, act: Act) -> bool:
    """The domain's one answer to "may I do this now?"."""
    return refusal(chat, act, session.librarian_id) is None


def mine(session: Session, chat: Chat) -> bool:
    return chat.owner is not None and chat.owner.id == session.librarian_id


def make_current(session: Session, chat: Chat) -> None:
    session.make_current(chat)


async def say(s: Session, cmd: Command) -> None:
    if s.current is None:
        raise Refused("No current chat, so nothing was sent: /accept a waiting chat or /switch N first.")
    chat = s.chat(None, "switch")
    refused = refusal(chat, Act.SEND, s.librarian_id)
    if refused is not None:
        raise canned.not_sent(chat, refused)
    text, key = cmd.text, f"message:{chat.id}"

    def give_back(_exc: CommandError) -> None:
        s.drafts.set(key, text)  # refused: the line comes back at the next prompt

    await s.submit("send", f"your line to chat {chat.id}", refused=give_back, chat_id=chat.id, text=text)


async def accept(s: Session, cmd: Command) -> None:
    if cmd.chat is None:
        chat = s.model.next_waiting()
        if chat is None:
            raise Refused("No chats are waiting; new ones are read out as they arrive.")
    else:
        chat = s.chat(cmd.chat, "accept")
    if not may(s, chat, Act.ACCEPT):
        if mine(s, chat):
            make_current(s, chat)
            s.console.line(f"Chat {chat.id} is already yours; it is now the current chat.")
            return
        owner = s.narrator.who(chat.owner) if chat.owner else "nobody"
        raise Refused(f"Chat {chat.id} is {chat.state.value} (with {owner}), not waiting; "
                      f"/transcript {chat.id} reads it.")

    def accepted(_result: dict[str, Any]) -> None:
        make_current(s, chat)
        s.console.line(f"Now in chat {chat.id} with {patron(chat)}; what you type goes to them.")

    await s.submit("accept", f"accepting chat {chat.id}", done=accepted, chat_id=chat.id)


async def next_chat(s: Session, _cmd: Command) -> None:
    for chat in s.model.ordered():
        if mine(s, chat) and s.model.unread.get(chat.id) and chat.id != s.current:
            await switch(s, Command("switch", chat=chat.id))
            return
    if s.model.next_waiting() is None:
        raise Refused("Nothing needs you: no unread lines in your chats and no chats waiting.")
    await accept(s, Command("accept"))


async def switch(s: Session, cmd: Command) -> None:
    chat = s.chat(cmd.chat, "switch")
    unread = s.model.unread.get(chat.id, 0)
    make_current(s, chat)
    extra = f"; {unread} new lines were read out above" if unread else ""
    s.console.line(f"Now in chat {chat.id} with {patron(chat)}, {chat.state.value}{extra}.")


async def end(s: Session, cmd: Command) -> None:
    chat = s.chat(cmd.chat, "end")
    if not may(s, chat, Act.END):
        if chat.state in (ChatState.ENDED, ChatState.DISCONNECTED):
            raise Refused(f"Chat {chat.id} has already ended; /close {chat.id} takes it off the desk.")
        if chat.state is ChatState.WAITING:
            raise Refused(f"Chat {chat.id} is waiting; /accept {chat.id} it first.")
        raise Refused(f"Chat {chat.id} is {s.narrator.who(chat.owner)}'s; only they can end it.")
    if await s.confirm(f"End chat {chat.id} with {patron(chat)}?"):
        await s.submit("end", f"ending chat {chat.id}", chat_id=chat.id)
    else:
        s.console.line(f"Chat {chat.id} goes on.")


async def close(s: Session, cmd: Command) -> None:
    chat = s.chat(cmd.chat, "close")
    if not may(s, chat, Act.CLOSE):
        raise Refused(f"Chat {chat.id} is {chat.state.value}; only an ended or disconnected chat can be "
                      f"closed, so /end {chat.id} first.")
    await s.submit("close", f"closing chat {chat.id}", chat_id=chat.id)


async def note(s: Session, cmd: Command) -> None:
    chat = s.chat(None, "switch")
    text = cmd.text or await s.ask(f"Internal note for chat {chat.id}, one line, never sent to the "
                                   "patron (/cancel to stop):")
    if not text.strip():
        raise Refused("The note is empty, so nothing was saved; type /note and the text.")
    await s.submit("note", f"the note on chat {chat.id}", chat_id=chat.id, text=text)


async def transcript(s: Session, cmd: Command) -> None:
    chat_id = cmd.chat if cmd.chat is not None else s.current
    if chat_id is None:
        raise Refused("No current chat: type /transcript 12 for chat 12.")
    data = await s.request("transcript", chat_id=chat_id)
    if chat_id in s.model.chats:
        entries = s.model.load_transcript(data)
    else:
        entries = sorted([*map(Message.from_wire, data["messages"]), *map(Note.from_wire, data["notes"])],
                         key=lambda e: (e.at, isinstance(e, Note), e.id))
    name = clean_name(str(data["chat"]["patron"]["name"]), 60)
    shown = entries[-cmd.last:] if cmd.last else entries
    part = f", the last {len(shown)}" if cmd.last else ""
    s.console.line(f"Transcript of chat {chat_id} with {name}, {len(entries)} lines{part}:")
    for entry in shown:
        s.console.line(entry_line(s, entry, name))
    s.console.line(f"End of the transcript of chat {chat_id}.")


def entry_line(s: Session, entry: Message | Note, name: str) -> str:
    text = one_line(entry.text)
    if isinstance(entry, Note):
        who = "you" if entry.librarian_id == s.librarian_id else clean_name(entry.author, 60)
        return f"{hm(entry.at)} internal note by {who}: {text}"
    if entry.sender is Sender.PATRON:
        return f"{hm(entry.at)} {name}: {text}"
    if entry.sender is Sender.SYSTEM:
        return f"{hm(entry.at)} desk: {text}"
    who = "you" if entry.librarian_id == s.librarian_id else clean_name(entry.author, 60)
    return f"{hm(entry.at)} {who}: {text}"


async def list_chats(s: Session, _cmd: Command) -> None:
    chats = s.model.listed()  # as the full console lists them: not the waiting chats of others' departments
    elsewhere = s.model.waiting_elsewhere()
    if not chats:
        s.console.line("No chats on the desk." if not elsewhere else
                       f"No chats for you; {elsewhere} wait in departments you do not monitor "
                       "(/departments).")
        return
    s.console.line(f"{len(chats)} chats: {s.narrator.summary()}.")
    for chat in chats:
        s.console.line(s.narrator.describe(chat, s.current))


async def who(s: Session, _cmd: Command) -> None:
    if s.current is not None and s.current in s.model.chats:
        chat = s.model.chats[s.current]
        email = clean(chat.patron_email, single_line=True) if chat.patron_email else "no e-mail given"
        s.console.line(f"Chat {chat.id}: {patron(chat)}, {email}, {chat.state.value}, asked at "
                       f"{hm(chat.created_at)}: {one_line(chat.question)}")
    else:
        s.console.line("No current chat.")
    presence = "away" if s.away else "online"
    state = s.status.state if s.status.state != "online" else "connected"
    queued = s.client.queued if s.client else 0
    extra = f", {queued} commands queued" if queued else ""
    s.console.line(f"You are {clean_name(s.name, 60)}, {presence}, {state} to the desk at {s.url}{extra}.")
    others: dict[str, list[int]] = {}
    for chat in s.model.ordered():
        if chat.owner is not None and not mine(s, chat) and chat.state is not ChatState.WAITING:
            others.setdefault(s.narrator.who(chat.owner), []).append(chat.id)
    if not others:
        s.console.line("No other librarian has a chat on the desk.")
    for name, ids in others.items():
        s.console.line(f"{name} has chat{'s' * (len(ids) > 1)} {', '.join(map(str, ids))}.")


async def tickets(s: Session, cmd: Command) -> None:
    data = await s.request("tickets", status="all" if cmd.chat is not None else (cmd.text or "open"))
    found = data.get("tickets", [])
    if cmd.chat is not None:
        ticket = next((t for t in found if int(t["id"]) == cmd.chat), None)
        if ticket is None:
            raise Refused(f"There is no ticket {cmd.chat}; /tickets all lists every ticket.")
        for line in forms.ticket_lines(ticket):
            s.console.line(line)
        return
    if not found:
        s.console.line(f"No {cmd.text or 'open'} tickets.".replace("No all", "No"))
        return
    s.console.line(f"{len(found)} tickets; /tickets T reads one:")
    for t in found:
        s.console.line(f"Ticket {t['id']}, {t['status']}, chat {t['chat_id']}, to "
                       f"{clean_name(str(t['name']), 60)} <{one_line(str(t['email']))}>: "
                       f"{one_line(str(t['subject']))}")


async def close_ticket(s: Session, cmd: Command) -> None:
    await s.submit("close_ticket", f"closing ticket {cmd.chat}", ticket_id=cmd.chat)


async def history(s: Session, cmd: Command) -> None:
    data = await s.request("history", query=cmd.text, limit=20)
    chats = [Chat.from_wire(c) for c in data.get("chats", [])]
    what = f"match '{one_line(cmd.text)[:60]}'" if cmd.text else "are the most recent"
    if not chats:
        s.console.line(f"No closed chats {what.replace('are the', 'are')}." if cmd.text else
                       "No closed chats yet.")
        return
    s.console.line(f"{len(chats)} closed chats {what}; /transcript N reads one:")
    for chat in chats:
        closed = chat.closed_at or chat.last_activity
        s.console.line(f"{chat.id} {patron(chat)}, closed {closed.astimezone():%Y-%m-%d} {hm(closed)}: "
                       f"{one_line(chat.question)}")


async def stats(s: Session, cmd: Command) -> None:
    today = date.today()
    day = {"": today, "today": today, "yesterday": today - timedelta(days=1)}.get(cmd.text)
    if day is None:
        try:
            day = date.fromisoformat(cmd.text)
        except ValueError:
            raise Refused(f"{cmd.text} is not a day of the calendar; type it like 2026-11-28.") from None
    offset = datetime.combine(day, time(12)).astimezone().utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    r = await s.request("stats", day=day.isoformat(), utc_offset_minutes=minutes)
    wait, length = r.get("median_wait_seconds"), r.get("median_duration_seconds")
    s.console.line(f"{day.isoformat()}: {r['chats']} chats, {r['answered']} answered, {r['missed']} "
                   f"missed; median wait {'none' if wait is None else duration(wait)}, median length "
                   f"{'none' if length is None else duration(length)}.")
    levels = r.get("read_scale") or {}
    if any(levels.values()):
        s.console.line("READ scale: " + ", ".join(f"level {k} {v}" for k, v in levels.items()) + ".")


async def show_help(s: Session, cmd: Command) -> None:
    for line in help_lines(cmd.text):
        s.console.line(line)


async def quit_(_s: Session, _cmd: Command) -> None:
    """Never reached: the prompt loop leaves on /quit before dispatching (kept for the registry)."""


HANDLERS: dict[str, Handler] = {
    "say": say, "accept": accept, "next": next_chat, "switch": switch, "end": end, "close": close,
    "note": note, "transcript": transcript, "list": list_chats, "who": who,
    "tickets": tickets, "closeticket": close_ticket, "history": history, "stats": stats,
    "help": show_help, "quit": quit_, "ticket": forms.ticket, "ra": forms.analytics, "export": forms.export,
    # the team desk
    "away": team.away, "online": team.online, "team": team.team, "departments": team.departments,
    "monitor": team.monitor, "transfer": team.transfer, "take": team.take, "decline": team.decline,
    "withdraw": team.withdraw,
    # patrons, dismiss, block, missed chats
    "patron": patron_info, "edit-patron": edit_patron, "dismiss": moderation.dismiss,
    "block": moderation.block, "blocks": moderation.blocks, "unblock": moderation.unblock,
    "missed": moderation.missed, "close-missed": moderation.close_missed,
    # canned messages
    "canned": canned.canned, "insert": canned.insert, "save-canned": canned.save_canned,
    "delete-canned": canned.delete_canned,
}


async def run(session: Session, command: Command) -> None:
    await HANDLERS[command.name](session, command)
