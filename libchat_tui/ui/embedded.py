"""The demo desk: a backend and simulated patrons inside the console's process."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from ..backend.runtime import Backend
from ..limits import Limits
from ..simulator import Simulator
from ..team_settings import TeamSettings


class EmbeddedDesk:
    """A Backend on a loopback port with a Simulator feeding it patrons."""

    def __init__(self, *, data_dir: Path, grace_seconds: float, seed: int, speed: float,
                 patrons: int | None, datasets: dict[str, Any] | None = None,
                 team: TeamSettings | None = None) -> None:
        self.backend = Backend(data_dir=data_dir, grace_seconds=grace_seconds, datasets=datasets,
                               limits=Limits().for_simulated_patrons(), team=team)
        self.seed = seed
        self.speed = speed
        self.patrons = patrons
        self.simulator: Simulator | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def token(self) -> str:
        return self.backend.token

    async def start(self) -> None:
        await self.backend.start()
        self.simulator = Simulator(self.backend.url, seed=self.seed, speed=self.speed,
                                   patrons=self.patrons, grace_seconds=self.backend.desk.grace_seconds,
                                   arrival_mean_seconds=12.0)
        self._task = asyncio.create_task(self.simulator.run())

    async def stop(self) -> None:
        if self.simulator is not None:
            await self.simulator.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.backend.stop()
