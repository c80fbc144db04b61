"""The `libchat-tui` command: the console (default), `serve`, `patron` and `export`.

Parsing and start-up only; the console itself is imported lazily so that `serve` and
`export` never load textual.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, Settings, default_config_dir, default_data_dir, load_settings

log = logging.getLogger("libchat_tui")


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return number


def _add_desk_options(parser: argparse.ArgumentParser, *, patrons_flag: str) -> None:
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the patron simulator, for a repeatable desk (default: random)")
    parser.add_argument("--speed", type=_positive, default=1.0,
                        help="simulated time runs this many times faster (default: 1)")
    parser.add_argument(patrons_flag, dest="patrons", type=int, default=None, metavar="N",
                        help="how many simulated patrons arrive (default: the console keeps "
                             "a steady stream; serve simulates none)")
    parser.add_argument("--grace", type=_positive, default=None, metavar="SECONDS",
                        help="how long to wait for a dropped patron to reconnect "
                             "(default: [desk] grace_seconds in the settings, else 60)")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help=f"where the desk database lives (default: {default_data_dir()})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="libchat-tui",
        description="A keyboard-first console for chat reference librarians. With no "
                    "arguments it starts a demo desk with simulated patrons.",
    )
    parser.add_argument("--version", action="version", version=f"libchat-tui {__version__}")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="settings file (default: $LIBCHAT_CONFIG or "
                             f"{default_config_dir() / 'config.toml'})")
    parser.add_argument("--server", default=None, metavar="URL",
                        help="connect to a running `libchat-tui serve` (ws://HOST:PORT) "
                             "instead of starting a demo desk")
    parser.add_argument("--token", default=None,
                        help="librarian token for --server (also $LIBCHAT_TOKEN or [server] token)")
    parser.add_argument("--name", default=None, help="your display name (default: [librarian] name)")
    _add_desk_options(parser, patrons_flag="--patrons")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the desk backend for several librarians and patrons")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    _add_desk_options(serve, patrons_flag="--simulate")
    serve.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                       help="a browser Origin allowed on /librarian (repeatable; default: none)")

    from . import patron_cli

    patron = sub.add_parser("patron", help="chat as a patron from this terminal (for training)")
    patron_cli.add_arguments(patron)

    from . import export_cli

    export = sub.add_parser("export", help="write analytics or tickets as CSV from the store")
    export_cli.add_arguments(export)
    return parser


def token_file(settings: Settings) -> Path:
    """The serve token lives beside the settings file (the config dir, or $LIBCHAT_CONFIG's)."""
    return (settings.path.parent if settings.path else default_config_dir()) / "token"


def load_or_create_token(path: Path) -> str:
    """The serve token: read it, or make one (owner-only file) on first start."""
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    from .backend.runtime import Backend
    from .backend.simulator import Simulator

    data_dir = args.data_dir or default_data_dir()
    path = token_file(settings)
    token = load_or_create_token(path)
    backend = Backend(
        data_dir=data_dir, grace_seconds=args.grace or settings.desk.grace_seconds, token=token,
        datasets=dict(settings.datasets), host=args.host, port=args.port,
        allowed_origins=frozenset(args.allow_origin),
    )
    try:
        await backend.start()
    except OSError as exc:
        print(f"libchat-tui serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        await backend.store.close()
        return 2
    print(f"libchat-tui desk at {backend.url}  (librarians: {backend.url}/librarian, "
          f"patrons: {backend.url}/patron)")
    print(f"librarian token in {path}; data in {data_dir}")
    simulator = None
    if args.patrons:
        simulator = Simulator(backend.url, seed=_seed(args), speed=args.speed, patrons=args.patrons,
                              grace_seconds=backend.desk.grace_seconds)
        sim_task = asyncio.create_task(simulator.run())
        print(f"simulating {args.patrons} patrons (seed {_seed(args)}, speed {args.speed}x)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("stopping…")
    if simulator is not None:
        await simulator.stop()
        sim_task.cancel()
    await backend.stop()
    print("stopped; every acknowledged change is on disk.")
    return 0


def _seed(args: argparse.Namespace) -> int:
    if args.seed is None:
        args.seed = secrets.randbelow(10_000)
    return int(args.seed)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"libchat-tui: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return asyncio.run(serve(args, settings))
    if args.command == "patron":
        from . import patron_cli

        return asyncio.run(patron_cli.run(args))
    if args.command == "export":
        from . import export_cli

        return export_cli.run(args, settings)
    from .ui.launch import launch

    return launch(args, settings)


if __name__ == "__main__":
    sys.exit(main())
