"""The operator's subcommands: `backup`, `doctor` and `libanswers check|push`.

Parsed in cli.py; run here, importing the store only when one of them runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings, default_config_dir, default_data_dir

if TYPE_CHECKING:
    from .backend.maintenance import TableCount


def backup_command(args: argparse.Namespace) -> int:
    """`libchat-tui backup DEST`: a consistent, owner-only copy, checked before it is kept."""
    from .backend.maintenance import MaintenanceError, backup
    from .backend.runtime import DB_NAME

    db = (args.data_dir or default_data_dir()) / DB_NAME
    try:
        dest = backup(db, args.dest)
    except MaintenanceError as exc:
        print(f"libchat-tui backup: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {db} to {dest} (integrity check: ok)")
    return 0


def doctor_command(args: argparse.Namespace) -> int:
    """`libchat-tui doctor`: check, keep a copy, dump what can be read; 0 sound, 1 damaged, 2 not run."""
    import sqlite3

    from .backend.maintenance import NOT_DETECTED, MaintenanceError, doctor
    from .backend.runtime import DB_NAME

    db = (args.data_dir or default_data_dir()) / DB_NAME
    try:
        report = doctor(db, args.out)
    except MaintenanceError as exc:
        print(f"libchat-tui doctor: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:  # not foreseen: still one line, never a traceback
        print(f"libchat-tui doctor: could not finish on {db} ({exc}); what it made so far is in "
              f"{args.out or db.parent}", file=sys.stderr)
        return 2
    print(f"libchat-tui doctor: {db}")
    if report.desk_running:
        print("  a desk is running on this data dir; the copy below is a consistent snapshot")
    if report.problems:
        print(f"  integrity: DAMAGED ({len(report.problems)} problems; first: {report.problems[0]})")
    else:
        print("  integrity: ok")
    print(f"  copy: {report.copy} ({report.copy_note})")
    if report.readable is not None:
        print(f"  read through: {report.readable} (the copy, its header corrected to the pages it holds)")
    if report.dump is None:
        print("  dump: none (the file holds nothing that can be read as tables)")
    elif report.healthy:
        counts = ", ".join(f"{t} {n}" for t, n in report.rows.items())
        print(f"  dump: {report.dump} (rows: {counts})")
    else:
        print(f"  dump: {report.dump}; rows saved in it, table by table:")
        for table, count in report.tables.items():
            print(f"    {table}: {_saved(count)}")
    for line in report.unreadable[:_SHOWN]:
        print(f"  could not read: {line}")
    if len(report.unreadable) > _SHOWN:
        print(f"  could not read: … and {len(report.unreadable) - _SHOWN} more (comments in the dump)")
    print(f"  note: {NOT_DETECTED}")
    if not report.healthy:
        print("  to restore: stop the desk; move desk.sqlite3, desk.sqlite3-wal and desk.sqlite3-shm "
              "out of the data dir; put a backup (or a database rebuilt from the dump) in its place; "
              "start the desk. Step by step: docs/storage.md, \"Restoring\".")
    return 0 if report.healthy else 1


#: How many "could not read" lines doctor prints; the dump has them all.
_SHOWN = 10


def _saved(count: TableCount) -> str:
    """"all 40 saved", "120 of 240 saved, 120 lost (ids 121-240)", or what cannot be known."""
    if count.complete and count.known == count.saved:
        return f"all {count.saved} saved"
    if count.complete:
        lost = count.known - count.saved
        return f"{count.saved} of {count.known} saved, {lost} lost ({_ids(count.lost_ids)})"
    if count.known > count.saved:
        return (f"{count.saved} saved of at least {count.known}; at least {count.known - count.saved} "
                f"lost ({_ids(count.lost_ids)}), how many more is not known")
    return f"{count.saved} saved; some were lost, how many is not known"


def _ids(ids: list[int], shown: int = 6) -> str:
    """Rowids as ranges: "ids 3, 7-9, 12-40"."""
    ranges: list[tuple[int, int]] = []
    for n in ids:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges[:shown])
    more = f", … ({len(ranges) - shown} more ranges)" if len(ranges) > shown else ""
    return f"ids {text}{more}"


def libanswers_command(args: argparse.Namespace, settings: Settings) -> int:
    """`libchat-tui libanswers check|push --retry-failed`."""
    cfg = settings.libanswers
    if cfg is None:
        where = settings.path or default_config_dir() / "config.toml"
        print(f"libchat-tui libanswers: no [libanswers] section in {where} (see docs/libanswers.md)",
              file=sys.stderr)
        return 2
    if args.libanswers_command == "check":
        from .libanswers.check import check

        lines = asyncio.run(check(cfg, dict(settings.datasets)))
        for line in lines:
            print(line)
        return 1 if any(line.startswith("error:") for line in lines) else 0
    return asyncio.run(_retry_failed(args.data_dir or default_data_dir()))


async def _retry_failed(data_dir: Path) -> int:
    from .backend.datadir import DataDirError
    from .backend.runtime import DB_NAME
    from .backend.store import Store
    from .libanswers.push import retry_failed

    store = Store(data_dir / DB_NAME)
    try:
        await store.open()
    except DataDirError as exc:
        print(f"libchat-tui libanswers push: {exc} (a running desk retries by itself; stop it first "
              "to force a retry of refused items)", file=sys.stderr)
        return 2
    try:
        count = await retry_failed(store)
    finally:
        await store.close()
    print(f"{count} refused item{'s' if count != 1 else ''} put back in line; "
          "the desk sends them when it runs")
    return 0
