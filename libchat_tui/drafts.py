"""Drafts: what the librarian was typing, kept on disk so a crash loses nothing.

A small JSON file under the user data dir maps a draft key (e.g. "message:12",
"note:12") to its text. Writes are atomic and owner-only (files.write_atomic) and
debounced by the caller. No textual here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .files import write_atomic

log = logging.getLogger(__name__)


class Drafts:
    """Unsent text per key, persisted to one file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._texts: dict[str, str] = {}
        self.dirty = False
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._texts = {str(k): str(v) for k, v in data.items() if v}
            except (OSError, ValueError, AttributeError):
                log.warning("drafts file %s unreadable; starting without drafts", path)

    def get(self, key: str) -> str:
        return self._texts.get(key, "")

    def set(self, key: str, text: str) -> None:
        if text:
            if self._texts.get(key) != text:
                self._texts[key] = text
                self.dirty = True
        elif key in self._texts:
            del self._texts[key]
            self.dirty = True

    def keys(self) -> list[str]:
        return list(self._texts)

    def save(self) -> None:
        """Write the file now if anything changed."""
        if self.path is None or not self.dirty:
            return
        try:
            write_atomic(self.path, json.dumps(self._texts, ensure_ascii=False))
        except OSError as exc:  # a full disk must not end the console; try again next time
            log.error("cannot save drafts to %s: %s", self.path, exc)
            return
        self.dirty = False
