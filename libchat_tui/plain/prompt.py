"""The terminal side of plain mode: whole lines out, one line in at a prompt, nothing garbled.

Output is append-only: every line is written once and ends with a newline. Nothing moves
the cursor except carriage return, and no colour is written unless asked for.

Input comes from a reader thread, one line per request, so the asyncio loop (the desk
connection) never blocks on the keyboard. On a real terminal (stdin and stdout are the
process's tty and TERM is not ``dumb``) the thread reads with GNU readline: line editing,
history (kept in a file) and tab completion. Elsewhere (a pipe, ``TERM=dumb``) it reads
plain lines and the terminal's own line editing applies.

When a desk event arrives while the librarian is typing, the event is printed on its own
line and the prompt is written again with what was typed so far
(``readline.get_line_buffer()``), so the two never run together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sys
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

#: SGR colours for the kinds of line, used only when colour is asked for.
COLOURS = {"new": "33", "new-chat": "33", "offer": "33", "active": "32", "reconnecting": "33",
           "ended": "31", "error": "31", "note": "35", "ticket": "36", "status": "1", "team": "36"}

Completer = Callable[[str, str], list[str]]


def _columns(text: str) -> int:
    """Terminal cells `text` takes (wide East Asian characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Read:
    """One request for a line, answered from the reader thread."""

    def __init__(self, prompt: str, draft: str, keep: bool, loop: asyncio.AbstractEventLoop,
                 future: asyncio.Future[str | None]) -> None:
        self.prompt, self.draft, self.keep = prompt, draft, keep
        self.loop, self.future = loop, future


class Console:
    """Writes lines and reads answers for plain mode. Thread-safe writes; one read at a time."""

    def __init__(self, stdin: TextIO, stdout: TextIO, *, color: bool = False,
                 history: Path | None = None, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.stdin, self.stdout, self.color = stdin, stdout, color
        self.tty = _isatty(stdin)
        self.dumb = env.get("TERM", "") in ("", "dumb")
        self.readline: ModuleType | None = None
        if (self.tty and _isatty(stdout) and not self.dumb and stdin is sys.stdin
                and stdout is sys.stdout):
            self.readline = _load_readline()
        self.history = history
        self.completer: Completer | None = None
        self._lock = threading.RLock()
        self._showing: str | None = None  # the prompt on screen while a read is waiting
        self._draft = ""
        self._requests: queue.Queue[_Read | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._saved_tty: Any = None

    # --- set-up ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread (and readline, with its history file and completion)."""
        if self.tty:
            with contextlib.suppress(Exception):
                import termios

                self._saved_tty = termios.tcgetattr(self.stdin.fileno())
        rl = self.readline
        if rl is not None:
            rl.parse_and_bind("set enable-bracketed-paste off")
            rl.parse_and_bind("set enable-meta-key off")
            rl.parse_and_bind("tab: complete")
            rl.set_completer_delims(" \t")
            rl.set_completer(self._complete)
            rl.set_pre_input_hook(self._shown)
            if self.history is not None and self.history.exists():
                with contextlib.suppress(OSError):
                    rl.read_history_file(str(self.history))
        self._thread = threading.Thread(target=self._serve_reads, name="plain-input", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Save history, give the terminal back as it was, and let the reader thread go."""
        self._requests.put(None)
        rl = self.readline
        if rl is not None and self.history is not None:
            with contextlib.suppress(OSError):
                self.history.parent.mkdir(parents=True, exist_ok=True)
                rl.set_history_length(1000)
                rl.write_history_file(str(self.history))
        with self._lock:
            if self._showing is not None:
                self._write("\n")
                self._showing = None
        if self._saved_tty is not None:
            with contextlib.suppress(Exception):
                import termios

                termios.tcsetattr(self.stdin.fileno(), termios.TCSADRAIN, self._saved_tty)

    # --- output ------------------------------------------------------------------------

    def paint(self, text: str, kind: str = "") -> str:
        code = COLOURS.get(kind)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def line(self, text: str, kind: str = "") -> None:
        """Write one complete line; if a prompt is showing, write it again below."""
        text = self.paint(text, kind)
        with self._lock:
            prompt = self._showing
            if prompt is None:
                self._write(text + "\n")
                return
            typed = self.buffer()
            shown = prompt + typed
            if self.readline is not None and _columns(shown) < _width(self.stdout) - 1:
                # Overwrite the prompt line in place (spaces, not an erase sequence).
                pad = " " * max(0, _columns(shown) - _columns(text))
                self._write(f"\r{text}{pad}\n{shown}")
            else:
                self._write(f"\r\n{text}\n{shown}")

    def bell(self) -> None:
        """The terminal bell (BEL, not an escape sequence), for a new chat."""
        with self._lock:
            self._write("\a")

    def lines(self, texts: list[str], kind: str = "") -> None:
        for text in texts:
            self.line(text, kind)

    def _write(self, data: str) -> None:
        try:
            self.stdout.write(data)
            self.stdout.flush()
        except (OSError, ValueError):
            pass  # the terminal went away; nothing to tell

    def buffer(self) -> str:
        """What the librarian has typed at the prompt so far (known only with readline)."""
        if self.readline is None or self._showing is None:
            return ""
        try:
            return str(self.readline.get_line_buffer())
        except Exception:
            return ""

    @property
    def prompt_showing(self) -> str | None:
        return self._showing

    # --- input -------------------------------------------------------------------------

    async def ask(self, prompt: str, *, draft: str = "", keep: bool = True) -> str | None:
        """One line typed at `prompt` (without its newline), or None at end of input.

        `draft` is put in the line to edit (readline only); `keep=False` leaves the answer
        out of the history (answers to questions such as y/n).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._requests.put(_Read(prompt, draft, keep, loop, future))
        return await future

    def _serve_reads(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            try:
                line: str | None = self._read(request)
            except (EOFError, OSError, ValueError):
                line = None
            except KeyboardInterrupt:
                line = ""
            with self._lock:
                self._showing = None
            with contextlib.suppress(RuntimeError):  # the loop has closed
                request.loop.call_soon_threadsafe(_resolve, request.future, line)

    def _read(self, request: _Read) -> str | None:
        rl = self.readline
        if rl is not None:
            self._draft = request.draft
            self._pending = request.prompt
            # Hold the output lock until readline has drawn the prompt (released in `_shown`),
            # so an event line never lands between the prompt and readline knowing of it.
            self._lock.acquire()
            self._held = True
            try:
                line = input(request.prompt)
            finally:
                if self._held:
                    self._held = False
                    self._lock.release()
            if not request.keep and line.strip():
                with contextlib.suppress(Exception):
                    rl.remove_history_item(rl.get_current_history_length() - 1)
            return line
        with self._lock:
            if self.tty:
                self._write(request.prompt)
                self._showing = request.prompt
            else:  # a script: the question as a line of its own, no prompt to redraw
                if request.prompt.strip():
                    self._write(request.prompt.rstrip() + "\n")
        raw = self.stdin.readline()
        if not raw:
            return None
        return raw.rstrip("\r\n")

    def _shown(self) -> None:
        """readline has drawn the prompt: events from now on must redraw it."""
        rl = self.readline
        with self._lock:
            self._showing = self._pending
        if self._held:
            self._held = False
            self._lock.release()
        if rl is not None and self._draft:
            rl.insert_text(self._draft)
            rl.redisplay()
            self._draft = ""

    _pending = ""
    _held = False

    def _complete(self, text: str, state: int) -> str | None:
        rl = self.readline
        if rl is None or self.completer is None:
            return None
        try:
            before = str(rl.get_line_buffer())[: rl.get_begidx()]
            matches = self.completer(before, text)
        except Exception:
            return None
        return matches[state] if state < len(matches) else None


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


def _load_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # a Python built without it: plain reads still work
        return None
    return readline
