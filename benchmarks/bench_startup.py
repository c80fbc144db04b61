"""Process start → first dashboard paint with the embedded desk holding 200 chats,
against a minimal Textual app's process start → first paint (both headless)."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from libchat_tui.backend.runtime import Backend

OURS = """
import sys
from pathlib import Path
from libchat_tui.config import load_settings
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.embedded import EmbeddedDesk

data = Path(sys.argv[1])
(data / "c.toml").write_text("[appearance]\\nbell = false\\n")
desk = EmbeddedDesk(data_dir=data, grace_seconds=60, seed=1, speed=1, patrons=0)
app = LibChatApp(load_settings(data / "c.toml"), librarian_id="bench", name="Bench",
                 embedded=desk, data_dir=data / "console")

async def painted():
    import asyncio
    while len(app.model.chats) < 200:
        await asyncio.sleep(0.002)
    app.call_after_refresh(lambda: (print("PAINTED", flush=True), app.exit()))

app.call_later(lambda: app.run_worker(painted()))
app.run(headless=True, size=(120, 40))
"""

BARE = """
from textual.app import App
from textual.widgets import Label, OptionList

class Bare(App):
    def compose(self):
        yield Label("desk")
        yield OptionList(*[f"chat {i}" for i in range(200)])
    def on_mount(self):
        self.call_after_refresh(lambda: (print("PAINTED", flush=True), self.exit()))

Bare().run(headless=True, size=(120, 40))
"""


async def _seed(data: Path, chats: int) -> None:
    from websockets.asyncio.client import connect

    async with Backend(data_dir=data, token="t") as backend:
        for i in range(chats):
            async with connect(f"{backend.url}/patron") as ws:
                await ws.send(f'{{"type":"join","id":"j","name":"P{i}","question":"Question {i}"}}')
                await ws.recv()


def _time(code: str, *args: str) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
    assert "PAINTED" in out.stdout, out.stderr[-2000:]
    return time.perf_counter() - start


def run(quick: bool) -> dict[str, float]:
    runs = 3 if quick else 7
    ours, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        asyncio.run(_seed(data, 200))
        for _ in range(runs):
            ours.append(_time(OURS, str(data)))
            bare.append(_time(BARE))
    return {"startup_200_chats_s": statistics.median(ours), "startup_bare_s": statistics.median(bare),
            "startup_ratio": statistics.median(ours) / statistics.median(bare)}
