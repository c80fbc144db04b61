"""Plain mode's commands for unwanted chats: dismiss, block, the blocks, and missed chats.

The desk commands the full console sends from ui/blocks.py (x, b, f5 then u) and
ui/missed.py (m, ctrl+l): `dismiss`, `block`, `blocks`, `unblock` and one `close` per
missed chat. The domain decides when dismiss and block apply (`Act.DISMISS`,
`Act.BLOCK`), and which missed chats may be closed (`is_missed`, `Act.CLOSE`). A
question is asked where the full console asks one: before a block (its dialog is the
question), before lifting a block, and before closing every missed chat.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..client import CommandError
from ..domain import FINISHED_STATES, Act, is_missed, parse_ts
from ..sanitize import clean_name
from ..vocabulary import DURATIONS, PRESETS, closable, dismiss_reason, missed_chats, until_text, where
from .commands import Command
from .events import one_line, patron
from .session import Refused, Session
from .team import refused_line
from .wording import (
    DEFAULT_DURATION,
    block_question,
    close_missed_outcome,
    close_missed_question,
    minutes_words,
    typed_reason,
)

#: The desk's limit on a dismiss or block reason.
REASON_CHARS = 500


# --- dismiss ---------------------------------------------------------------------------


async def dismiss(s: Session, cmd: Command) -> None:
    chat = s.chat(cmd.chat, "dismiss")
    hints: dict[str, str] = {}
    if chat.state in FINISHED_STATES:
        hints["illegal_transition"] = f"/close {chat.id} takes it off the desk"
    elif chat.owner is not None:
        hints["illegal_transition"] = (f"{s.narrator.who(chat.owner)} accepted it, and only a chat nobody "
                                       "has accepted can be dismissed")
    refused_line(chat, Act.DISMISS, s, hints)
    if cmd.text:
        preset, details = typed_reason(cmd.text)
    else:
        s.console.line(f"Dismiss chat {chat.id} from {patron(chat)}: it closes now and leaves the desk; "
                       "/history shows it as dismissed, with the reason. The patron is told the library "
                       "closed the chat. /cancel stops.")
        preset = await s.choose("Reason", list(PRESETS), default=PRESETS[0]) or PRESETS[0]
        details = await s.ask("Details, one line (optional; needed for Other). Enter for none.")
    while not dismiss_reason(preset, details):
        details = await s.ask("Say why in a few words (kept with the chat's record), or /cancel:")
    reason = dismiss_reason(preset, details)[:REASON_CHARS]
    await s.submit("dismiss", f"dismissing chat {chat.id}", chat_id=chat.id, reason=reason)


# --- block -----------------------------------------------------------------------------


async def block(s: Session, cmd: Command) -> None:
    chat = s.chat(cmd.chat, "block")
    refused_line(chat, Act.BLOCK, s)
    minutes = cmd.minutes
    if minutes is None:
        words = [w for _m, w in DURATIONS]
        chosen = await s.choose(f"Block the patron of chat {chat.id} for how long", words,
                                default=DEFAULT_DURATION)
        minutes = {w: m for m, w in DURATIONS}[chosen or DEFAULT_DURATION]
    reason = " ".join(cmd.text.split())
    while not reason:
        reason = " ".join((await s.ask("Why? One line, kept with the block: librarians see it, the patron "
                                       "does not.")).split())
    name = patron(chat)
    if not await s.confirm(block_question(name, minutes, s.narrator.now())):
        s.console.line(f"Nothing done; {name} is not blocked.")
        return

    def blocked(result: dict[str, Any]) -> None:
        held = result.get("block") or {}
        at = parse_ts(held.get("until"))
        until = "?" if at is None else until_text(at, s.narrator.now())
        s.console.line(f"Blocked {name} until {until}: new chats from {where(held)} are refused. /blocks "
                       f"lists the blocks; /unblock {held.get('id')} lifts this one.")

    await s.submit("block", f"blocking the patron of chat {chat.id} for {minutes_words(minutes)}",
                   done=blocked, chat_id=chat.id, minutes=minutes, reason=reason[:REASON_CHARS])


def block_line(held: dict[str, Any], s: Session) -> str:
    """One block in full, every piece of it cleaned."""
    at = parse_ts(held.get("until"))
    until = "?" if at is None else until_text(at, s.narrator.now())
    return (f"Block {held['id']} on {clean_name(str(held['patron_name']), 60)} (chat {held['chat_id']}): "
            f"refuses {where(held)} until {until}; blocked by {clean_name(str(held['created_by']), 60)}: "
            f"{one_line(str(held['reason']))}")


async def blocks(s: Session, _cmd: Command) -> None:
    data = await s.request("blocks")
    found = list(data.get("blocks") or [])
    if not found:
        s.console.line("No patron is blocked. /block N blocks the patron of chat N.")
        return
    s.console.line(f"{len(found)} block{'s' * (len(found) != 1)} in force, newest first; /unblock B "
                   "lifts one:")
    for held in found:
        s.console.line(block_line(held, s))
    omitted = int(data.get("omitted") or 0)
    if omitted:
        s.console.line(f"And {omitted} older blocks not listed.")


async def unblock(s: Session, cmd: Command) -> None:
    number = int(cmd.chat or 0)
    client = s.command()
    held: dict[str, Any] | None = None
    question = f"Lift block {number}? New chats from its address and browser are accepted again."
    if client.online:
        data = await s.request("blocks")
        held = next((b for b in data.get("blocks") or [] if int(b["id"]) == number), None)
        if held is None and not int(data.get("omitted") or 0):
            raise Refused(f"There is no block {number} in force; /blocks lists the blocks in force.")
    if held is not None:
        question = (f"Lift the block on {clean_name(str(held['patron_name']), 60)}? New chats from "
                    f"{where(held)} are accepted again.")
    if not await s.confirm(question):
        s.console.line(f"Block {number} stays.")
        return
    who = clean_name(str(held["patron_name"]), 60) if held is not None else "them"

    def lifted(_result: dict[str, Any]) -> None:
        s.console.line(f"Block {number} lifted: new chats from {who} are accepted again.")

    await s.submit("unblock", f"lifting block {number}", done=lifted, block_id=number)


# --- missed chats ----------------------------------------------------------------------


async def missed(s: Session, _cmd: Command) -> None:
    chats = [chat for chat in s.model.ordered() if is_missed(chat)]
    if not chats:
        s.console.line("No missed chats.")
        return
    s.console.line(f"{missed_chats(len(chats))}, patrons who left before anyone answered; "
                   "/close-missed closes them all:")
    for chat in chats:
        s.console.line(s.narrator.describe(chat, s.current))


async def close_missed(s: Session, _cmd: Command) -> None:
    client = s.command()
    chats = closable(s.model.chats.values(), s.librarian_id, client.queued_frames())
    if not chats:
        waiting = sum(1 for c in s.model.chats.values() if is_missed(c))
        s.console.line("No missed chats to close." if not waiting else
                       "Every missed chat is already being closed.")
        return
    count = len(chats)
    if not await s.confirm(close_missed_question(count)):
        s.console.line("Nothing closed.")
        return
    ids = [chat.id for chat in chats]
    refusals: list[str] = []

    async def close(chat_id: int) -> None:
        try:
            await client.command("close", chat_id=chat_id)
        except CommandError as exc:
            refusals.append(exc.message)

    async def close_all() -> None:
        await asyncio.gather(*(close(chat_id) for chat_id in ids))
        s.console.line(close_missed_outcome(len(ids), refusals), "error" if refusals else "")

    if not client.online:
        s.console.line(f"Offline: {count} close command{'s' * (count != 1)} queued; the missed chats "
                       "close when the desk is back.")
    await s.settle(close_all(), f"closing {missed_chats(count)}")
