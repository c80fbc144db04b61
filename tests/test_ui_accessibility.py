"""The full console without relying on colour vision, motion or one bell for everything.

Themes (high contrast, colour-blind safe) checked by contrast ratio and by a simulation
of protanopia, deuteranopia and tritanopia; NO_COLOR; focus, unread, owner and the
composer's mode in words or glyphs; reduce motion; a bell per desk event.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from desk_ids import desk_id
from textual.widgets import Input
from ui_support import Toasts, make_app, screen_strips, screen_text, wait_until
from wire import join, librarian, patron

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.ui.app import LibChatApp
from libchat_tui.ui.themes import COLOUR_BLIND, HIGH_CONTRAST, console_themes
from libchat_tui.ui.widgets.chat_list import ChatList
from libchat_tui.ui.widgets.composer import Composer

BADGES = ("badge-new", "badge-active", "badge-reconnecting", "badge-ended")

# --- colour science: WCAG 2 contrast, Machado et al. (2009) CVD simulation, CIELAB ΔE ---

#: Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD: dict[str, tuple[tuple[float, float, float], ...]] = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}


def linear(hex_colour: str) -> tuple[float, float, float]:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    h = hex_colour.lstrip("#")
    r, g, b = (channel(int(h[i:i + 2], 16)) for i in (0, 2, 4))
    return r, g, b


def luminance(rgb: tuple[float, float, float]) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two sRGB colours."""
    high, low = sorted((luminance(linear(a)), luminance(linear(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def simulate(hex_colour: str, vision: str) -> tuple[float, float, float]:
    rgb = linear(hex_colour)
    if vision == "normal":
        return rgb
    m = CVD[vision]
    r, g, b = (min(1.0, max(0.0, sum(m[i][j] * rgb[j] for j in range(3)))) for i in range(3))
    return r, g, b


def lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


THEMES = {theme.name: theme for theme in console_themes()}
#: ΔE*ab (CIE 1976) between any two badges, in every simulated vision; 2.3 is "just
#: noticeable", 20 is "clearly another colour".
MIN_DELTA_E = 20.0


@pytest.mark.parametrize("vision", ["normal", *CVD])
@pytest.mark.parametrize("name", [COLOUR_BLIND, HIGH_CONTRAST])
def test_badge_colours_stay_apart_in_every_colour_vision(name: str, vision: str) -> None:
    variables = THEMES[name].variables
    for a, b in itertools.combinations(BADGES, 2):
        distance = math.dist(lab(simulate(variables[a], vision)), lab(simulate(variables[b], vision)))
        assert distance >= MIN_DELTA_E, f"{name}, {vision}: {a} and {b} are only ΔE {distance:.1f} apart"


@pytest.mark.parametrize(("name", "minimum"), [(COLOUR_BLIND, 7.0), (HIGH_CONTRAST, 7.0)])
def test_badge_and_text_contrast_meet_wcag_aaa(name: str, minimum: float) -> None:
    theme = THEMES[name]
    assert theme.background is not None and theme.surface is not None and theme.foreground is not None
    for ground in (theme.background, theme.surface):
        for key in (*BADGES, "text-muted"):
            ratio = contrast(theme.variables[key], ground)
            assert ratio >= minimum, f"{name}: {key} on {ground} is {ratio:.2f}:1"
        assert contrast(theme.foreground, ground) >= 15


def test_the_default_palette_is_not_colour_blind_safe() -> None:
    """Why the colour-blind theme exists: the default badges collapse under deuteranopia."""
    defaults = LibChatApp.get_theme_variable_defaults(None)  # type: ignore[arg-type]
    seen = {key: lab(simulate(defaults[key], "deuteranopia")) for key in BADGES}
    closest = min(math.dist(seen[a], seen[b]) for a, b in itertools.combinations(BADGES, 2))
    assert closest < MIN_DELTA_E


# --- the app --------------------------------------------------------------------------


def colour_of(app: LibChatApp, text: str) -> str | None:
    """The foreground colour the screen shows `text` in (first match)."""
    for strip in screen_strips(app):
        for segment in strip:
            if text in segment.text and segment.style is not None and segment.style.color is not None:
                return segment.style.color.get_truecolor().hex.upper()
    return None


def corner(app: LibChatApp, widget_id: str) -> str:
    """The character at the top left corner of a widget, as the terminal shows it."""
    region = app.screen.query_one(widget_id).region
    return screen_text(app).split("\n")[region.y][region.x]


async def test_themes_selectable_in_settings_and_shown_on_screen(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    await join(backend.url, name="Maya")
    app = make_app(backend, clock, tmp_path, config=f'[appearance]\ntheme = "{COLOUR_BLIND}"\nbell = false\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "● NEW" in screen_text(app), "a waiting chat")
        assert app.theme == COLOUR_BLIND
        assert colour_of(app, "● NEW") == THEMES[COLOUR_BLIND].variables["badge-new"]


async def test_theme_picker_in_the_palette_offers_both(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online")
        await pilot.press("ctrl+p", *"theme")
        await wait_until(pilot, lambda: "Change the current theme" in screen_text(app), "the theme command")
        await pilot.press("enter", *"high-contrast")
        await wait_until(pilot, lambda: "high-contrast" in screen_text(app), "the theme in the picker")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == HIGH_CONTRAST, "theme chosen")


async def test_an_unknown_theme_is_named_not_silently_ignored(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path, config='[appearance]\ntheme = "hi-contrast"\nbell = false\n')
    toasts = Toasts()
    async with app.run_test(size=(120, 40), message_hook=toasts) as pilot:
        await wait_until(pilot, lambda: any("'hi-contrast' is not a theme" in n.message and "high-contrast"
                                            in n.message for n in toasts.notifications), "a warning")
        assert app.theme == "textual-dark"


async def test_no_color_every_control_reads_without_colour(
        backend: Backend, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    _pat, joined = await join(backend.url, name="Maya", question="Nature online?")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "● NEW" in screen_text(app), "a waiting chat")
        colours = {segment.style.color.triplet for strip in screen_strips(app) for segment in strip
                   if segment.style is not None and segment.style.color is not None
                   and segment.style.color.triplet is not None}
        assert colours and all(r == g == b for r, g, b in colours), "only greys under NO_COLOR"
        # Focus shows as a heavier border, not only a brighter one.
        assert isinstance(app.focused, ChatList)
        assert (corner(app, "#chat-list"), corner(app, "#transcript")) == ("┏", "╭")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.model.chats[desk_id(backend, joined)].state.value == "active")
        await wait_until(pilot, lambda: isinstance(app.focused, Composer), "composer focused")
        assert (corner(app, "#chat-list"), corner(app, "#composer")) == ("╭", "┏")
        await pilot.press("shift+tab")
        await wait_until(pilot, lambda: app.focused is app.screen.query_one("#transcript"), "transcript")
        assert corner(app, "#transcript") == "┏"


async def test_owner_unread_and_composer_mode_in_words(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    ben, _ = await librarian(backend.url, backend.token, name="Ben Ortiz")
    mine, _joined = await join(backend.url, name="Maya", question="Nature online?")
    _theirs, other = await join(backend.url, name="Sam", question="Opening hours?")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: desk_id(backend, other) in app.model.chats, "both chats")
        await ben.ok("accept", chat_id=desk_id(backend, other))
        await pilot.press("enter")  # Maya's, waiting longest
        await wait_until(pilot, lambda: "with you · Nature online?" in screen_text(app), "mine")
        await wait_until(pilot, lambda: "with Ben Ortiz · Opening hours?" in screen_text(app), "Ben's")
        composer = app.screen.query_one(Composer)
        assert "Reply to the patron (enter sends)" in screen_text(app)
        await pilot.press(*"typing hides the placeholder")
        assert composer.value == "typing hides the placeholder"
        assert "Reply to the patron (enter sends)" in screen_text(app)  # the title stays
        await pilot.press("escape", "down")  # away from Maya's chat: her lines are unread
        await mine.ok("message", text="Hello?")
        await wait_until(pilot, lambda: "✉ 1 new" in screen_text(app), "unread as a glyph and a count")


async def test_animations_off_in_settings(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    await join(backend.url)
    app = make_app(backend, clock, tmp_path, config="[appearance]\nanimations = false\nbell = false\n")
    assert app.animation_level == "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.chats, "a chat")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.focused, Composer), "composer")
        assert app.screen.query_one(Composer).cursor_blink is False


async def test_textual_animations_none_wins_over_the_default(
        backend: Backend, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import textual.constants

    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")  # as TEXTUAL_ANIMATIONS=none
    app = make_app(backend, clock, tmp_path)
    assert app.settings.appearance.animations is True
    async with app.run_test(size=(120, 40)):
        assert app.animation_level == "none"
        assert all(not i.cursor_blink for i in app.screen.query(Input))


async def test_a_bell_per_event(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    config = "[appearance]\nbell = false\nbell_drop = true\nbell_ticket = true\n"
    app = make_app(backend, clock, tmp_path, config=config)
    rings: list[str] = []
    app.bell = lambda: rings.append("ring")  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online")
        pat, joined = await join(backend.url, name="Kim")
        chat_id = desk_id(backend, joined)
        await wait_until(pilot, lambda: chat_id in app.model.chats, "new chat")
        assert rings == []  # bell_new_chat follows bell = false
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "active")
        pat.ws.transport.abort()
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "reconnecting")
        assert rings == ["ring"]  # the drop
        await clock.advance(61)
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "disconnected")
        late = await patron(backend.url)
        await late.ok("resume", token=joined["resume_token"], last_message_id=0)
        await late.ok("ticket", email="kim@example.edu", details="Still need the hours.")
        await wait_until(pilot, lambda: len(rings) == 2, "the patron's ticket rings")


async def test_bells_can_be_silenced_one_by_one(backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    app = make_app(backend, clock, tmp_path, config="[appearance]\nbell_drop = false\n")
    rings: list[str] = []
    app.bell = lambda: rings.append("ring")  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.client is not None and app.client.online, "online")
        pat, joined = await join(backend.url, name="Kim")
        await wait_until(pilot, lambda: rings == ["ring"], "the new chat rings (bell defaults on)")
        await pilot.press("enter")
        chat_id = desk_id(backend, joined)
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "active")
        pat.ws.transport.abort()
        await wait_until(pilot, lambda: app.model.chats[chat_id].state.value == "reconnecting")
        assert rings == ["ring"]
