"""Dismiss and block on the dashboard: keys, the reason and duration prompts, the blocks list.

A mixin of `DashboardScreen`: Textual merges the BINDINGS of every class in the MRO, and
`check_action` is cooperative (the dashboard's falls through to `super()`).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType


class BlockKeys:
    BINDINGS: ClassVar[list[BindingType]] = []
