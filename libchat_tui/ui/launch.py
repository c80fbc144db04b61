"""Start the console: the demo desk (default) or a connection to `libchat-tui serve`."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from ..config import Settings, default_data_dir, librarian_id
from .app import LibChatApp
from .embedded import EmbeddedDesk


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
