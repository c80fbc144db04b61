"""The whole backend in one object: store + desk + server, started and stopped together.

`libchat-tui serve` runs one on its own; the console runs one in-process for the demo
desk; tests start one on port 0 in a temporary directory.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from .clock import Clock, RealClock
from .desk import Desk
from .server import DeskServer
from .store import Store

log = logging.getLogger(__name__)

DB_NAME = "desk.sqlite3"


class Backend:
    """A running chat desk."""

    def __init__(
        self,
        *,
        data_dir: Path,
        grace_seconds: float = 60.0,
        clock: Clock | None = None,
        token: str | None = None,
        datasets: dict[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_origins: frozenset[str] = frozenset(),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self.clock = clock or RealClock()
        self.store = Store(self.data_dir / DB_NAME)
        self.desk = Desk(self.store, self.clock, grace_seconds=grace_seconds)
        self.server = DeskServer(
            self.desk, token=self.token, datasets=datasets, allowed_origins=allowed_origins
        )
        self.url = ""

    async def start(self) -> None:
        """Open the store, restore open chats, and listen."""
        await self.store.open()
        restored = await self.desk.restore()
        if restored:
            log.info("restored %d open chats", restored)
        await self.server.start(self.host, self.port)
        self.port = self.server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"ws://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening, let in-flight writes commit, close the store."""
        await self.server.stop()
        await self.store.close()

    async def __aenter__(self) -> Backend:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
