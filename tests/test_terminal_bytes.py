"""A real terminal: run the console in a pty with hostile patrons and read every byte it writes.

No escape sequence, control character or bidi override that a patron typed may reach the
terminal; only the app's own output does. The app runs with Textual's real Linux driver.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

from hostile import HOSTILE

CHILD = textwrap.dedent(
    """
    import asyncio, sys, threading
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from hostile import HOSTILE
    from libchat_tui.backend.runtime import Backend
    from libchat_tui.limits import Limits
    from libchat_tui.config import load_settings
    from libchat_tui.ui.app import LibChatApp
    from wire import join

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    backend = Backend(data_dir=Path({data!r}), token="t", limits=Limits().for_simulated_patrons())
    asyncio.run_coroutine_threadsafe(backend.start(), loop).result(10)

    async def patrons():
        for i, text in enumerate(HOSTILE):
            peer, _ = await join(backend.url, name=("N" + text)[:100], question=("Q" + text)[:2000])
            await peer.ok("message", text=("M" + text)[:4000])
            await peer.close()  # (the desk allows 20 patron sockets per address)

    asyncio.run_coroutine_threadsafe(patrons(), loop).result(60)
    settings = load_settings(Path({config!r}))
    app = LibChatApp(settings, librarian_id="ana", name="Ana", url=backend.url, token="t",
                     data_dir=Path({data!r}) / "console")

    async def drive():
        while len(app.model.chats) < len(HOSTILE):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        # Walk every chat so each one's header, list row and transcript is drawn.
        for _ in range(len(HOSTILE)):
            app.screen.query_one("#chat-list").action_cursor_down()
            await asyncio.sleep(0.08)
        await asyncio.sleep(0.5)
        app.exit()

    app.call_later(lambda: app.run_worker(drive()))
    app.run()
    print("\\nCHILD-DONE", flush=True)
    """
)

FORBIDDEN = [
    b"\x1b]52",  # clipboard write
    b"\x1b]0;pwned",  # window title
    b"\x1b]2;Librarian",
    b"\x1b]8;;https://evil",  # hyperlink
    b"\x1bP",  # DCS
    b"\x1b_G",  # APC (kitty graphics)
    b"\x1b[6n",  # device status report request
    b"\x1b[?1049h alternate",
    b"\x1bc",  # full reset
    "\u009b".encode(),  # C1 CSI
    "\u009d".encode(),  # C1 OSC
    "\u202e".encode(),  # right-to-left override
    "\u2066".encode(),
]


def test_no_patron_escape_sequence_reaches_the_terminal(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[appearance]\nbell = false\n")
    script = CHILD.format(tests=str(Path(__file__).parent), data=str(tmp_path / "data"),
                          config=str(config))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "TZ": "UTC"}
    env.pop("TEXTUAL", None)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
                # Answer the terminal queries Textual makes, as a terminal would not need to.
            if proc.poll() is not None and not ready:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        os.close(master)
    assert b"CHILD-DONE" in output, output[-2000:].decode(errors="replace")
    assert proc.returncode == 0
    # Patron text was drawn (the app ran and showed the chats)...
    assert b"[@click=app.quit]click[/]" in output or b"click=app.quit" in output
    assert b"screen wiped" in output
    # ...but none of its control sequences reached the terminal.
    for needle in FORBIDDEN:
        assert needle not in output, (needle, output[output.find(needle) - 80: output.find(needle) + 80])
    assert len(HOSTILE) >= 40
