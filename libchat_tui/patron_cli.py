"""`libchat-tui patron`: chat with the desk as a patron, line by line, from a terminal.

For training and trying a desk out: it behaves like the library's chat widget. Each
line typed is sent; `/quit` or end of input leaves the chat. A dropped connection is
resumed with backoff; if the desk has given up on the chat meanwhile, the patron is
offered a follow-up ticket. Everything from the server is printed through
`sanitize.clean`, so a message cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from . import protocol as p
from .config import DEFAULT_SERVER, default_data_dir
from .domain import patron_can_talk
from .patron_client import ConnectionClosedEvent, ConnectionLost, Event, PatronError, PatronSession
from .protocol import LIMITS, is_valid_email
from .sanitize import clean

#: Seconds between attempts to resume a dropped chat (the last one repeats).
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
MAX_RESUME_ATTEMPTS = 12
RESUME_FILE = "patron-resume.json"  # the resume token, owner-only, for `--resume`
THANKS = "Thank you for contacting the library."
DEFAULT_OFFER = "We lost the connection to you. Leave your e-mail address and we will follow up."

Sleep = Callable[[float], Awaitable[Any]]


class LineReader:
    """Lines from a text stream, read by a daemon thread so a blocked read never holds exit."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def pump() -> None:
            while True:
                try:
                    line = self.stream.readline()
                except (OSError, ValueError):
                    line = ""
                item = line.rstrip("\r\n") if line else None
                try:
                    loop.call_soon_threadsafe(self.queue.put_nowait, item)
                except RuntimeError:  # the loop is gone
                    return
                if not line:
                    return

        threading.Thread(target=pump, name="patron-stdin", daemon=True).start()


def hhmm(at: Any) -> str:
    """An ISO timestamp from the server as local HH:MM (now if missing or bad)."""
    try:
        moment = datetime.fromisoformat(str(at)).astimezone()
    except ValueError:
        moment = datetime.now().astimezone()
    return moment.strftime("%H:%M")


