"""How the team desk is set up: departments, transfer timeout, re-alerts, canned messages.

`[desk]` and `[canned]` in config.toml (parsed by `config.py`); the desk (`serve`, or the
demo desk) takes them as one `TeamSettings`. No textual, no sockets: the backend, the
console and the settings parser share it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The department a chat joins when the patron (or the widget) names none.
DEFAULT_DEPARTMENT = "General"


@dataclass(frozen=True, slots=True)
class TeamSettings:
    #: The desk's queues, in the order consoles list them; the first is the default.
    departments: tuple[str, ...] = (DEFAULT_DEPARTMENT,)
    #: How long a colleague has to answer a transfer before it falls back to the sender.
    transfer_seconds: float = 60.0
    #: A chat waiting longer than this alerts every online librarian again (0: never).
    realert_seconds: float = 180.0
    #: Canned messages the desk starts with, (name, text); the team edits them afterwards.
    canned: tuple[tuple[str, str], ...] = ()

    @property
    def default_department(self) -> str:
        return self.departments[0]
