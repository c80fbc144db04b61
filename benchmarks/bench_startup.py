"""Process start → first dashboard paint of `libchat-tui` itself, vs a minimal Textual app.

Both run as fresh processes with `TEXTUAL_DRIVER=benchmarks.common:FrameDriver`, a
driver that renders every frame in full (bytes discarded) at 120x40; with
`BENCH_PROBE=1` it prints `PAINTED <time>` at the end of the first frame whose list holds
`BENCH_CHATS` rows, and exits. Ours is the `libchat-tui` console script with its embedded
demo desk (`--patrons 0`, so no simulated arrivals) on a data directory already holding
200 open chats: the figure includes importing textual and websockets, opening SQLite,
restoring the 200 chats, the loopback connection, hello/snapshot and the first paint.
The baseline is a minimal Textual app showing an OptionList of 200 rows.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from libchat_tui.backend.runtime import Backend

from .common import Mode, Samples, alternate, mode_from_argv

CHATS = 200
ROOT = Path(__file__).resolve().parent.parent

BARE = """
from textual.app import App
from textual.widgets import Footer, OptionList, Static

class Bare(App):
    def compose(self):
        yield Static("desk")
        yield OptionList(*[f"chat {i}" for i in range(200)])
        yield Footer()

Bare().run()
"""


async def _seed(data: Path, chats: int) -> None:
    """200 chats joined by patrons who then drop: open chats the desk restores at start."""
    from websockets.asyncio.client import connect

    async with Backend(data_dir=data, token="t") as backend:
        for i in range(chats):
            async with connect(f"{backend.url}/patron", local_addr=(f"127.0.0.{2 + i // 20}", 0)) as ws:
                await ws.send(f'{{"type":"join","id":"j","name":"Patron {i}","question":"Question {i}"}}')
                while '"ack"' not in await ws.recv():
                    pass  # a `queue` position comes before the ack


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "TEXTUAL_DRIVER": "benchmarks.common:FrameDriver", "BENCH_PROBE": "1",
            "BENCH_CHATS": str(CHATS), "PYTHONPATH": path, "COLORTERM": "truecolor"}


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    for line in out.stdout.splitlines():
        if line.startswith("PAINTED "):
            return float(line.split()[1]) - start
    raise RuntimeError(f"no paint from {cmd[0]}: {out.stderr[-2000:]}")


def command() -> list[str]:
    script = shutil.which("libchat-tui", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "libchat_tui.cli"]


def run(mode: Mode) -> Samples:
    """One warm-up each, then ours and the bare app alternately (7 each in a full run)."""
    runs = {"smoke": 1, "quick": 3, "full": 7}[mode]
    # Byte-compile the package as `pip install` does: an editable install under
    # PYTHONDONTWRITEBYTECODE (as on these machines) would otherwise compile ~70 modules
    # from source on every start (0.13 s), while the bare app's textual is compiled.
    compileall.compile_dir(ROOT / "libchat_tui", quiet=1)
    samples = Samples()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        config = Path(tmp) / "config.toml"
        config.write_text("[appearance]\nbell = false\n")
        asyncio.run(_seed(data, CHATS))
        env = _env()
        cmd = [*command(), "--config", str(config), "--data-dir", str(data), "--patrons", "0", "--seed", "1"]
        if mode != "smoke":
            _time(cmd, env)  # warm the file cache once, for both
            _time([sys.executable, "-c", BARE], env)

        async def ours() -> dict[str, float]:
            return {"startup_s": _time(cmd, env)}

        async def bare() -> dict[str, float]:
            return {"startup_bare_s": _time([sys.executable, "-c", BARE], env)}

        asyncio.run(alternate(runs, ours, bare, samples))
    return samples


if __name__ == "__main__":
    run(mode_from_argv()).emit()