class PatronConsole:
    """The line-based patron: prompts, prints the chat, and keeps it alive across drops."""

    def __init__(self, session: PatronSession, lines: LineReader, out: TextIO, *,
                 backoff: Sequence[float] = BACKOFF, sleep: Sleep = asyncio.sleep) -> None:
        self.session = session
        self.lines = lines
        self.out = out
        self.backoff = tuple(backoff)
        self.sleep = sleep
        self._line_task: asyncio.Task[str | None] | None = None
        self._typing_shown = False
        self._thanked = False

    def say(self, text: str) -> None:
        if THANKS in text:  # the desk's system line and the end of the chat both say it
            if self._thanked:
                text = text.replace(THANKS, "").rstrip()
                if not text.strip(" *]0123456789:["):
                    return
            self._thanked = True
        self.out.write(text + "\n")
        self.out.flush()

    async def resume(self) -> int:
        """Go back to the chat a previous run left (the resume file)."""
        if not self.session.load_resume():
            self.say("There is no chat to go back to: start a new one without --resume.")
            return 1
        self.say(f"[{hhmm(None)}] Going back to your chat…")
        try:
            missed = await self.session.resume()
        except PatronError as exc:
            self.say(f"This chat can no longer be resumed: {exc.message}")
            return 1
        self.say(f"[{hhmm(None)}] Back in your chat. Type /quit to leave.")
        for message in missed:
            self.show_message(message)
        if self.session.state == "disconnected" and self.session.ticket_offered:
            return await self.take_ticket(DEFAULT_OFFER)
        if not patron_can_talk(self.session.state or "ended"):
            self.say(f"The chat has ended. {THANKS}")
            return 0
        return await self.chat()

    async def read_line(self) -> str | None:
        """The next line typed (None at end of input)."""
        if self._line_task is None:
            self._line_task = asyncio.create_task(self.lines.queue.get())
        try:
            return await self._line_task
        finally:
            self._line_task = None

    async def ask(self, prompt: str) -> str | None:
        self.out.write(prompt)
        self.out.flush()
        line = await self.read_line()
        return None if line is None else line.strip()

    async def ask_until(self, prompt: str, check: Callable[[str], str | None]) -> str | None:
        """Ask until `check` returns no complaint; None at end of input."""
        while True:
            answer = await self.ask(prompt)
            if answer is None:
                return None
            complaint = check(answer)
            if complaint is None:
                return answer
            self.say(complaint)

    # --- start -----------------------------------------------------------------------

    async def start(self, name: str | None, email: str | None, department: str | None = None) -> int:
        """Ask what is missing, join, then chat until it ends. Returns the exit status."""
        if email and not is_valid_email(email):  # "" means: no e-mail, do not ask
            self.say(f"'{email}' is not a valid e-mail address.")
            return 2
        if not name:
            name = await self.ask_until("Your name: ", _check_name)
            if name is None:
                return 1
        if email is None:
            email = await self.ask_until("Your e-mail (optional, press Enter to skip): ",
                                         _check_email)
            if email is None:
                return 1
        question = await self.ask_until("Your question: ", _check_question)
        if question is None:
            return 1
        try:
            await self.session.join(name, email or None, question, department=department)
        except PatronError as exc:
            self.say(f"Could not start the chat: {exc.message}")
            return 1
        self.say(f"[{hhmm(None)}] You are in the queue; "
                 "a librarian will be with you shortly. Type /quit to leave.")
        return await self.chat()

    async def chat(self) -> int:
        event_task: asyncio.Task[Event] | None = None
        try:
            while True:
                if self._line_task is None:
                    self._line_task = asyncio.create_task(self.lines.queue.get())
                if event_task is None:
                    event_task = asyncio.create_task(self.session.next_event())
                done, _ = await asyncio.wait({self._line_task, event_task},
                                             return_when=asyncio.FIRST_COMPLETED)
                if event_task in done:
                    task, event_task = event_task, None
                    try:
                        event = task.result()
                    except EOFError:
                        return 0
                    status = await self.on_event(event)
                    if status is not None:
                        return status
                if self._line_task is not None and self._line_task.done():
                    status = await self.on_line(await self.read_line())
                    if status is not None:
                        return status
        finally:
            if event_task is not None:
                event_task.cancel()
            if self._line_task is not None:
                self._line_task.cancel()
            self._line_task = None
            await self.session.close()

    # --- what happens ----------------------------------------------------------------

    async def on_line(self, line: str | None) -> int | None:
        if line is None or line.strip() == "/quit":
            with contextlib.suppress(PatronError):
                await self.session.leave()
            self.say(f"[{hhmm(None)}] You left the chat.")
            return 0
        text = line.strip()
        if not text:
            return None
        if len(text) > LIMITS["message"]:
            self.say(f"That message is too long (the limit is {LIMITS['message']} characters).")
            return None
        try:
            await self.session.send(text)
        except ConnectionLost:  # the session keeps it and sends it again (once) on resume
            return await self.reconnect()
        except PatronError as exc:
            self.say(f"! {exc.message}")
        return None

    async def on_event(self, event: Event) -> int | None:
        if isinstance(event, p.PatronMessageEvent):
            self.show_message(event.message)
        elif isinstance(event, p.StateEvent):
            text = clean(event.text, single_line=True)
            self.say(f"[{hhmm(event.at)}] * {text}")
            if not patron_can_talk(event.state):
                if THANKS not in text:
                    self.say(f"The chat has ended. {THANKS}")
                return 0
        elif isinstance(event, p.PatronTypingEvent) and not self._typing_shown:
            self._typing_shown = True
            who = clean(event.who or "The librarian", single_line=True, max_len=100)
            self.say(f"        {who} is typing…")
        elif isinstance(event, p.QueueEvent):
            self.say(f"[{hhmm(None)}] Your place in the queue: {event.position}.")
        elif isinstance(event, p.TicketOffer):
            return await self.take_ticket(event.text)
        elif isinstance(event, p.Resumed):
            self.say(clean(event.text, single_line=True))
            return 0
        elif isinstance(event, ConnectionClosedEvent):
            return await self.reconnect()
        return None

    def show_message(self, message: dict[str, Any]) -> None:
        self._typing_shown = False
        text = clean(str(message.get("text", "")))
        if message.get("sender") == "system":
            self.say(f"[{hhmm(message.get('at'))}] * {text}")
            return
        author = clean(str(message.get("author") or "Librarian"), single_line=True, max_len=100)
        self.say(f"[{hhmm(message.get('at'))}] {author}: {text}")

    async def reconnect(self) -> int | None:
        """Resume the chat with backoff; then deliver what was missed and what was typed."""
        self.say(f"[{hhmm(None)}] Connection lost. Reconnecting…")
        for attempt in range(MAX_RESUME_ATTEMPTS):
            await self.sleep(self.backoff[min(attempt, len(self.backoff) - 1)])
            try:
                missed = await self.session.resume()
                break
            except ConnectionLost:
                continue
            except PatronError as exc:
                self.say(f"This chat can no longer be resumed: {exc.message}")
                return 1
        else:
            self.say("Could not reach the library. Please try again later.")
            return 1
        self.say(f"[{hhmm(None)}] Reconnected.")
        for message in missed:
            self.show_message(message)
        state = self.session.state
        if state == "disconnected":
            if self.session.ticket_offered:
                return await self.take_ticket(DEFAULT_OFFER)
            self.say("The chat was disconnected.")
            return 1
        if not patron_can_talk(state or "ended"):
            self.say(f"The chat has ended. {THANKS}")
            return 0
        return None

    async def take_ticket(self, offer: str) -> int:
        """The desk gave up on the chat: leave an e-mail for a follow-up ticket."""
        self.say(clean(offer or DEFAULT_OFFER))
        known = self.session.email
        prompt = f"Your e-mail [{known}]: " if known else "Your e-mail (Enter to skip): "
        email = await self.ask_until(prompt, _check_ticket_email)
        if email is None or not (email or known):
            self.say("No ticket was sent.")
            return 0
        details = await self.ask("Anything to add for the librarian (optional): ") or ""
        try:
            ticket_id = await self.session.submit_ticket(email or known or "", details)
        except PatronError as exc:
            self.say(f"The ticket could not be sent: {exc.message}")
            return 1
        self.say(f"Ticket #{ticket_id} sent. The library will follow up at {email or known}.")
        return 0


