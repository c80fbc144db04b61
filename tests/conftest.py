"""Shared fixtures: a real backend on port 0 with a fake clock and a real SQLite file."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits
from libchat_tui.team_settings import TeamSettings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def backend(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Backend]:
    # Many test patrons come from 127.0.0.1: per-address counts are lifted (the limits have their own tests).
    server = Backend(data_dir=tmp_path / "data", grace_seconds=60, clock=clock, token="test-token",
                     limits=Limits().for_simulated_patrons())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def team_desk(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Backend]:
    """A team desk: two departments ("General", "Law library"), 60 s to answer a transfer
    offer, and per-address counts lifted (test patrons all come from loopback)."""
    server = Backend(data_dir=tmp_path / "data", clock=clock, token="t",
                     limits=Limits().for_simulated_patrons(),
                     team=TeamSettings(departments=("General", "Law library"), transfer_seconds=60))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
