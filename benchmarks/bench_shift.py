"""The console after an accelerated shift: N chats through the desk and closed; RSS growth.

A console that runs all day must not grow with the chats it has seen. In a fresh process
per sample, the console starts with 20 active chats, its RSS is read (after a
collection), and then N chats go through the desk as fast as the console takes them, in
batches of 50: each arrives waiting, is accepted by this librarian, the patron types and
they exchange 6 messages; the first chat of each batch is opened (its transcript loaded
into the pane, as when the desk answers `transcript`); then every chat ends and is closed,
and one in four patrons typed once more before leaving. At the end (after a collection
and a frame) the RSS growth is reported, with what the console still holds: chats in the
model, cached transcripts, typing marks and cached chat-list rows (all should be back to
about the 20 chats still on the desk).

Baseline: the bare app doing the same screen work with the same frames (json.loads):
chats in a dict, OptionList rebuilt each batch, the opened chat's lines in a Log.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.widgets import Log, OptionList
from textual.widgets.option_list import Option

from libchat_tui.ui.screens.dashboard import DashboardScreen

from .common import REPEATS, Mode, Samples, alternate, mode_from_argv, rss_mb, settle_memory
from .console_support import T0, TEXT, BareDesk, bare_row, chat_wire, console_app, running

BATCH = 50
STAY = 20  # active chats on the desk all along
SHIFT = {"smoke": 60, "quick": 1000, "full": 2000}


def batches(total: int) -> list[tuple[list[str], list[str], int]]:
    """(frames up to the conversation, frames ending and closing, chat to open) per batch."""
    out = []
    seq = 10
    message_id = 1
    for start in range(0, total, BATCH):
        first, last = [], []
        ids = range(1000 + start, 1000 + min(total, start + BATCH))
        for chat_id in ids:
            at = T0 + timedelta(hours=1, seconds=chat_id)

            def chat(state: str, chat_id: int = chat_id, at: Any = at) -> str:
                nonlocal seq
                seq += 1
                wire = chat_wire(chat_id, state, at)
                if state != "waiting":
                    wire["owner"] = {"kind": "librarian", "id": "ana", "name": "Ana"}
                return json.dumps({"type": "chat", "seq": seq, "chat": wire})

            first += [chat("waiting"), chat("active"), json.dumps({"type": "typing", "chat_id": chat_id,
                                                                   "who": "patron"})]
            for k in range(6):
                seq += 1
                message_id += 1
                first.append(json.dumps({"type": "message", "seq": seq, "message_count": 2 + k, "message": {
                    "id": message_id, "chat_id": chat_id, "sender": "patron" if k % 2 == 0 else "librarian",
                    "author": f"Patron {chat_id}" if k % 2 == 0 else "Ana", "text": f"{k}: {TEXT}",
                    "at": (at + timedelta(seconds=k)).isoformat()}}))
            last.append(chat("ended"))
            if chat_id % 4 == 0:
                last.append(json.dumps({"type": "typing", "chat_id": chat_id, "who": "patron"}))
            last.append(chat("closed"))
        out.append((first, last, ids[0]))
    return out


async def ours(total: int) -> dict[str, float]:
    from .console_support import messages

    with tempfile.TemporaryDirectory() as tmp:
        app = console_app(Path(tmp))
        async with running(app) as pilot:
            app.feed({"type": "snapshot", "seq": 1, "chats": [chat_wire(i) for i in range(1, STAY + 1)]})
            app.flush()
            await pilot.pause(0.3)
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            settle_memory()
            before = rss_mb()
            for first, last, open_id in batches(total):
                for raw in first:
                    app.feed(raw)
                app.flush()
                result = {"chat": app.model.chats[open_id].to_wire(), "notes": [],
                          "messages": [m.to_wire() for m in messages(6, open_id)]}
                entries = app.model.load_transcript(result)
                screen.pane.show(app.model.chats[open_id], app.now(), entries)
                for raw in last:
                    app.feed(raw)
                app.flush()
                await pilot.pause()
            await pilot.pause(0.3)
            settle_memory()
            after = rss_mb()
            model = app.model
            return {"shift_rss_mb": after - before, "shift_model_chats": len(model.chats),
                    "shift_transcripts": len(model.transcripts), "shift_typing": len(model.typing),
                    "shift_rows": len(screen.chat_list._rows)}


class BareShift(BareDesk):
    """Baseline: chats in a dict, the list rebuilt per batch, the opened chat's lines in a Log."""

    chats: dict[int, dict[str, Any]]

    def apply(self, frames: list[dict[str, Any]], open_id: int | None) -> None:
        log = self.query_one(Log)
        for frame in frames:
            if frame["type"] == "chat":
                chat = frame["chat"]
                if chat["state"] == "closed":
                    self.chats.pop(chat["id"], None)
                else:
                    self.chats[chat["id"]] = chat
            elif frame["type"] == "message" and frame["message"]["chat_id"] == open_id:
                m = frame["message"]
                log.write_line(f"{m['at'][11:16]} {m['author'] + ':':16}{m['text']}")
        ordered = sorted(self.chats.values(), key=lambda c: (c["state"], c["last_activity"]))
        self.query_one(OptionList).set_options([Option(bare_row(c["id"]), id=str(c["id"])) for c in ordered])


async def bare(total: int) -> dict[str, float]:
    app = BareShift()
    async with running(app) as pilot:
        app.chats = {i: chat_wire(i) for i in range(1, STAY + 1)}
        app.apply([], None)
        await pilot.pause(0.3)
        settle_memory()
        before = rss_mb()
        for first, last, open_id in batches(total):
            app.apply([json.loads(raw) for raw in first], None)
            app.query_one(Log).clear()
            app.apply([json.loads(raw) for raw in first if f'"chat_id": {open_id},' in raw], open_id)
            app.apply([json.loads(raw) for raw in last], None)
            await pilot.pause()
        await pilot.pause(0.3)
        settle_memory()
        return {"shift_bare_rss_mb": rss_mb() - before}


def _fresh(kind: str, total: int) -> dict[str, float]:
    """One sample in a fresh process, so RSS is this shift's alone."""
    cmd = [sys.executable, "-m", "benchmarks.bench_shift", "one", kind, str(total)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


async def run(mode: Mode) -> Samples:
    samples = Samples()
    total = SHIFT[mode]

    async def one_ours() -> dict[str, float]:
        return _fresh("ours", total)

    async def one_bare() -> dict[str, float]:
        return _fresh("bare", total)

    await alternate(REPEATS[mode], one_ours, one_bare, samples)
    return samples


if __name__ == "__main__":
    if sys.argv[1:2] == ["one"]:
        fn = ours if sys.argv[2] == "ours" else bare
        print(json.dumps(asyncio.run(fn(int(sys.argv[3])))))
    else:
        asyncio.run(run(mode_from_argv())).emit()
