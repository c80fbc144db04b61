"""Messages the console's connection posts, and the one place failed workers are reported.

Data flows one way: desk frame → `DeskClient` → `DeskModel.apply` → `DeskChanged` posted
to every screen on the stack → each screen redraws what the batch changed. The
connection state is the app's `status` reactive; screens watch it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker, WorkerState

from ..model import Changes

if TYPE_CHECKING:
    from textual.app import App


class DeskChanged(Message):
    """A batch of desk events was applied to the model; `changes` says what moved."""

    def __init__(self, changes: Changes) -> None:
        super().__init__()
        self.changes = changes


class ReportsWorkerFailures:
    """Mixed into every screen: a worker that fails shows an error; the console goes on.

    Workers are started with `exit_on_error=False`; their `StateChanged` does not bubble,
    so each screen passes failures to the app's one report.
    """

    app: App[None]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            report = getattr(self.app, "worker_failed", None)
            if report is not None:
                report(event.worker)
