"""Plain mode's canned messages: list them, send one, put one at the prompt, edit the team's.

The same list and commands as the full console (ui/canned.py: ctrl+k and / in the reply;
the f7 editor): the desk keeps the team's canned messages (`hello`, then `canned`
events), `save_canned` and `delete_canned` change them for everyone. A canned text goes
only into a chat this librarian may write to (`Act.SEND`), with `{patron_name}`,
`{librarian_name}` and `{library_name}` filled in (`vocabulary.expand`). `/canned NAME`
sends it and reads back what was sent (you did not type it); `/insert NAME` puts it at
the prompt to edit first, as the full console puts it into the reply.
"""

from __future__ import annotations

from typing import Any

from ..domain import Act, Chat, ChatState, DomainError, refusal
from ..sanitize import clean, clean_name
from ..vocabulary import expand, find_canned
from .commands import Command
from .session import Refused, Session
from .wording import match_canned

NAME_CHARS = 40
TEXT_CHARS = 2_000


def not_sent(chat: Chat, refused: DomainError) -> Refused:
    """Why nothing can be sent to `chat`, and what to do instead, in one sentence."""
    hint = {ChatState.WAITING: f"/accept {chat.id} first"}.get(
        chat.state, "/note saves an internal note instead" if chat.state in
        (ChatState.ENDED, ChatState.DISCONNECTED) else "/list shows whose chats are whose")
    return Refused(f"Not sent: {refused.message.rstrip('.')}; {hint}.")


def quoted(name: str) -> str:
    return f"“{clean_name(name, NAME_CHARS)}”"


def _one(s: Session, typed: str) -> dict[str, Any]:
    found = match_canned(s.model.canned, typed)
    if not found:
        raise Refused(f"The team has no canned message {quoted(typed)}; /canned lists them.")
    if len(found) > 1:
        names = ", ".join(quoted(str(m.get("name", ""))) for m in found[:6])
        raise Refused(f"{quoted(typed)} could be {names}; type more of the name.")
    return found[0]


def _writable(s: Session) -> Chat:
    if s.current is None:
        raise Refused("No current chat, so nowhere to put a canned message: /accept a waiting chat or "
                      "/switch N first.")
    chat = s.chat(None, "switch")
    refused = refusal(chat, Act.SEND, s.librarian_id)
    if refused is not None:
        raise not_sent(chat, refused)
    return chat


def _expanded(s: Session, chat: Chat, message: dict[str, Any]) -> str:
    return expand(str(message.get("text", "")), patron_name=chat.patron_name, librarian_name=s.name,
                  library_name=s.model.library_name)


async def canned(s: Session, cmd: Command) -> None:
    """`/canned` lists the team's canned messages; `/canned NAME` sends one to the current chat."""
    if not cmd.text:
        messages = s.model.canned
        if not messages:
            s.console.line("The team has no canned messages yet; /save-canned NAME: text adds one.")
            return
        s.console.line(f"{len(messages)} canned messages; /canned NAME sends one to the current chat, "
                       "/insert NAME puts it at the prompt to edit:")
        for message in messages:
            s.console.line(f"{clean_name(str(message.get('name', '')), NAME_CHARS)}: "
                           f"{clean(str(message.get('text', '')), single_line=True, max_len=300)}")
        return
    message = _one(s, cmd.text)
    chat = _writable(s)
    text = _expanded(s, chat, message)
    name = quoted(str(message.get("name", "")))

    def sent(_result: dict[str, Any]) -> None:
        s.console.line(f"Sent {name} to chat {chat.id}: {text}")

    await s.submit("send", f"the canned message {name} to chat {chat.id}", done=sent, chat_id=chat.id,
                   text=text)


async def insert(s: Session, cmd: Command) -> None:
    """Put a canned message at the prompt of the current chat, to be edited and sent with Enter."""
    message = _one(s, cmd.text)
    chat = _writable(s)
    text = _expanded(s, chat, message)
    name = quoted(str(message.get("name", "")))
    if s.console.readline is None:
        s.console.line(f"{name} for chat {chat.id}: {text}")
        s.console.line(f"This terminal cannot put it at the prompt; type or paste it, or /canned "
                       f"{clean_name(str(message.get('name', '')), NAME_CHARS)} sends it as it is.")
        return
    s.drafts.set(f"message:{chat.id}", text)
    s.console.line(f"{name} is at the prompt: edit it and press Enter to send it to chat {chat.id}, or "
                   "clear the line.")


async def save_canned(s: Session, cmd: Command) -> None:
    """Add a canned message for the whole team, or replace the one of that name (after asking)."""
    name = cmd.text.strip()
    if len(name) > NAME_CHARS:
        raise Refused(f"The name is {len(name)} characters; a canned message's name has at most "
                      f"{NAME_CHARS}.")
    text = cmd.detail
    while not text.strip():
        text = await s.ask(f"Text of {quoted(name)}, one line; {{patron_name}}, {{librarian_name}} and "
                           "{library_name} are filled in when it is used:")
    text = text.strip()
    if len(text) > TEXT_CHARS:
        raise Refused(f"The text is {len(text):,} characters; a canned message has at most {TEXT_CHARS:,}.")
    other = find_canned(s.model.canned, name)
    if other is not None and not await s.confirm(
            f"The team already has a canned message {quoted(str(other['name']))}. Replace it?"):
        s.console.line("Nothing saved.")
        return

    def saved(_result: dict[str, Any]) -> None:
        s.console.line(f"Saved the canned message {quoted(name)}: every console has it now.")

    await s.submit("save_canned", f"the canned message {quoted(name)}", done=saved, name=name, text=text)


async def delete_canned(s: Session, cmd: Command) -> None:
    """Delete a canned message for the whole team, after asking; the name must be whole."""
    if not cmd.text:
        raise Refused("Give the name, like /delete-canned hours; /canned lists them.")
    message = find_canned(s.model.canned, cmd.text)
    if message is None:
        raise Refused(f"The team has no canned message {quoted(cmd.text)}; /canned lists them (type the "
                      "whole name to delete one).")
    name = str(message.get("name", ""))
    if not await s.confirm(f"Delete the canned message {quoted(name)} for the whole team?"):
        s.console.line("Nothing deleted.")
        return

    def deleted(_result: dict[str, Any]) -> None:
        s.console.line(f"Deleted the canned message {quoted(name)}.")

    await s.submit("delete_canned", f"deleting the canned message {quoted(name)}", done=deleted, name=name)
