"""A department whose every monitor is away takes no chats (issue 22): per department,
"is anyone online?" decides the widget's offer, the patron client's message and the desk
bar's warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_support import make_app, wait_until
from wire import librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend

LAW = "Law library"



async def online(desk: Backend, department: str | None = None) -> int:
    peer = await patron(desk.url)
    fields = {} if department is None else {"department": department}
    reply = await peer.ok("status", **fields)
    await peer.close()
    return int(reply["librarians_online"])


async def test_status_counts_only_who_is_online_for_the_department(team_desk: Backend) -> None:
    ana, _ = await librarian(team_desk.url, "t", "Ana Reyes", lib_id="ana")
    ben, _ = await librarian(team_desk.url, "t", "Ben Ortiz", lib_id="ben")
    await ana.ok("monitor", departments=[LAW])
    await ben.ok("monitor", departments=["General"])
    team = await ben.next_event("team")  # a monitor change reaches colleagues
    while next(e for e in team["librarians"] if e["id"] == "ana")["monitor"] != [LAW]:
        team = await ben.next_event("team")
    assert await online(team_desk, LAW) == 1 and await online(team_desk, "law LIBRARY") == 1
    assert await online(team_desk) == 1  # the default department: General, Ben's
    await ana.ok("presence", state="away")
    assert await online(team_desk, LAW) == 0  # Ben is online, but he does not answer Law library
    assert await online(team_desk, "General") == 1
    peer = await patron(team_desk.url)
    refused = await peer.request("status", department="Astrology")
    assert refused["type"] == "error" and refused["code"] == "unknown_department"
    await ana.ok("presence", state="online")
    assert await online(team_desk, LAW) == 1


@pytest.mark.parametrize("width", [160, 80])
async def test_the_desk_bar_says_which_department_nobody_is_online_for(
        team_desk: Backend, clock: FakeClock, tmp_path: Path, width: int) -> None:
    ana, _ = await librarian(team_desk.url, "t", "Ana Reyes", lib_id="ana")
    await ana.ok("monitor", departments=[LAW])
    app = make_app(team_desk, clock, tmp_path, name="Ben Ortiz", librarian_id="ben")
    async with app.run_test(size=(width, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.librarians, "the roster")
        await app.request("monitor", departments=["General"])

        def bar() -> str:
            return str(app.screen.query_one("#desk-bar").render())

        await wait_until(pilot, lambda: "Ana Reyes" in bar())
        assert "nobody online" not in bar()
        await ana.ok("presence", state="away")
        await wait_until(pilot, lambda: f"⚠ nobody online: {LAW}" in bar(), "the warning, in words")
        assert len(bar()) <= width and "away" in bar()  # whole at 80 columns, Ana still counted
        await ana.ok("presence", state="online")
        await wait_until(pilot, lambda: "nobody online" not in bar(), "the warning goes")


async def test_the_patron_client_offers_a_ticket_when_nobody_answers_its_department(
        team_desk: Backend, tmp_path: Path) -> None:
    import argparse
    import asyncio

    from test_patron_cli import Keyboard, Screen

    from libchat_tui import patron_cli

    ana, _ = await librarian(team_desk.url, "t", "Ana Reyes", lib_id="ana")
    await ana.ok("monitor", departments=[LAW])
    await ana.ok("presence", state="away")
    keyboard, screen = Keyboard(), Screen()
    args = argparse.Namespace(server=team_desk.url, name="Lena", email="", resume=False, department=LAW)
    task = asyncio.create_task(patron_cli.run(args, stdin=keyboard, stdout=screen))
    try:
        await screen.shows("Your question")
        keyboard.type("The 1998 building code?")
        await screen.shows(f"Nobody for {LAW} is online to chat right now")
        await screen.shows("Your e-mail (needed for the answer)")
        keyboard.type("lena@example.org")
        await screen.shows("Your question is ticket #")
        assert await asyncio.wait_for(task, 10) == 0
    finally:
        if not task.done():
            task.cancel()
        keyboard.eof()
    chats = [c for c in team_desk.desk.chats.values() if c.state.value == "waiting"]
    assert chats == []  # nobody was queued to wait for a librarian who is not there
