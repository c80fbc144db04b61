"""`libchat-tui export analytics|tickets|transcript`: files straight from the store.

Reads the SQLite file read-only, so it works with no backend running (and while one
runs: WAL lets it read alongside the writer).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .config import Settings, default_data_dir
from .exports import analytics_csv, tickets_csv, transcript_document
from .files import write_atomic


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-11-28: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser,
                  add_global_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """`export`'s options; `add_global_options` puts --config and --data-dir on it and on each
    of its commands, so `export transcript 7 --data-dir DIR` works as well as before WHAT."""
    add_global_options(parser)
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    analytics = sub.add_parser("analytics", help="Reference Analytics entries of one dataset as CSV")
    analytics.add_argument("--dataset", default="Chat", help="dataset name (default: Chat)")
    analytics.add_argument("--from", dest="start", type=_day, required=True, metavar="DATE",
                           help="the first day (YYYY-MM-DD) whose chats are included")
    analytics.add_argument("--to", dest="end", type=_day, required=True, metavar="DATE",
                           help="the last day (YYYY-MM-DD) whose chats are included, inclusive")
    analytics.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    tickets = sub.add_parser("tickets", help="tickets as CSV")
    tickets.add_argument("--status", choices=("open", "closed", "all"), default="all")
    tickets.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    chat = sub.add_parser("transcript", help="one chat's transcript")
    chat.add_argument("chat_id", type=int)
    chat.add_argument("--copy", choices=("patron", "librarian"), default="librarian",
                      help="patron copy leaves out internal notes and system events")
    chat.add_argument("--format", dest="fmt", choices=("md", "txt"), default="md")
    chat.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    for command in (analytics, tickets, chat):
        add_global_options(command)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from .backend import queries, rows  # only here: `libchat-tui --help` need not load the store
    from .backend.runtime import DB_NAME

    db = (args.data_dir or default_data_dir()) / DB_NAME
    if not db.exists():
        print(f"libchat-tui export: no desk database at {db}", file=sys.stderr)
        return 2
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if args.what == "analytics":
            if args.start > args.end:
                print(f"libchat-tui export: --from {args.start} is after --to {args.end}", file=sys.stderr)
                return 2
            dataset = settings.datasets.get(args.dataset)
            if dataset is None:
                known = ", ".join(sorted(settings.datasets))
                print(f"libchat-tui export: no dataset '{args.dataset}' is configured (known: {known})",
                      file=sys.stderr)
                return 2
            text = analytics_csv(queries.analytics_rows(conn, args.dataset, args.start, args.end),
                                 [f.name for f in dataset.fields])
        elif args.what == "tickets":
            text = tickets_csv(queries.tickets(conn, args.status))
        else:
            data = rows.transcript(conn, args.chat_id, bounded=False)
            if data is None:
                print(f"libchat-tui export: there is no chat {args.chat_id}", file=sys.stderr)
                return 2
            text = transcript_document(data, copy=args.copy, fmt=args.fmt)
    finally:
        conn.close()
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_atomic(args.out, text)  # owner-only: patrons' names, e-mails, words
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
