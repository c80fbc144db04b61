"""One librarian's plain-mode session: desk events in as lines, typed commands out.

`Session` is fed by `DeskClient` (frames and status) and reads the librarian's lines from
the `Console`. Mutating commands go through `submit`: while the desk answers at once the
result is told before the next prompt; offline (or slow) they stay queued in the
client's outbox and the outcome is told as a line when it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from .. import protocol as p
from ..client import CommandError, DeskClient, Status
from ..config import Settings
from ..domain import Chat, ChatState
from ..drafts import Drafts
from ..model import DeskModel
from ..sanitize import clean_name
from .commands import UsageError, complete, parse
from .events import Narrator, one_line, patron
from .prompt import Console

#: How long a command may take before the prompt comes back and it finishes in the background.
ANSWER_WAIT = 4.0
TYPING_EVERY = 2.0


class Cancelled(Exception):
    """The librarian typed /cancel (or ended input) in the middle of a question."""


class Refused(Exception):
    """A command that cannot run now; the message is one sentence saying what to do."""


class Session:
    """Plain mode's state: the model, the current chat, away, and the commands in flight."""

    def __init__(self, settings: Settings, console: Console, *, librarian_id: str, name: str,
                 url: str, drafts: Drafts) -> None:
        self.settings = settings
        self.console = console
        self.name = name
        self.url = url
        self.drafts = drafts
        self.model = DeskModel(librarian_id)
        self.narrator = Narrator(self.model, name=name)
        self.client: DeskClient | None = None
        self.status = Status()
        self.current: int | None = None
        self.away = False
        self.connected_once = False
        self.failed: asyncio.Event = asyncio.Event()
        self.numbers: tuple[int, ...] = ()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._typing_sent = 0.0
        self._typed = ""
        self._chat_prompt = False
        self._realerted: set[int] = set()  # waiting chats that alerted again, once each
        console.completer = lambda before, word: complete(
            before, word, list(self.numbers), [str(m.get("name", "")) for m in self.model.canned])

    @property
    def librarian_id(self) -> str:
        return self.model.librarian_id

    # --- from the client ---------------------------------------------------------------

    def on_frame(self, frame: p.Frame) -> None:
        for kind, text in self.narrator.apply(frame):
            self.ring(kind)
            self.console.line(text, kind)
        if isinstance(frame, p.TeamEvent):
            self._presence_from_roster()
        self.numbers = tuple(sorted(self.model.chats))
        if self.current is not None and self.current not in self.model.chats:
            self.current = None

    def ring(self, kind: str) -> None:
        """The bell before a line: a new chat (or one waiting too long) while online, an offer to me."""
        if not self.settings.appearance.bell_new_chat or not self.connected_once:
            return
        if kind == "offer" or (kind in ("new-chat", "realert") and not self.away):
            self.console.bell()

    def set_presence(self, state: str) -> None:
        """Online or away, here and in the next `hello` (so a reconnect keeps it)."""
        self.away = state == "away"
        if self.client is not None:
            self.client.presence = "away" if self.away else "online"

    def _presence_from_roster(self) -> None:
        """Presence is the person's, on every console they have open: when another of mine
        changed it, follow (unless a change of mine is still on its way)."""
        mine = (self.narrator.roster or {}).get(self.librarian_id)
        if mine is None or (mine[1] == "away") == self.away or self.client is None:
            return
        if any(isinstance(frame, p.Presence) for frame in self.client.queued_frames()):
            return
        self.set_presence(mine[1])
        self.console.line(f"You are {mine[1]} now, as set on another of your consoles.", "team")

    def on_status(self, status: Status) -> None:
        previous, self.status = self.status, status
        if status.state == "online":
            if not self.connected_once:
                self.connected_once = True
                self.console.line(f"Connected to the desk as {clean_name(self.name, 60)}: "
                                  f"{self.narrator.summary()}; {self.narrator.colleagues()}. "
                                  "Type /help for commands.", "status")
            elif previous.state != "online":
                how = ("missed events were read out above" if status.resync == "replay"
                       else "the desk sent a full picture; /list reads it")
                queued = self.client.queued if self.client else 0
                extra = f"; sending {queued} queued" if queued else ""
                self.console.line(f"Back online: {how}{extra}.", "status")
        elif status.state == "offline" and status.detail != "stopped":
            if previous.state == "online":
                self.console.line("Connection to the desk lost; reconnecting. What you send is "
                                  "queued and delivered when it is back.", "error")
            elif status.attempt == 1 and not self.connected_once:
                self.console.line(f"Cannot reach the desk at {self.url} yet ({status.detail}); "
                                  "still trying.", "error")
        elif status.state == "failed":
            self.console.line(f"Cannot connect: {status.detail}", "error")
            self.failed.set()

    # --- the prompt loop ---------------------------------------------------------------

    async def repl(self) -> int:
        """Read and run lines until /quit, end of input, or a connection refused for good."""
        from .actions import run

        ticker = asyncio.create_task(self._tick())
        try:
            while True:
                chat = self.current
                key = f"message:{chat}" if chat is not None else ""
                self._chat_prompt = chat is not None
                line = await self._read(f"{chat}> " if chat is not None else "> ",
                                        draft=self.drafts.get(key) if key else "")
                self._chat_prompt = False
                if line is None:
                    return self.quit()
                if key:
                    self.drafts.set(key, "")
                try:
                    command = parse(line)
                    if command is None:
                        continue
                    if command.name == "quit":
                        return self.quit()
                    await run(self, command)
                except (UsageError, Refused) as exc:
                    self.console.line(str(exc), "error")
                except Cancelled:
                    self.console.line("Cancelled; nothing was saved.")
                except CommandError as exc:
                    self.console.line(exc.message or f"The desk refused that ({exc.code}).", "error")
        except _Failed:
            return 1
        finally:
            ticker.cancel()
            self.drafts.save()

    async def _read(self, prompt: str, *, draft: str = "", keep: bool = True) -> str | None:
        read = asyncio.ensure_future(self.console.ask(prompt, draft=draft, keep=keep))
        failed = asyncio.ensure_future(self.failed.wait())
        try:
            done, _ = await asyncio.wait({read, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            failed.cancel()
        if read not in done:
            read.cancel()
            raise _Failed
        return read.result()

    def quit(self) -> int:
        queued = self.client.queued if self.client else 0
        if queued:
            self.console.line(f"{queued} commands are still queued; they are kept and sent the next "
                              "time you connect.")
        self.console.line("Goodbye.")
        return 0

    async def _tick(self) -> None:
        """Once a second: keep the typed line as a draft, tell the patron you are typing, and
        alert once more for chats waiting too long."""
        while True:
            await asyncio.sleep(1.0)
            self.realert()
            chat = self.current
            if self._chat_prompt and chat is not None and self.console.prompt_showing is not None:
                typed = self.console.buffer()
                if typed != self._typed:
                    self._typed = typed
                    self.drafts.set(f"message:{chat}", typed)
                    now = time.monotonic()
                    if typed and self.client is not None and now - self._typing_sent > TYPING_EVERY:
                        self._typing_sent = now
                        self.client.signal("typing", chat_id=chat)
            self.drafts.save()

    def realert(self) -> None:
        """A chat waiting longer than the desk's `realert_seconds` is told once more (with the
        bell), as the full console does: not while away, only in departments I monitor."""
        hello = self.client.hello if self.client is not None else {}
        limit = float(hello.get("realert_seconds") or 0)
        if not limit or self.away or not self.connected_once:
            return
        now = self.narrator.now()
        for chat in self.model.chats.values():
            if (chat.state is ChatState.WAITING and chat.id not in self._realerted
                    and self.model.mine_to_see(chat) and (now - chat.queue_key[0]).total_seconds() > limit):
                self._realerted.add(chat.id)
                minutes = int(limit // 60) or 1
                self.ring("realert")
                self.console.line(f"{chat.id} {patron(chat)} has waited over {minutes} minute"
                                  f"{'s' * (minutes != 1)}: {one_line(chat.question)}; /accept {chat.id} "
                                  "takes it", "new")

    # --- questions ---------------------------------------------------------------------

    async def ask(self, question: str) -> str:
        """One answer; raises Cancelled on /cancel or end of input."""
        answer = await self._read(question.rstrip() + " ", keep=False)
        if answer is None or answer.strip().lower() == "/cancel":
            raise Cancelled
        return answer.strip()

    async def confirm(self, question: str) -> bool:
        while True:
            answer = (await self.ask(f"{question} Type y or n:")).lower()
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no", ""):
                return False
            self.console.line("Type y for yes or n for no.", "error")

    async def choose(self, question: str, options: list[str], *, default: str | None = None,
                     required: bool = True) -> str | None:
        """A numbered choice; the answer may be the number or the word."""
        listed = ", ".join(f"{i} {o}" for i, o in enumerate(options, 1))
        hint = f" Enter for {default}." if default else "" if required else " Enter for none."
        while True:
            answer = await self.ask(f"{question}: {listed}. Type a number or a word.{hint}")
            if not answer:
                if default is not None or not required:
                    return default
                self.console.line(f"An answer is required: a number from 1 to {len(options)}.", "error")
                continue
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1]
            match = [o for o in options if o.lower() == answer.lower()]
            if match:
                return match[0]
            self.console.line(f"'{answer[:40]}' is not one of them; type a number from 1 to "
                              f"{len(options)}.", "error")

    # --- chats and commands ------------------------------------------------------------

    def make_current(self, chat: Chat) -> None:
        """Plain text goes to this chat from now on; its unread lines are read."""
        self.current = chat.id
        self.model.mark_read(chat.id)

    def chat(self, number: int | None, command: str) -> Chat:
        """The chat a command is about: the number given, else the current chat."""
        chat_id = number if number is not None else self.current
        if chat_id is None:
            raise Refused(f"No current chat: give its number, like /{command} 12, or /switch to it first.")
        chat = self.model.chats.get(chat_id)
        if chat is None:
            raise Refused(f"There is no chat {chat_id} on the desk; /list shows the chats there are.")
        return chat

    def command(self) -> DeskClient:
        if self.client is None:
            raise Refused("Not connected to the desk yet; wait for the connected line.")
        return self.client

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """A read (transcript, tickets, history, stats): needs the desk now."""
        return await self.command().command(type_, **fields)

    async def submit(self, type_: str, what: str, *, done: Callable[[dict[str, Any]], None] | None = None,
                     refused: Callable[[CommandError], None] | None = None, **fields: Any) -> None:
        """A change to the desk: wait a moment for the answer, else finish in the background."""
        client = self.command()
        offline = not client.online
        task = asyncio.create_task(client.command(type_, **fields))

        def finished(t: asyncio.Task[dict[str, Any]], *, late: bool) -> None:
            if t.cancelled():
                return
            exc = t.exception()
            if isinstance(exc, CommandError):
                self.console.line(f"Not done ({what}): {exc.message}", "error")
                if refused is not None:
                    refused(exc)
            elif exc is None:
                if late:
                    self.console.line(f"Delivered: {what}.")
                if done is not None:
                    done(t.result())

        if offline:
            self.console.line(f"Offline: {what} is queued and will be delivered when the desk is back.")
        else:
            with contextlib.suppress(TimeoutError, CommandError):  # a refusal is told by `finished`
                await asyncio.wait_for(asyncio.shield(task), ANSWER_WAIT)
            if task.done():
                finished(task, late=False)
                return
            self.console.line(f"The desk has not answered yet; {what} stays queued.")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: finished(t, late=True))

    async def settle(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work`, which tells its own outcome: wait a moment for it while the desk is
        reachable, else (offline, or slow) let it finish in the background."""
        task = asyncio.create_task(work)
        if self.client is not None and self.client.online:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), ANSWER_WAIT)
            if task.done():
                task.result()
                return
            self.console.line(f"The desk has not answered yet; {what} stays queued.")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Failed(Exception):
    """The connection was refused for good while waiting for input."""
