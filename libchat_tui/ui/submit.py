"""One save per dialog: a desk command that outlives the dialog that started it.

The Note, Ticket and Reference Analytics dialogs send their save through `submit()`. It
starts the command as the app's task (closing the dialog never cancels it), learns the
command's id from `DeskClient.queued_frames()`, and remembers the submission under a
key (``note:<chat id>``), so a second ctrl+s, or reopening the dialog, finds the same
command instead of sending another. While the desk is unreachable the command waits in
the client's outbox; `withdraw()` takes it back if it has not left yet.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..client import CommandError

if TYPE_CHECKING:
    from .app import LibChatApp


@dataclass
class Submission:
    """A save on its way to the desk."""

    key: str
    command_id: str | None
    task: asyncio.Task[dict[str, Any] | None]
    shown: str = ""  # what was saved, to show it again while it waits
    done_message: str = ""  # said when it is stored after the dialog has closed
    detached: bool = False  # the dialog has gone: the app reports the outcome
    errors: list[CommandError] = field(default_factory=list, repr=False)

    @property
    def pending(self) -> bool:
        return not self.task.done()

    @property
    def error(self) -> CommandError | None:
        """Why the desk refused it (or could not be asked), once it has answered."""
        return self.errors[0] if self.errors else None


async def submit(app: LibChatApp, key: str, type_: str, *, shown: str = "",
                 **fields: Any) -> Submission | None:
    """Send one command for the dialog at `key`; None if there is no connection at all."""
    client = app.client
    if client is None:
        app.notify("Not connected to the desk yet.", severity="warning", markup=False)
        return None
    before = {frame.id for frame in client.queued_frames()}
    errors: list[CommandError] = []

    async def run() -> dict[str, Any] | None:
        try:
            result = await client.command(type_, **fields)
        except CommandError as exc:
            errors.append(exc)
            return None
        app.apply_now()
        return result

    task = asyncio.get_running_loop().create_task(run())
    await asyncio.sleep(0)  # the command registers itself before its first pause
    new = [frame.id for frame in client.queued_frames() if frame.id not in before]
    submission = Submission(key, new[0] if new else None, task, shown=shown, errors=errors)
    app.submissions[key] = submission
    task.add_done_callback(lambda _t: _finished(app, submission))
    return submission


def _finished(app: LibChatApp, submission: Submission) -> None:
    if app.submissions.get(submission.key) is submission:
        del app.submissions[submission.key]
    if not submission.detached or submission.task.cancelled():
        return
    error = submission.error
    if error is None and submission.task.result() is not None:
        app.notify(submission.done_message or "Saved.", markup=False)
    elif error is not None and error.code != "withdrawn":
        app.notify(f"A queued save was refused: {error.message}", title="Refused",
                   severity="error", timeout=15, markup=False)


def withdraw(app: LibChatApp, submission: Submission) -> bool:
    """Take back a queued save that has not reached the desk (True if it was taken back)."""
    if app.client is None or submission.command_id is None or not submission.pending:
        return False
    taken = app.client.withdraw(submission.command_id)
    dashboard = app.dashboard
    if taken and dashboard is not None:  # "(1 queued)" in the desk bar goes at once
        dashboard.refresh_desk_bar()
        dashboard.show_queued()
    return taken
