"""The operator's subcommands: `backup`, `doctor` and `libanswers check|push`.

Parsed in cli.py; run here, importing the store only when one of them runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .config import Settings, default_config_dir, default_data_dir


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
    """`libchat-tui doctor`: check, keep a copy, dump what can be read; 0 sound, 1 damaged."""
    from .backend.maintenance import MaintenanceError, doctor
    from .backend.runtime import DB_NAME

    db = (args.data_dir or default_data_dir()) / DB_NAME
    try:
        report = doctor(db, args.out)
    except MaintenanceError as exc:
        print(f"libchat-tui doctor: {exc}", file=sys.stderr)
        return 2
    print(f"libchat-tui doctor: {db}")
    if report.desk_running:
        print("  a desk is running on this data dir; the copy below is a consistent snapshot")
    if report.problems:
        print(f"  integrity: DAMAGED ({len(report.problems)} problems; first: {report.problems[0]})")
    else:
        print("  integrity: ok")
    print(f"  copy: {report.copy} ({report.copy_note})")
    if report.dump is not None:
        counts = ", ".join(f"{t} {n}" for t, n in report.rows.items())
        print(f"  dump: {report.dump} (rows: {counts})")
    else:
        print("  dump: none (the header is damaged, so no table could be read)")
    for line in report.unreadable:
        print(f"  could not read: {line}")
    if not report.healthy:
        print("  to restore: stop the desk; move desk.sqlite3, desk.sqlite3-wal and desk.sqlite3-shm "
              "out of the data dir; put a backup (or a database rebuilt from the dump) in its place; "
              "start the desk. Step by step: docs/storage.md, \"Restoring\".")
    return 0 if report.healthy else 1


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
