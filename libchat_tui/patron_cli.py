"""`libchat-tui patron`: chat with the desk as a patron from a terminal.

For training and trying a desk out: it behaves like the library's chat widget. Each
line typed is sent. `/quit`, end of input (Ctrl-D) and Ctrl-C leave, at any time, with
exit status 0, also while a dropped connection is being resumed (with backoff); then
the chat may stay open at the desk for its grace period, and `--resume` goes back to it.
If the desk has given up on the chat meanwhile, the patron is offered a follow-up
ticket. Everything from the server is printed through `sanitize.clean`, so a message
cannot drive the terminal.

At a terminal, keys are read one at a time (cbreak mode and a small line editor of our
own): line mode hands over nothing before Enter, and the desk is to be told while the
patron types, as the widget tells it. From a pipe, whole lines are read.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import math
import os
import shlex
import signal
import sys
import termios
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from . import protocol as p
from .config import DEFAULT_SERVER, default_data_dir
from .domain import PATRON, patron_can_talk
from .patron_client import ConnectionClosedEvent, ConnectionLost, Event, PatronError, PatronSession
from .protocol import LIMITS, is_valid_email
from .sanitize import clean

#: Seconds between attempts to resume a dropped chat (the last one repeats).
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
MAX_RESUME_ATTEMPTS = 12
RESUME_FILE = "patron-resume.json"  # the resume token, owner-only, for `--resume`
THANKS = "Thank you for contacting the library."
DEFAULT_OFFER = "We lost the connection to you. Leave your e-mail address and we will follow up."
#: Seconds between two typing signals while the patron types (the widget's pace,
#: docs/protocol.md; the desk passes on at most one per 0.5 s).
TYPING_EVERY = 2.0
#: Seconds to wait for the desk to confirm that the patron left before going anyway.
LEAVE_WAIT = 3.0
UNSENT = "What you typed since the connection was lost was not sent."

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Keystroke:
    """The patron changed the line being typed, at `at` (seconds on the reader's clock)."""

    at: float


#: What a reader hands over: a line, a keystroke, or None at the end of input.
Input = str | Keystroke | None


class Reader(Protocol):
    """Where the patron's input comes from and where the console's lines go."""

    queue: asyncio.Queue[Input]

    def stop(self) -> None: ...

    def prompt(self, text: str) -> None: ...

    def close_line(self) -> None: ...

    def write(self, line: str) -> None: ...


class LineReader:
    """Whole lines from a stream (a pipe), read by a daemon thread so a blocked read never holds exit."""

    def __init__(self, stream: TextIO, out: TextIO) -> None:
        self.stream = stream
        self.out = out
        self.queue: asyncio.Queue[Input] = asyncio.Queue()

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

    def stop(self) -> None:
        """Nothing to give back: the thread ends with the input or with the process."""

    def close_line(self) -> None:
        """Nothing to close: the terminal (if any) edits and ends the line."""

    def prompt(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def write(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def _cells(text: str) -> int:
    """Terminal cells `text` takes (wide East Asian characters two, combining marks none)."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


class KeyReader:
    """Keys from a terminal as they are pressed, edited into lines by a deliberately small editor.

    Printable keys are added and echoed, Backspace takes the last character back, Ctrl-U
    the whole line; each change is a `Keystroke`. Enter hands over the line; Ctrl-D on an
    empty line ends the input. Other control keys and escape sequences (arrows, function
    keys) are ignored. Ctrl-C stays a signal (ISIG is left on). A line printed while the
    patron types is written over the line being typed, which is then written again below
    (spaces, not erase sequences, as plain mode does).
    """

    def __init__(self, fd: int, out: TextIO, clock: Clock) -> None:
        self.fd = fd
        self.out = out
        self.clock = clock
        self.queue: asyncio.Queue[Input] = asyncio.Queue()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._saved: list[Any] | None = None
        self._prompt = ""
        self._typed = ""
        self._escape = ""  # "esc" after ESC, "seq" inside an escape sequence
        self._ended = False

    def start(self) -> None:
        """Switch the terminal to cbreak mode (raises termios.error if it cannot be)."""
        saved = termios.tcgetattr(self.fd)
        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSADRAIN, mode)
        self._saved = saved
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def stop(self) -> None:
        """Give the terminal back as it was."""
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self.fd)
        self.close_line()
        if self._saved is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def prompt(self, text: str) -> None:
        self._prompt = text
        self._out(text)

    def close_line(self) -> None:
        """End the line being typed where it is (it is not handed over): output goes below."""
        if self._prompt or self._typed:
            self._out("\n")
            self._prompt = self._typed = ""

    def write(self, line: str) -> None:
        shown = self._prompt + self._typed
        if not shown:
            self._out(line + "\n")
            return
        try:
            columns = os.get_terminal_size(self.fd).columns or 80
        except OSError:
            columns = 80
        if _cells(shown) < columns - 1:  # overwrite the line being typed, then write it again
            first, newline, rest = line.partition("\n")
            pad = " " * max(0, _cells(shown) - _cells(first))
            self._out(f"\r{first}{pad}{newline}{rest}\n{shown}")
        else:
            self._out(f"\r\n{line}\n{shown}")

    def _out(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the terminal hung up
            data = b""
        if not data:
            self._end()
            return
        for key in self._decoder.decode(data):
            if self._ended:
                return
            self._key(key)

    def _key(self, key: str) -> None:
        if self._escape:  # ESC [ ... final, ESC O final, or ESC and one key (Alt+key)
            if self._escape == "esc" and key in "[O":
                self._escape = "seq"
            elif self._escape == "esc" or "@" <= key <= "~":
                self._escape = ""
            return
        if key == "\x1b":
            self._escape = "esc"
        elif key in "\r\n":
            line, self._prompt, self._typed = self._typed, "", ""
            self._out("\n")
            self.queue.put_nowait(line)
        elif key == "\x04":
            if not self._typed:
                self._end()
        elif key in "\x7f\x08":
            if self._typed:
                self._out("\b \b" * _cells(self._typed[-1]))
                self._typed = self._typed[:-1]
                self.queue.put_nowait(Keystroke(self.clock()))
        elif key == "\x15":
            if self._typed:
                self._out("\b \b" * _cells(self._typed))
                self._typed = ""
                self.queue.put_nowait(Keystroke(self.clock()))
        elif key.isprintable() or key == "\t":
            key = " " if key == "\t" else key
            self._typed += key
            self._out(key)
            self.queue.put_nowait(Keystroke(self.clock()))

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self.fd)
        self.close_line()
        self.queue.put_nowait(None)


def start_reader(stdin: TextIO, out: TextIO, clock: Clock) -> Reader:
    """Keys one at a time from a terminal (so typing can be signalled), else whole lines."""
    try:
        terminal = stdin.isatty() and out.isatty()
    except (AttributeError, OSError, ValueError):
        terminal = False
    if terminal:
        keys = KeyReader(stdin.fileno(), out, clock)
        try:
            keys.start()
        except (termios.error, OSError):
            pass
        else:
            return keys
    lines = LineReader(stdin, out)
    lines.start()
    return lines


def hhmm(at: Any) -> str:
    """An ISO timestamp from the server as local HH:MM (now if missing or bad)."""
    try:
        moment = datetime.fromisoformat(str(at)).astimezone()
    except ValueError:
        moment = datetime.now().astimezone()
    return moment.strftime("%H:%M")


class PatronConsole:
    """The patron at a terminal: prompts, prints the chat, resumes it across drops, and
    lets the patron leave at any moment."""

    def __init__(self, session: PatronSession, lines: Reader, *, backoff: Sequence[float] = BACKOFF,
                 sleep: Sleep = asyncio.sleep, resume_hint: str | None = None) -> None:
        self.session = session
        self.lines = lines
        self.backoff = tuple(backoff)
        self.sleep = sleep
        #: The command that goes back to a chat left open (None: there is no resume file).
        self.resume_hint = resume_hint
        self._line_task: asyncio.Task[Input] | None = None
        self._event_task: asyncio.Task[Event] | None = None
        self._reconnecting: asyncio.Task[list[dict[str, Any]] | int] | None = None
        self._held: list[str] = []  # lines typed while reconnecting, sent once back
        self._typing_sent = -math.inf
        self._main: asyncio.Task[Any] | None = None
        self._interrupted = False
        self._leaving = False
        self._typing_shown = False
        self._thanked = False

    def say(self, text: str) -> None:
        if THANKS in text:  # the desk's system line and the end of the chat both say it
            if self._thanked:
                text = text.replace(THANKS, "").rstrip()
                if not text.strip(" *]0123456789:["):
                    return
            self._thanked = True
        self.lines.write(text)

    async def main(self, body: Coroutine[Any, Any, int]) -> int:
        """Run `body` (`start` or `resume`) to its exit status; Ctrl-C leaves as /quit does."""
        self._main = asyncio.current_task()
        try:
            return await body
        except asyncio.CancelledError:
            if not self._interrupted or self._main is None:
                raise
            self._main.uncancel()
            return await self.quit()
        finally:
            self._leaving = True
            self._main = None
            await self.session.close()

    def interrupt(self) -> None:
        """Ctrl-C: stop whatever is under way and leave (further presses change nothing)."""
        if self._main is not None and not self._interrupted and not self._leaving:
            self._interrupted = True
            self._main.cancel()

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
        status = await self.back_in(missed)
        return await self.chat() if status is None else status

    async def read_line(self) -> str | None:
        """The next line typed (None at end of input)."""
        while True:
            if self._line_task is None:
                self._line_task = asyncio.create_task(self.lines.queue.get())
            try:
                item = await self._line_task
            finally:
                self._line_task = None
            if not isinstance(item, Keystroke):
                return item

    async def ask(self, prompt: str) -> str | None:
        self.lines.prompt(prompt)
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
                return await self.quit()
        if email is None:
            email = await self.ask_until("Your e-mail (optional, press Enter to skip): ",
                                         _check_email)
            if email is None:
                return await self.quit()
        question = await self.ask_until("Your question: ", _check_question)
        if question is None:
            return await self.quit()
        try:
            online = await self.session.status(department)
            if online == 0:  # nobody who answers here is online: a ticket, not a queue
                return await self.leave_a_ticket(name, email, question, department)
            await self.session.join(name, email or None, question, department=department)
        except PatronError as exc:
            if exc.code == "queue_full":  # the line is full: the question goes as a ticket
                self.say(exc.message)
                return await self.leave_a_ticket(name, email, question, department, said=True)
            self.say(f"Could not start the chat: {exc.message}")
            return 1
        self.say(f"[{hhmm(None)}] You are in the queue; "
                 "a librarian will be with you shortly. Type /quit to leave.")
        return await self.chat()

    async def leave_a_ticket(self, name: str, email: str | None, question: str,
                             department: str | None, *, said: bool = False) -> int:
        """Nobody is online to answer (or the line is full): the question goes to the library
        as a ticket."""
        if not said:
            where = f" for {department}" if department else ""
            self.say(f"Nobody{where} is online to chat right now. Leave your question and the "
                     "library will answer by e-mail.")
        if not email:
            email = await self.ask_until("Your e-mail (needed for the answer): ", _check_required_email)
            if email is None:
                return await self.quit()
        ticket = await self.session.offline_ticket(name, email, question)
        self.say(f"Thank you. Your question is ticket #{ticket}; the library will write to {email}.")
        return 0

    async def chat(self) -> int:
        """Chat until it ends or the patron leaves. A drop is resumed in the background,
        so what the patron types (`/quit` above all) is still read meanwhile."""
        try:
            while True:
                status = await self._step()
                if status is not None:
                    return status
        finally:
            await _cancel(self._event_task, self._line_task, self._reconnecting)
            self._event_task = self._line_task = self._reconnecting = None

    async def _step(self) -> int | None:
        """Wait for a line, a desk event or the end of a reconnect, and handle it."""
        if self._line_task is None:
            self._line_task = asyncio.create_task(self.lines.queue.get())
        if self._reconnecting is None and self._event_task is None:
            self._event_task = asyncio.create_task(self.session.next_event())
        waits = [t for t in (self._line_task, self._event_task, self._reconnecting) if t is not None]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if self._reconnecting is not None and self._reconnecting.done():
            task, self._reconnecting = self._reconnecting, None
            status = await self.reconnected(task.result())
            if status is not None:
                return status
        if self._event_task is not None and self._event_task.done():
            event_task, self._event_task = self._event_task, None
            try:
                event = event_task.result()
            except EOFError:
                return 0
            status = await self.on_event(event)
            if status is not None:
                return status
        if self._line_task is not None and self._line_task.done():
            line_task, self._line_task = self._line_task, None
            return await self.on_input(line_task.result())
        return None

    # --- what happens ----------------------------------------------------------------

    async def on_input(self, item: Input) -> int | None:
        if isinstance(item, Keystroke):
            await self.typed(item.at)
            return None
        if item is None or item.strip() == "/quit":
            return await self.quit()
        text = item.strip()
        if not text:
            return None
        if len(text) > LIMITS["message"]:
            self.say(f"That message is too long (the limit is {LIMITS['message']} characters).")
        elif self._reconnecting is not None:
            self._held.append(text)
            self.say("(Not sent yet: it will be sent when the connection is back.)")
        else:
            await self.send(text)
        return None

    async def send(self, text: str) -> None:
        try:
            await self.session.send(text)
        except ConnectionLost:  # the session keeps it and sends it again (once) on resume
            self.start_reconnect()
        except PatronError as exc:
            self.say(f"! {exc.message}")
        else:
            self._typing_sent = -math.inf  # typing after a message is news at once

    async def typed(self, at: float) -> None:
        """The patron is typing: tell the desk, at most once every TYPING_EVERY seconds."""
        if (at - self._typing_sent < TYPING_EVERY or self._reconnecting is not None
                or not self.session.connected or not patron_can_talk(self.session.state or "ended")):
            return
        self._typing_sent = at
        with contextlib.suppress(ConnectionLost):
            await self.session.typing()

    async def quit(self) -> int:
        """Leave now: end the chat if the desk can be told at once, else say how to come back."""
        self._leaving = True
        self.lines.close_line()
        await _cancel(self._reconnecting)
        self._reconnecting = None
        if self.session.resume_token is None or not patron_can_talk(self.session.state or "ended"):
            self.say("Goodbye.")
            return 0
        if self.session.connected:
            try:
                async with asyncio.timeout(LEAVE_WAIT):
                    await self.session.leave()
            except (PatronError, TimeoutError):
                pass
            else:
                self.say(f"[{hhmm(None)}] You left the chat.")
                return 0
        unsent = f" {UNSENT}" if self._held else ""
        hint = f" To go back to it: {self.resume_hint}" if self.resume_hint else ""
        self.say(f"[{hhmm(None)}] You left, but the chat may still be open at the desk for a "
                 f"little while.{unsent}{hint}")
        return 0

    async def on_event(self, event: Event) -> int | None:
        if isinstance(event, p.PatronMessageEvent):
            self.show_message(event.message)
        elif isinstance(event, p.StateEvent):
            if event.by == PATRON.name and patron_can_talk(event.state):
                return None  # the desk's "You are reconnected.": the client has said so already
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
        elif isinstance(event, ConnectionClosedEvent) and not self.session.connected:
            self.start_reconnect()  # (a closed socket the session has already replaced is old news)
        return None

    def show_message(self, message: dict[str, Any]) -> None:
        self._typing_shown = False
        text = clean(str(message.get("text", "")))
        if message.get("sender") == "system":
            self.say(f"[{hhmm(message.get('at'))}] * {text}")
            return
        author = clean(str(message.get("author") or "Librarian"), single_line=True, max_len=100)
        self.say(f"[{hhmm(message.get('at'))}] {author}: {text}")

    # --- a dropped connection --------------------------------------------------------

    def start_reconnect(self) -> None:
        """Resume the chat in the background; desk events wait until it is back."""
        if self._reconnecting is not None:
            return
        if self._event_task is not None:
            self._event_task.cancel()  # a queue read: cancelling it loses no event
            self._event_task = None
        self.say(f"[{hhmm(None)}] Connection lost. Reconnecting…")
        self._reconnecting = asyncio.create_task(self.resume_with_backoff())

    async def resume_with_backoff(self) -> list[dict[str, Any]] | int:
        """The missed messages once the chat is resumed, or an exit status if it cannot be."""
        for attempt in range(MAX_RESUME_ATTEMPTS):
            await self.sleep(self.backoff[min(attempt, len(self.backoff) - 1)])
            try:
                return await self.session.resume()
            except ConnectionLost:
                continue
            except PatronError as exc:
                self.say(f"This chat can no longer be resumed: {exc.message}")
                return 1
        self.say("Could not reach the library. Please try again later.")
        return 1

    async def reconnected(self, outcome: list[dict[str, Any]] | int) -> int | None:
        """Back (or not): what was missed, then what the patron typed meanwhile."""
        if isinstance(outcome, int):
            status: int | None = outcome
        else:
            self.say(f"[{hhmm(None)}] Reconnected.")
            status = await self.back_in(outcome)
        if status is not None:
            if self._held:
                self.say(UNSENT)
            return status
        while self._held and self._reconnecting is None:
            await self.send(self._held.pop(0))
        return None

    async def back_in(self, missed: list[dict[str, Any]]) -> int | None:
        """After a resume: the missed messages, then the ticket offer or the end if it came to that."""
        for message in missed:
            self.show_message(message)
        state = self.session.state or "ended"
        if state == "disconnected":
            if self.session.ticket_offered:
                return await self.take_ticket(DEFAULT_OFFER)
            self.say("The chat was disconnected.")
            return 1
        if not patron_can_talk(state):
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


async def _cancel(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel `tasks` and let them finish unwinding."""
    live = [task for task in tasks if task is not None]
    for task in live:
        task.cancel()
    await asyncio.gather(*live, return_exceptions=True)


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


def _check_required_email(answer: str) -> str | None:
    """An e-mail address the answer can go to (required here)."""
    if answer and is_valid_email(answer):
        return None
    return "An e-mail address is needed (name@example.edu): it is where the answer goes."


def _check_question(answer: str) -> str | None:
    if not answer:
        return "Please type your question."
    limit = LIMITS["question"]
    return f"Please keep the question under {limit} characters." if len(answer) > limit else None


def resume_command(args: argparse.Namespace) -> str:
    """The command line that goes back to this chat (the same server and data dir)."""
    words = ["libchat-tui"]
    if getattr(args, "data_dir", None):
        words += ["--data-dir", str(args.data_dir)]
    words.append("patron")
    if getattr(args, "server", None):
        words += ["--server", str(args.server)]
    return shlex.join([*words, "--resume"])


async def run(
    args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
    backoff: Sequence[float] = BACKOFF, sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic,
    resume_file: Path | None = None,
) -> int:
    """Run the patron client; the keyword arguments let tests stand in for the terminal.

    Ctrl-C is handled (as /quit) only on the real terminal, `stdin` None.
    """
    server = getattr(args, "server", None) or os.environ.get("LIBCHAT_SERVER") or DEFAULT_SERVER
    out = stdout or sys.stdout
    if resume_file is None and stdin is None:  # a test standing in for the terminal passes its own
        data_dir = getattr(args, "data_dir", None)
        resume_file = (Path(data_dir) if data_dir else default_data_dir()) / RESUME_FILE
    session = PatronSession(server, resume_file=resume_file)
    lines = start_reader(stdin or sys.stdin, out, clock)
    console = PatronConsole(session, lines, backoff=backoff, sleep=sleep,
                            resume_hint=None if resume_file is None else resume_command(args))
    loop = asyncio.get_running_loop()
    ctrl_c = False
    if stdin is None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, console.interrupt)
            ctrl_c = True
    try:
        if getattr(args, "resume", False):
            return await console.main(console.resume())
        return await console.main(console.start(getattr(args, "name", None), getattr(args, "email", None),
                                                getattr(args, "department", None)))
    finally:
        if ctrl_c:
            loop.remove_signal_handler(signal.SIGINT)
        lines.stop()
