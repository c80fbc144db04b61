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
    "libchat_tui.backend.simulator",
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
