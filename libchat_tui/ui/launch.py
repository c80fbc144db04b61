"""Start the console: the demo desk (default) or a connection to `libchat-tui serve`.

Before it starts, `[keys]` is checked against the console's real `Binding` objects (the
settings file is read without textual, so only here are the binding ids known): an unknown
id, a key that would end up bound twice on one screen, or a remap that would leave another
binding without its key stops start-up with the file, the line and both actions named,
like every other settings mistake.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

from ..config import Settings, default_data_dir, keys_mistake, librarian_id
from . import screens
from .app import LibChatApp
from .embedded import EmbeddedDesk
from .screens.dashboard import DashboardScreen
from .widgets.chat_list import ChatList
from .widgets.patron_panel import PatronPanel

#: The dashboard's widgets that have keys of their own (focused, their keys apply with the
#: dashboard's and the app's).
DASHBOARD_WIDGETS: tuple[type[DOMNode], ...] = (ChatList, PatronPanel)


@dataclass(frozen=True)
class _Key:
    """One key of one binding, where it applies."""

    key: str
    binding: Binding
    node: str  # the class whose bindings hold it (a remap replaces keys within one class)

    @property
    def who(self) -> str:
        """What the key does: the binding id, else (Textual's own keys) the action."""
        return self.binding.id or f"{self.node}:{self.binding.action}"

    def said(self) -> str:
        what = self.binding.tooltip or self.binding.description or self.binding.action.replace("_", " ")
        return f'{self.binding.id} ("{what}")' if self.binding.id else f'"{what}" (built in)'


def _keys_of(cls: type[DOMNode], *, priority_only: bool = False) -> list[_Key]:
    """The keys of a class's bindings, its bases' merged in as Textual merges them (a key a
    subclass binds replaces the bases' bindings of that key)."""
    merged: dict[str, list[Binding]] = {}
    for base in reversed(cls.__mro__):
        if issubclass(base, DOMNode):
            merged.update(BindingsMap(base.__dict__.get("BINDINGS", [])).key_to_bindings)
    if issubclass(cls, LibChatApp) and cls.ENABLE_COMMAND_PALETTE:
        merged.setdefault(cls.COMMAND_PALETTE_BINDING, []).append(
            Binding(cls.COMMAND_PALETTE_BINDING, "command_palette", "Command palette", priority=True))
    return [_Key(key, b, cls.__name__) for key, bindings in merged.items() for b in bindings
            if b.priority or not priority_only]


def _screen_classes() -> list[type[Screen[Any]]]:
    """Every screen and dialog of the console (ui/screens), the dashboard first."""
    found: list[type[Screen[Any]]] = [DashboardScreen]
    for module_info in sorted(pkgutil.iter_modules(screens.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{screens.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Screen) and value.__module__ == module.__name__
                    and value not in found):
                found.append(value)
    return found


def _scope_name(screen: type[Screen[Any]]) -> str:
    if screen is DashboardScreen:
        return "the dashboard"
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", screen.__name__.removesuffix("Screen")).lower()
    return f"the {words} {'dialog' if issubclass(screen, ModalScreen) else 'screen'}"


def key_scopes() -> list[tuple[str, list[_Key]]]:
    """Every screen (by name) with the keys in force on it: its own, its widgets' and the
    app's (a dialog gets only the app's priority keys: Textual stops at a modal screen for
    the others)."""
    scopes = []
    for screen in _screen_classes():
        widgets = DASHBOARD_WIDGETS if screen is DashboardScreen else ()
        modal = issubclass(screen, ModalScreen)
        scopes.append((_scope_name(screen), [*(k for w in widgets for k in _keys_of(w)), *_keys_of(screen),
                                             *_keys_of(LibChatApp, priority_only=modal)]))
    return scopes


def remappable_keys() -> dict[str, str]:
    """Binding id -> its default key(s), for every binding `[keys]` may remap: the app's, the
    dashboard's (its mixins' included) and its widgets'. Read off the real `Binding`s, so the
    docs, f1 and the settings check cannot drift from them."""
    table: dict[str, str] = {}
    classes: tuple[type[DOMNode], ...] = (DashboardScreen, *DASHBOARD_WIDGETS, LibChatApp)
    for cls in classes:
        for base in cls.__mro__:
            for binding in base.__dict__.get("BINDINGS", ()):
                if isinstance(binding, Binding) and binding.id:
                    table.setdefault(binding.id, binding.key)
    return table


def _normalized(keys: str) -> list[str]:
    """Keys as Textual binds them ("f5, ctrl+k" -> ["f5", "ctrl+k"]; "-" -> "minus")."""
    return list(dict.fromkeys(b.key for b in Binding.make_bindings([Binding(keys, "remap")])))


def _conflict(scope: str, keys: list[_Key], keymap: Mapping[str, list[str]],
              lines: Mapping[str, int], known: Mapping[str, str]) -> tuple[int, str, str] | None:
    """The first (by line) problem `keymap` makes in `scope`: a key bound twice, or a remap
    that takes a key from another binding of the same class, as Textual would (a remap drops
    the binding's old keys from its class, whoever else had them): (line, binding id, message)."""
    partners = {frozenset((a.who, b.who)) for a in keys for b in keys if a.key == b.key}  # by design
    remapped = {k.who: keymap[k.who] for k in keys if k.binding.id and k.who in keymap}
    taken = {(k.node, k.key): k.who for k in keys if k.who in remapped}
    found: list[tuple[int, str, str]] = []
    bound: dict[str, list[_Key]] = {}
    for k in keys:
        if k.who in remapped:
            for key in remapped[k.who]:
                bound.setdefault(key, []).append(_Key(key, k.binding, k.node))
        elif (k.node, k.key) in taken:
            owner = taken[(k.node, k.key)]
            if k.binding.id:  # left without its key: say so (Textual's own bindings go quietly)
                found.append((lines[owner], owner,
                              f'would take "{k.key}" from {k.said()} too, which shares it on {scope}; '
                              f"remap {k.who} as well (the same new key is fine for both)"))
        else:
            bound.setdefault(k.key, []).append(k)
    for key, holders in bound.items():
        for mine in (h for h in holders if h.who in remapped):
            for other in holders:
                if other.who == mine.who or frozenset((mine.who, other.who)) in partners:
                    continue
                if other.who in remapped:
                    clash = (f'takes "{key}", which line {lines[other.who]} gives to {other.said()} '
                             f"too, on {scope}; a key can do one thing: pick another for one of them")
                else:
                    also = f", or remap {other.who} too" if other.who in known else ""
                    clash = (f'takes "{key}", already the key of {other.said()} on {scope}; a key can '
                             f"do one thing: pick another{also}")
                found.append((lines[mine.who], mine.who, clash))
    return min(found) if found else None


def check_keys(settings: Settings) -> None:
    """Raise ConfigError for the first `[keys]` mistake the console's real bindings show: an
    unknown binding id, a key bound twice on one screen, a key taken from another binding."""
    if not settings.keys:
        return
    lines = {binding: settings.key_lines.get(binding, 0) for binding in settings.keys}
    known = remappable_keys()
    for binding in sorted(settings.keys, key=lambda b: lines[b]):
        if binding not in known:
            raise keys_mistake(settings, binding, f"is not a binding id (known: {', '.join(known)})")
    keymap = {binding: _normalized(keys) for binding, keys in settings.keys.items()}
    problems = [p for scope, keys in key_scopes()
                if (p := _conflict(scope, keys, keymap, lines, known)) is not None]
    if problems:
        _line, binding, message = min(problems)
        raise keys_mistake(settings, binding, message.replace("\n", " "))


def build_app(args: argparse.Namespace, settings: Settings) -> LibChatApp | str:
    """The app for these options, or an error message."""
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    name = args.name or settings.librarian.name
    server = args.server or settings.server.url
    if server:
        token = args.token or os.environ.get("LIBCHAT_TOKEN") or settings.server.token
        if not token:
            return ("no librarian token: pass --token, set $LIBCHAT_TOKEN, or put token = \"...\" "
                    "under [server] in the settings file (libchat-tui serve prints where its token is)")
        client_dir = data_dir / "console"
        return LibChatApp(settings, librarian_id=librarian_id(client_dir), name=name, url=server,
                          token=token, data_dir=client_dir)
    seed = args.seed if args.seed is not None else secrets.randbelow(10_000)
    embedded = EmbeddedDesk(
        data_dir=data_dir, grace_seconds=args.grace or settings.desk.grace_seconds, seed=seed,
        speed=args.speed, patrons=args.patrons, datasets=dict(settings.datasets), team=settings.desk.team,
    )
    client_dir = data_dir / "console"
    return LibChatApp(settings, librarian_id=librarian_id(client_dir), name=name, embedded=embedded,
                      data_dir=client_dir)


def launch(args: argparse.Namespace, settings: Settings) -> int:
    app = build_app(args, settings)
    if isinstance(app, str):
        print(f"libchat-tui: {app}", file=sys.stderr)
        return 2
    app.run()
    return 0

