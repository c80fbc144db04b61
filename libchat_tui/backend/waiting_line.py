"""The queue of waiting chats, and each waiting patron's place in it.

The desk calls `update(chat)` whenever a chat changes; the line keeps the waiting chats
in arrival order and tells a patron their place (`queue` frame) when they join and
whenever it changes. A patron joining at the back changes nobody else's place, so a
burst of joins costs one frame each; a chat leaving the line moves only those behind it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime

from .. import protocol as p
from ..domain import Chat, ChatState

Tell = Callable[[int, p.Frame], None]


class WaitingLine:
    """Waiting chats ordered by arrival (time, then id)."""

    def __init__(self, tell: Tell) -> None:
        self._tell = tell
        self._keys: list[tuple[datetime, int]] = []
        self._key_of: dict[int, tuple[datetime, int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def position(self, chat_id: int) -> int | None:
        """1 for the next chat to be taken; None if the chat is not waiting."""
        key = self._key_of.get(chat_id)
        if key is None:
            return None
        return bisect.bisect_left(self._keys, key) + 1

    def update(self, chat: Chat) -> None:
        waiting = chat.state is ChatState.WAITING
        key = self._key_of.get(chat.id)
        if waiting and key is None:
            key = (chat.created_at, chat.id)
            index = bisect.bisect_left(self._keys, key)
            self._keys.insert(index, key)
            self._key_of[chat.id] = key
            self._announce(index)
        elif not waiting and key is not None:
            index = bisect.bisect_left(self._keys, key)
            del self._keys[index]
            del self._key_of[chat.id]
            self._announce(index)

    def _announce(self, start: int) -> None:
        """Tell everyone from `start` on their (new) place."""
        for index in range(start, len(self._keys)):
            chat_id = self._keys[index][1]
            self._tell(chat_id, p.QueueEvent(index + 1))
