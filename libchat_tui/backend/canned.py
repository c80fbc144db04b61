"""Canned messages: the team's shared replies, stored in the desk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import DeskServer, LibrarianConnection


def hello_fields(server: DeskServer, conn: LibrarianConnection) -> dict[str, Any]:
    """What this feature adds to the `hello` ack."""
    return {}


#: Command class -> handler (merged into the server's LIBRARIAN_HANDLERS).
HANDLERS: dict[type[Any], Any] = {}
