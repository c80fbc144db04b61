"""The `libchat-tui` command: the console (default), `serve`, `patron`, `export`, `backup`, `doctor`.

Parsing and start-up only; the console itself is imported lazily so that `serve` and
`export` never load textual. A desk that cannot start (data dir in use, unwritable or
damaged, token dir unwritable) stops with one line naming the path, and exit status 2.

`--config` and `--data-dir` work before or after any command. Log records go to stderr
until the console or plain mode takes the terminal; from then on they go to a capped file
in the log dir (the terminal is theirs). `serve` keeps logging to stderr, for journald.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import logging.handlers
import os
import secrets
import signal
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import (
    DEFAULT_SERVER,
    ConfigError,
    Settings,
    default_config_dir,
    default_data_dir,
    default_log_dir,
    load_settings,
    name_notice,
)
from .files import write_atomic

if TYPE_CHECKING:
    from .backend.runtime import Backend

log = logging.getLogger("libchat_tui")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The console's log file, in `default_log_dir()`: at most LOG_BYTES, then kept as .1 ... .N.
LOG_FILE = "libchat-tui.log"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3


def log_file_handler(directory: Path) -> logging.Handler:
    """A handler writing to LOG_FILE in `directory` (made if need be), capped and rotated."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(directory / LOG_FILE, maxBytes=LOG_BYTES,
                                                   backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def _log_to_file(terminal: logging.Handler) -> None:
    """The console or plain mode takes the terminal: from now on log records (and Python's
    warnings) go to the log file, never to the screen or the prompt line."""
    directory = default_log_dir()
    try:
        handler = log_file_handler(directory)
    except OSError as exc:
        print(f"libchat-tui: cannot write the log in {directory} ({exc.strerror or exc}); log "
              "messages are dropped (set LIBCHAT_LOG_DIR to a writable directory)", file=sys.stderr)
        handler = logging.NullHandler()
    root = logging.getLogger()
    root.removeHandler(terminal)
    root.addHandler(handler)
    logging.captureWarnings(True)


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return number


def _grace(value: str) -> float:
    number = _positive(value)
    if not 5 <= number <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 5 and 3600 seconds, got {value}")
    return number


def _add_desk_options(parser: argparse.ArgumentParser, *, patrons_flag: str, top: bool) -> None:
    """The demo desk's options; on a subcommand (`top` False) they default to nothing, so the
    same option given before the subcommand is kept, not reset."""
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument("--seed", type=int, default=default(None),
                        help="seed for the patron simulator, for a repeatable desk (default: random)")
    parser.add_argument("--speed", type=_positive, default=default(1.0),
                        help="simulated time runs this many times faster (default: 1)")
    parser.add_argument(patrons_flag, dest="patrons", type=int, default=default(None), metavar="N",
                        help="how many simulated patrons arrive (default: the console keeps "
                             "a steady stream; serve simulates none)")
    parser.add_argument("--grace", type=_grace, default=default(None), metavar="SECONDS",
                        help="how long to wait for a dropped patron to reconnect, 5 to 3600 "
                             "(default: [desk] grace_seconds in the settings, else 60)")


def add_global_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--config and --data-dir, on the top level and again on every (sub)command, so they
    work in any position. Below the top they default to nothing (argparse.SUPPRESS): a
    subcommand's default would otherwise overwrite the value given before it."""
    parser.add_argument("--config", type=Path, default=None if top else argparse.SUPPRESS, metavar="FILE",
                        help="settings file (default: $LIBCHAT_CONFIG or "
                             f"{default_config_dir() / 'config.toml'})")
    parser.add_argument("--data-dir", type=Path, default=None if top else argparse.SUPPRESS, metavar="DIR",
                        help=f"the desk's data dir, where its database lives (default: {default_data_dir()})")


