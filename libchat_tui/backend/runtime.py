"""The whole backend in one object: store + desk + server, started and stopped together.

`libchat-tui serve` runs one on its own; the console runs one in-process for the demo
desk; tests start one on port 0 in a temporary directory.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..libanswers.push import PushWorker
from ..limits import Limits
from ..team_settings import TeamSettings
from ..web.settings import WidgetSettings
from . import canned, team
from .clock import Clock, RealClock
from .desk import Desk
from .server import DeskServer
from .store import Store

if TYPE_CHECKING:
    from ..libanswers.settings import LibAnswersConfig

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
        widget: WidgetSettings | None = None,
        libanswers: LibAnswersConfig | None = None,
        limits: Limits | None = None,
        team: TeamSettings | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self.clock = clock or RealClock()
        self.store = Store(self.data_dir / DB_NAME)
        self.desk = Desk(self.store, self.clock, grace_seconds=grace_seconds, team=team)
        self.server = DeskServer(
            self.desk, token=self.token, datasets=datasets, allowed_origins=allowed_origins, widget=widget,
            limits=limits,
        )
        self.libanswers = libanswers
        self.pusher: PushWorker | None = None
        self.url = ""

    async def start(self) -> None:
        """Open the store, restore open chats, and listen."""
        await self.store.open()
        self.desk.libanswers = self.libanswers
        if self.libanswers is not None:
            self.pusher = PushWorker(self.store, self.libanswers, self.server.dataset_models, self.desk.clock,
                                     on_change=self._pushed)
            self.pusher.start()
            self.server.pusher = self.pusher
        await team.load_monitors(self.desk)
        await canned.restore(self.desk)
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
        self.desk.stop_timers()
        self.server.transfer_timers.stop()
        if self.pusher is not None:
            await self.pusher.stop()
        await self.store.close()

    def _pushed(self, kind: str, record_id: int, state: dict[str, Any]) -> None:
        """A ticket or RA entry changed push state: consoles show it (an ephemeral frame)."""
        problem = None if self.pusher is None else self.pusher.problem
        self.server.broadcast_signal(p.PushEvent(kind, record_id, state, problem))  # type: ignore[arg-type]

    async def __aenter__(self) -> Backend:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
