"""How a ticket's or RA entry's delivery to LibAnswers reads to a librarian. No I/O.

Shared by the desk (which stores the states) and the consoles (which show them), so the
wording lives once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def describe_push(kind: str, state: dict[str, Any], now: datetime) -> str:
    """The line a librarian sees, e.g. "waiting to send: <reason>, next try in 40 s"."""
    noun = "ticket" if kind == "ticket" else "transaction"
    if state["state"] == "sent":
        ref = f" ({noun} {state['remote_id']})" if state["remote_id"] else ""
        return f"sent to LibAnswers{ref}" + (f"; {state['reason']}" if state["reason"] else "")
    if state["state"] == "refused":
        by = {"libanswers": "refused by LibAnswers", "unsure": "not sent again"}
        return f"{by.get(state['refused_by'], 'not sent to LibAnswers')}: {state['reason']}"
    text = "waiting to send" + (f": {state['reason']}" if state["reason"] else "")
    if state["next_try_at"]:
        wait = (datetime.fromisoformat(state["next_try_at"]) - now).total_seconds()
        if wait >= 1:
            text += f", next try in {_span(wait)}"
    return text


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.0f} h"
