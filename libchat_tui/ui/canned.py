"""Canned messages on the dashboard: the picker (ctrl+k), / in the composer, the editor.

A mixin of `DashboardScreen`: Textual merges the BINDINGS of every class in the MRO, and
`check_action` is cooperative (the dashboard's falls through to `super()`).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType


class CannedKeys:
    BINDINGS: ClassVar[list[BindingType]] = []
