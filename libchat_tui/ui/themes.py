"""The console's own themes: high contrast, and colour-blind safe.

Both set the `$badge-*` variables that app.tcss and the badges use. The colour-blind
palette keeps the four badge colours apart under protanopia, deuteranopia and
tritanopia (checked by a simulation in tests/test_ui_accessibility.py); contrast
ratios are in docs/accessibility.md. Colour is never the only cue: every badge also
has a glyph and a word.
"""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = "high-contrast"
COLOUR_BLIND = "colour-blind-safe"


def console_themes() -> list[Theme]:
    """The themes the app registers (built on call: no work at import time)."""
    return [
        Theme(
            name=HIGH_CONTRAST,
            primary="#FFFF00",
            secondary="#00FFFF",
            accent="#FF80FF",
            warning="#FFA500",
            error="#FF8080",
            success="#00FF00",
            foreground="#FFFFFF",
            background="#000000",
            surface="#000000",
            panel="#1F1F1F",
            dark=True,
            text_alpha=1.0,
            variables={
                "badge-new": "#FFFF00",
                "badge-active": "#00FFFF",
                "badge-reconnecting": "#FFA500",
                "badge-ended": "#FF80FF",
                "text-muted": "#D9D9D9",
                "border-blurred": "#D9D9D9",
                "block-cursor-foreground": "#000000",
                "block-cursor-background": "#FFFF00",
                "footer-key-foreground": "#FFFF00",
                "input-selection-background": "#FFFF00 40%",
            },
        ),
        Theme(
            name=COLOUR_BLIND,
            primary="#99DDFF",
            secondary="#EEDD88",
            accent="#FFB000",
            warning="#FFB000",
            error="#FF69B4",
            success="#99DDFF",
            foreground="#F0F0F0",
            background="#121212",
            surface="#121212",
            panel="#262626",
            dark=True,
            variables={
                "badge-new": "#EEDD88",
                "badge-active": "#99DDFF",
                "badge-reconnecting": "#FFB000",
                "badge-ended": "#FF69B4",
                "text-muted": "#BDBDBD",
                "block-cursor-foreground": "#121212",
                "block-cursor-background": "#99DDFF",
            },
        ),
    ]
