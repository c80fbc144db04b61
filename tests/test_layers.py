"""Layers point one way: the backend and the client never load textual."""

from __future__ import annotations

import subprocess
import sys

NON_UI = [
    "libchat_tui.domain",
    "libchat_tui.protocol",
    "libchat_tui.model",
    "libchat_tui.client",
    "libchat_tui.config",
    "libchat_tui.cli",
    "libchat_tui.backend.runtime",
    "libchat_tui.simulator",
    "libchat_tui.session",
    "libchat_tui.plain",
    "libchat_tui.web.http",
    "libchat_tui.libanswers.push",
    "libchat_tui.patron_client",
]


def test_non_ui_modules_do_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {NON_UI!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_import_contracts_hold() -> None:
    """The layers in pyproject.toml's [tool.importlinter]: ui → client → protocol ← backend."""
    import shutil
    from pathlib import Path

    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe is not None, "import-linter is a test dependency (pip install -e '.[test]')"
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([exe, "--no-cache"], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
