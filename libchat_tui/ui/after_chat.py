"""The after-chat screens, by the action that opens them.

The dashboard's bindings for these actions apply only when a screen is registered
here, so the footer never offers a key that does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..domain import Chat

if TYPE_CHECKING:
    from .app import LibChatApp

Opener = Callable[["LibChatApp", Chat | None], None]

SCREENS: dict[str, Opener] = {}