def _add_patron_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `libchat-tui patron`."""
    parser.add_argument("--server", default=argparse.SUPPRESS, metavar="URL",
                        help="the desk to talk to, ws://HOST:PORT (default: $LIBCHAT_SERVER "
                             f"or {DEFAULT_SERVER})")
    parser.add_argument("--name", default=argparse.SUPPRESS, help="your name (asked if not given)")
    parser.add_argument("--email", default=argparse.SUPPRESS,
                        help="your e-mail address, for a follow-up (optional)")
    parser.add_argument("--department", default=argparse.SUPPRESS, metavar="NAME",
                        help="the department to ask (default: the desk's first)")
    parser.add_argument("--resume", action="store_true", default=argparse.SUPPRESS,
                        help="go back to the chat a killed or closed client left (its resume "
                             "token is kept, owner-only, in patron-resume.json in the data dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="libchat-tui",
        allow_abbrev=False,  # `export ... --to` must never be read as an abbreviated --token
        description="A keyboard-first console for chat reference librarians. With no "
                    "arguments it starts a demo desk with simulated patrons.",
        epilog=f"--config and --data-dir may come before or after a command. Logs: the console "
               f"and --plain write log messages to {default_log_dir() / LOG_FILE} (at most "
               f"{LOG_BACKUPS + 1} files of {LOG_BYTES // 1_000_000} MB; set LIBCHAT_LOG_DIR to "
               "move it), never to the terminal; serve logs to stderr.",
    )
    parser.add_argument("--version", action="version", version=f"libchat-tui {__version__}")
    add_global_options(parser, top=True)
    parser.add_argument("--server", default=None, metavar="URL",
                        help="connect to a running `libchat-tui serve` (ws://HOST:PORT) "
                             "instead of starting a demo desk")
    parser.add_argument("--token", default=None,
                        help="librarian token for --server; prefer $LIBCHAT_TOKEN or --token-file, "
                             "since a command line is visible to every local user (ps)")
    parser.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                        help="read the librarian token from FILE (owner-only; `serve` prints where its "
                             "token file is)")
    parser.add_argument("--plain", action="store_true",
                        help="a line-by-line console for screen readers: events as complete lines, "
                             "commands at a prompt (see docs/accessibility.md)")
    parser.add_argument("--color", action="store_true", help="with --plain: colour the lines")
    parser.add_argument("--name", default=None,
                        help="your display name (default: [librarian] name, else one made from your "
                             "login name; \"Librarian\" for root and other system accounts)")
    _add_desk_options(parser, patrons_flag="--patrons", top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the desk backend for several librarians and patrons")
    add_global_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    _add_desk_options(serve, patrons_flag="--simulate", top=False)
    serve.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                       help="a browser Origin allowed on /librarian (repeatable; default: none)")

    patron = sub.add_parser("patron", help="chat as a patron from this terminal (for training)")
    add_global_options(patron)
    _add_patron_arguments(patron)

    from . import export_cli

    export = sub.add_parser("export", help="write analytics or tickets as CSV from the store")
    export_cli.add_arguments(export, add_global_options)

    backup = sub.add_parser("backup", help="copy the desk database, safely, even while the desk runs")
    add_global_options(backup)
    backup.add_argument("dest", type=Path, metavar="DEST",
                        help="the new backup file, or a directory to put a dated one in")

    libanswers = sub.add_parser("libanswers", help="check or retry the LibAnswers integration "
                                                   "([libanswers] in the settings)")
    add_global_options(libanswers)
    la_sub = libanswers.add_subparsers(dest="libanswers_command", metavar="ACTION", required=True)
    check = la_sub.add_parser("check", help="log in, list the queue and datasets, and show what maps to what")
    add_global_options(check)
    push = la_sub.add_parser("push", help="send refused items again (run while the desk is stopped; "
                                          "it sends them when it starts)")
    add_global_options(push)
    push.add_argument("--retry-failed", action="store_true", required=True,
                      help="put every refused ticket and RA entry back in line")

    doctor = sub.add_parser("doctor", help="check the desk database; keep a copy and dump what can "
                                           "be read (see docs/storage.md to restore)")
    add_global_options(doctor)
    doctor.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="a new directory for the copy and the dump (default: DIR/doctor-TIMESTAMP)")
    return parser


def token_file(settings: Settings) -> Path:
    """The serve token lives beside the settings file (the config dir, or $LIBCHAT_CONFIG's)."""
    return (settings.path.parent if settings.path else default_config_dir()) / "token"


def new_token() -> str:
    """A 256-bit token that never starts with "-" (so `--token TOKEN` always parses)."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def read_token_file(path: Path) -> str:
    """A token from a file; warns if other local users can read it."""
    mode = path.stat().st_mode & 0o077
    if mode:
        log.warning("the token file %s can be read by other users of this machine; "
                    "run: chmod 600 %s", path, path)
    return path.read_text(encoding="utf-8").strip()


def load_or_create_token(path: Path) -> str:
    """The serve token: read it, or make one (owner-only file) on first start."""
    if path.exists():
        token = read_token_file(path)
        if token:
            return token
    token = new_token()
    write_atomic(path, token + "\n")
    return token


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    from .backend.runtime import Backend
    from .simulator import Simulator

    data_dir = args.data_dir or default_data_dir()
    path = token_file(settings)
    try:
        token = load_or_create_token(path)
    except OSError as exc:
        print(f"libchat-tui serve: cannot read or write the librarian token {path} "
              f"({exc.strerror or exc}); make {path.parent} writable by this user, or set "
              "LIBCHAT_CONFIG to a settings file in a writable directory", file=sys.stderr)
        return 2
    backend = Backend(
        data_dir=data_dir, grace_seconds=args.grace or settings.desk.grace_seconds, token=token,
        datasets=dict(settings.datasets), host=args.host, port=args.port,
        allowed_origins=frozenset(args.allow_origin), widget=settings.widget,
        libanswers=settings.libanswers, team=settings.desk.team,
        # Simulated patrons all come from this machine: their per-address counts are lifted.
        limits=settings.limits.for_simulated_patrons() if args.patrons else settings.limits,
    )
    stop = asyncio.Event()  # handlers first: a SIGTERM right after start still stops cleanly
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    failure = await _start(backend)
    if failure is not None:
        print(f"libchat-tui serve: {failure}", file=sys.stderr)
        return 2
    # What start-up made (imports, restored chats) lives as long as the desk: out of the
    # collector's sight; and fewer young collections, so a join burst of thousands of
    # patrons is not paced by GC pauses (docs/performance.md: p99 244 → 93 ms at 5,000).
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000)
    print(f"libchat-tui desk at {backend.url}  (librarians: {backend.url}/librarian, "
          f"patrons: {backend.url}/patron)")
    web = widget_address(backend.url, settings)
    print(f"patrons' chat page: {web}/chat")
    print(f'embed the chat on the library\'s web pages: <script src="{web}/widget.js" async></script>  '
          "(list the site under [widget] allowed_origins)")
    print(f"librarian token in {path}; data in {data_dir}")
    from .limits import proxy_warnings
    from .web.http import startup_warnings

    for warning in [*startup_warnings(settings.widget), *proxy_warnings(settings.limits.trusted_proxies)]:
        log.warning("%s", warning)
    simulator = None
    if args.patrons:
        simulator = Simulator(backend.url, seed=_seed(args), speed=args.speed, patrons=args.patrons,
                              grace_seconds=backend.desk.grace_seconds)
        sim_task = asyncio.create_task(simulator.run())
        print(f"simulating {args.patrons} patrons (seed {_seed(args)}, speed {args.speed}x)")
    await stop.wait()
    print("stopping…")
    if simulator is not None:
        await simulator.stop()
        sim_task.cancel()
    await backend.stop()
    print("stopped; every acknowledged change is on disk.")
    return 0


def widget_address(desk_url: str, settings: Settings) -> str:
    """Where browsers reach the desk's web pages: `[widget] public_url` when set (the address
    behind the library's proxy), else the desk's own address over http(s)."""
    if settings.widget.public_url:
        return settings.widget.public_url.rstrip("/")
    return ("https" + desk_url[3:]) if desk_url.startswith("wss://") else ("http" + desk_url[2:])


async def _start(backend: Backend) -> str | None:
    """Start the backend; on failure close what was opened and return the one line to print."""
    from .backend.datadir import DataDirError, open_failure
    from .backend.store import StorageError

    try:
        await backend.start()
    except DataDirError as exc:
        return str(exc)
    except StorageError as exc:  # restoring open chats could not be saved (a full disk)
        await backend.store.close()
        return f"cannot start on {backend.store.path}: {exc}"
    except sqlite3.Error as exc:
        await backend.store.close()
        return str(open_failure(backend.store.path, exc))
    except OSError as exc:
        await backend.store.close()
        return f"cannot listen on {backend.host}:{backend.port}: {exc.strerror or exc}"
    return None


async def _check_embedded_desk(data_dir: Path) -> str | None:
    """Before the console starts its demo desk: can it? (the same checks, the same one line)."""
    from .backend.runtime import DB_NAME
    from .backend.store import DataDirError, Store

    store = Store(data_dir / DB_NAME)
    try:
        await store.open()
    except DataDirError as exc:
        return str(exc)
    await store.close()
    return None


def plain_command(args: argparse.Namespace, settings: Settings) -> int:
    """`libchat-tui --plain`: the line console, on a desk or on the demo desk (no textual)."""
    from .plain import run_plain

    notice = name_notice(settings, args.name or settings.librarian.name,
                         (args.data_dir or default_data_dir()) / "console")
    if notice:
        print(notice)
    server = args.server or settings.server.url
    if server:
        token = args.token or os.environ.get("LIBCHAT_TOKEN") or settings.server.token
        if not token:
            print("libchat-tui: no librarian token: set $LIBCHAT_TOKEN, pass --token-file, or put "
                  "token = \"...\" under [server] in the settings file", file=sys.stderr)
            return 2
        return asyncio.run(run_plain(settings, url=server, token=token, color=args.color,
                                     name=args.name, data_dir=args.data_dir))
    return asyncio.run(_plain_demo(args, settings))


async def _plain_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .plain import run_plain
    from .ui.embedded import EmbeddedDesk

    data_dir = args.data_dir or default_data_dir()
    problem = await _check_embedded_desk(data_dir)
    if problem is not None:
        print(f"libchat-tui: {problem}", file=sys.stderr)
        return 2
    desk = EmbeddedDesk(data_dir=data_dir, grace_seconds=args.grace or settings.desk.grace_seconds,
                        seed=_seed(args), speed=args.speed, patrons=args.patrons,
                        datasets=dict(settings.datasets), team=settings.desk.team)
    await desk.start()
    try:
        return await run_plain(settings, url=desk.url, token=desk.token, color=args.color,
                               name=args.name, data_dir=args.data_dir)
    finally:
        await desk.stop()


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
    terminal = logging.StreamHandler(sys.stderr)  # until the console or plain mode starts
    terminal.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(terminal)
    if args.command == "serve":
        return asyncio.run(serve(args, settings))
    if args.command == "patron":
        from . import patron_cli

        return asyncio.run(patron_cli.run(args))
    if args.command == "export":
        from . import export_cli

        return export_cli.run(args, settings)
    if args.command == "backup":
        from .admin_cli import backup_command

        return backup_command(args)
    if args.command == "doctor":
        from .admin_cli import doctor_command

        return doctor_command(args)
    if args.command == "libanswers":
        from .admin_cli import libanswers_command

        return libanswers_command(args, settings)
    if args.token_file is not None:
        try:
            args.token = read_token_file(args.token_file)
        except OSError as exc:
            print(f"libchat-tui: cannot read the token file {args.token_file}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    elif args.token:
        log.warning("--token on the command line is visible to other local users (ps); "
                    "prefer $LIBCHAT_TOKEN or --token-file")
    if args.server:
        from .client import check_url

        problem = check_url(args.server)
        if problem is not None:
            print(f"libchat-tui: {problem}", file=sys.stderr)
            return 2
    if args.plain:
        _log_to_file(terminal)
        return plain_command(args, settings)
    from .ui import launch as console

    try:
        console.check_keys(settings)  # [keys] against the console's real bindings
    except ConfigError as exc:
        print(f"libchat-tui: {exc}", file=sys.stderr)
        return 2
    if not (args.server or settings.server.url):
        problem = asyncio.run(_check_embedded_desk(args.data_dir or default_data_dir()))
        if problem is not None:
            print(f"libchat-tui: {problem}", file=sys.stderr)
            return 2
    _log_to_file(terminal)
    return console.launch(args, settings)


if __name__ == "__main__":
    sys.exit(main())
