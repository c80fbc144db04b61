"""Plain mode (`libchat-tui --plain`): a line-oriented console for screen-reader users.

Every desk event is one complete line, written once and never redrawn; commands are typed
at a prompt with line editing, history and tab completion. Underneath is the same
`DeskClient` (reconnect, resync, offline outbox), `DeskModel` and drafts file as the
full console, so nothing here is a second implementation of the desk. No textual and no
rich live rendering is imported under this package; a test checks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TextIO

from ..config import Settings, default_data_dir, librarian_id

__all__ = ["librarian_id", "run_plain"]


async def run_plain(settings: Settings, *, url: str, token: str, stdin: TextIO = sys.stdin,
                    stdout: TextIO = sys.stdout, color: bool = False, name: str | None = None,
                    data_dir: Path | None = None) -> int:
    """Run plain mode against the desk at `url` until /quit or end of input.

    Returns the exit status: 0 after /quit or Ctrl-D, 1 when the desk refused the
    connection for good (a wrong token, another protocol version). `data_dir` is the desk
    data dir (as `--data-dir`); the console's files (librarian id, outbox, drafts, plain
    history) live in its `console/` folder, shared with the full console.
    """
    from ..client import DeskClient
    from ..drafts import Drafts
    from .prompt import Console
    from .session import Session

    folder = (data_dir or default_data_dir()) / "console"
    me = librarian_id(folder)
    console = Console(stdin, stdout, color=color, history=folder / "plain-history")
    session = Session(settings, console, librarian_id=me, name=name or settings.librarian.name,
                      url=url, drafts=Drafts(folder / "drafts.json"))
    client = DeskClient(url, token, librarian_id=me, name=session.name, on_frame=session.on_frame,
                        on_status=session.on_status, outbox=folder / "outbox.json")
    session.client = client
    console.line(f"libchat-tui plain mode. Connecting to {url} …")
    console.start()
    connection = asyncio.create_task(client.run())
    loop = asyncio.get_running_loop()
    interrupt = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, console.line, "To leave, type /quit or press Ctrl-D.")
        interrupt = True
    try:
        return await session.repl()
    finally:
        if interrupt:
            loop.remove_signal_handler(signal.SIGINT)
        await client.stop()
        connection.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connection
        session.drafts.save()
        console.close()
