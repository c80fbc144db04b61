"""A checkbox and radio buttons whose state is a glyph, not only a colour.

Textual's toggles always draw the same `▐X▌` / `▐●▌` and say on or off by colour alone
(and "off" is nearly invisible on some themes). These draw `[x]`/`[ ]` and `(•)`/`( )`,
still coloured from the theme, so the state reads in any palette and in a screenshot.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class StateCheckbox(Checkbox):
    """A checkbox drawn as `[x]` when ticked and `[ ]` when not."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.styled("[x]" if self.value else "[ ]", style)


class StateRadioButton(RadioButton):
    """A radio button drawn as `(•)` when chosen and `( )` when not."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.styled("(•)" if self.value else "( )", style)