def _check_name(answer: str) -> str | None:
    if not answer:
        return "Please give a name (it can be just a first name)."
    return "That name is too long." if len(answer) > LIMITS["name"] else None


def _check_email(answer: str) -> str | None:
    if not answer or is_valid_email(answer):
        return None
    return "That does not look like an e-mail address (name@example.edu); or press Enter."


def _check_ticket_email(answer: str) -> str | None:
    if not answer or is_valid_email(answer):
        return None
    return "That does not look like an e-mail address (name@example.edu)."


def _check_question(answer: str) -> str | None:
    if not answer:
        return "Please type your question."
    limit = LIMITS["question"]
    return f"Please keep the question under {limit} characters." if len(answer) > limit else None


async def run(
    args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
    backoff: Sequence[float] = BACKOFF, sleep: Sleep = asyncio.sleep,
    resume_file: Path | None = None,
) -> int:
    """Run the patron client; the keyword arguments let tests stand in for the terminal."""
    server = getattr(args, "server", None) or os.environ.get("LIBCHAT_SERVER") or DEFAULT_SERVER
    out = stdout or sys.stdout
    lines = LineReader(stdin or sys.stdin)
    lines.start()
    if resume_file is None and stdin is None:  # a test standing in for the terminal passes its own
        data_dir = getattr(args, "data_dir", None)
        resume_file = (Path(data_dir) if data_dir else default_data_dir()) / RESUME_FILE
    session = PatronSession(server, resume_file=resume_file)
    console = PatronConsole(session, lines, out, backoff=backoff, sleep=sleep)
    if getattr(args, "resume", False):
        return await console.resume()
    return await console.start(getattr(args, "name", None), getattr(args, "email", None),
                               getattr(args, "department", None))
