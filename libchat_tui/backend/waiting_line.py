"""The queue of waiting chats, and each waiting patron's place in it.

The desk calls `update(chat)` whenever a chat changes; the line keeps the waiting chats
in arrival order and tells a patron their place (`queue` frame) when they join and
whenever it changes. A patron joining at the back changes nobody else's place, so a
burst of joins costs one frame each; a chat leaving the line moves only those behind it.

Places are told a moment later, coalesced (`TELL_AFTER`): a burst of dismissals or
accepts at the head of a long line tells each patron behind them their new place once,
not once per chat that left, and a patron whose place did not change hears nothing. (The
`join` and `resume` acks carry the place at once.)
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable
from datetime import datetime

from .. import protocol as p
from ..domain import Chat, ChatState

Tell = Callable[[int, p.Frame], None]
#: Seconds a change of places waits for more before the patrons are told.
TELL_AFTER = 0.2


class WaitingLine:
    """Waiting chats, one line per department, each ordered by `Chat.queue_key`
    (arrival; a chat transferred back to a department goes to the head of its line)."""

    def __init__(self, tell: Tell) -> None:
        self._tell = tell
        self._lines: dict[str, list[tuple[datetime, int]]] = {}
        self._key_of: dict[int, tuple[str, tuple[datetime, int]]] = {}
        self._told: dict[int, int] = {}  # chat id -> the place its patron was last told
        self._dirty: dict[str, int] = {}  # department -> the first place that may have moved
        self._scheduled = False

    def __len__(self) -> int:
        return len(self._key_of)

    def position(self, chat_id: int) -> int | None:
        """1 for the next chat to be taken in its department; None if it is not waiting."""
        found = self._key_of.get(chat_id)
        if found is None:
            return None
        department, key = found
        return bisect.bisect_left(self._lines[department], key) + 1

    def head(self, department: str) -> datetime | None:
        """When the first chat in this department's line was queued (None: nobody waits)."""
        line = self._lines.get(department)
        return line[0][0] if line else None

    def update(self, chat: Chat) -> None:
        waiting = chat.state is ChatState.WAITING
        found = self._key_of.get(chat.id)
        wanted = (chat.department, chat.queue_key) if waiting else None
        if found == wanted:
            return
        if found is not None:
            department, key = found
            line = self._lines[department]
            index = bisect.bisect_left(line, key)
            del line[index]
            del self._key_of[chat.id]
            self._told.pop(chat.id, None)
            self._moved(department, index)
        if wanted is not None:
            department, key = wanted
            line = self._lines.setdefault(department, [])
            index = bisect.bisect_left(line, key)
            line.insert(index, key)
            self._key_of[chat.id] = wanted
            self._moved(department, index)

    def _moved(self, department: str, start: int) -> None:
        """Places from `start` on in this department's line may have changed: tell them soon."""
        self._dirty[department] = min(start, self._dirty.get(department, start))
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a unit test): tell at once
            self.flush()
            return
        self._scheduled = True
        loop.call_later(TELL_AFTER, self.flush)

    def flush(self) -> None:
        """Tell every patron whose place changed since they were last told, once."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, {}
        for department, start in dirty.items():
            line = self._lines.get(department, [])
            for index in range(start, len(line)):
                chat_id = line[index][1]
                if self._told.get(chat_id) != index + 1:
                    self._told[chat_id] = index + 1
                    self._tell(chat_id, p.QueueEvent(index + 1))
