"""Helpers for the widget's browser tests: Chromium, a real `libchat-tui serve`, and a front.

The browser reaches the desk through a *front* on its own port, so a test can cut the
patron's network the way a dropped Wi-Fi would (every connection aborted, new ones
refused) and bring it back. The front is a plain TCP relay: every byte the browser gets,
pages and WebSocket frames alike, comes from `libchat-tui serve` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import importlib.util
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from relay import Relay
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from libchat_tui.web.settings import WidgetSettings

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-gpu"]
TIMEOUT = 15.0


def chromium_path() -> str | None:
    """Debian's Chromium, or one on PATH; None when this machine has no browser."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def axe_script() -> str | None:
    """axe-core (axe.min.js) as shipped inside the `axe-playwright-python` wheel (a test
    extra): installed by pip with the rest, nothing fetched at test time. None without it."""
    if importlib.util.find_spec("axe_playwright_python") is None:
        return None
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def widget_section(settings: WidgetSettings) -> str:
    """`settings` as the [widget] section of a config.toml."""
    origins = ", ".join(f'"{o}"' for o in settings.allowed_origins)
    public = f'public_url = "{settings.public_url}"\n' if settings.public_url else ""
    return (f'[widget]\nlibrary_name = "{settings.library_name}"\n'
            f"require_email = {str(settings.require_email).lower()}\n"
            f"allowed_origins = [{origins}]\n{public}")


class Desk:
    """`libchat-tui serve --port 0` in a subprocess, in its own data and config dir."""

    def __init__(self, tmp: Path, *, grace: float = 60, widget: WidgetSettings | None = None,
                 extra_config: str = "") -> None:
        self.tmp = tmp
        self.extra_config = extra_config  # more config.toml, e.g. a [desk] section
        self.grace = grace
        self.widget = widget or WidgetSettings(library_name="Riverside Library")
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.port = 0
        self.token = ""
        self.output: list[str] = []

    async def start(self, *, with_widget_section: bool) -> None:
        config = self.tmp / "config.toml"
        config.write_text((widget_section(self.widget) if with_widget_section else "") + self.extra_config,
                          encoding="utf-8")
        env = {**os.environ, "LIBCHAT_CONFIG": str(config)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "libchat_tui.cli", "serve", "--port", "0",
            "--data-dir", str(self.tmp / "data"), "--grace", str(self.grace),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        )
        assert self.proc.stdout is not None
        async with asyncio.timeout(20):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                self.output.append(line)
                assert line, "serve exited before printing its URL:\n" + "".join(self.output)
                found = re.search(r"desk at (ws://\S+?)\s", line)
                if found:
                    self.url = found.group(1)
                    break
        self.port = int(self.url.rsplit(":", 1)[1])
        self.token = (self.tmp / "token").read_text().strip()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def http_get(port: int, path: str, headers: dict[str, str] | None = None, *,
                   source: str = "127.0.0.1", host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A bare HTTP/1.1 GET to 127.0.0.1 (no client library needed), from the loopback
    address `source` (any 127.x.y.z: a test can be several clients)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = (f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\n{extra}"
               "Connection: close\r\n\r\n")
    writer.write(request.encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), TIMEOUT)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    found = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    return status, found, body


class Front(Relay):
    """What the browser connects to: a relay to the desk that can cut the network."""

    def __init__(self, desk: Desk) -> None:
        super().__init__(desk.port)
        self.desk = desk

    @property
    def http_url(self) -> str:
        return self.url.replace("ws://", "http://", 1)

    async def start(self) -> None:
        status, _, _ = await http_get(self.desk.port, "/chat")
        assert status == 200, f"serve does not answer GET /chat (HTTP {status})"
        await super().start()


class PageServer:
    """Another origin: serves one HTML page (a library's site embedding the widget)."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.port = 0
        self._server: Server | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        async def never(ws: ServerConnection) -> None:
            await ws.close()

        def page(connection: ServerConnection, request: Request) -> Response:
            response = connection.respond(http.HTTPStatus.OK, self.html)
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "text/html; charset=utf-8"
            return response

        self._server = await serve(never, "127.0.0.1", 0, process_request=page)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@contextlib.asynccontextmanager
async def running_desk(tmp: Path, *, grace: float = 60, widget: WidgetSettings | None = None,
                       extra_config: str = "") -> AsyncIterator[tuple[Desk, Front]]:
    desk = Desk(tmp, grace=grace, widget=widget, extra_config=extra_config)
    await desk.start(with_widget_section=widget is not None)
    front = Front(desk)
    try:
        await front.start()
        yield desk, front
    finally:
        await front.stop()
        await desk.stop()


async def wait_for(predicate: Any, timeout: float = TIMEOUT) -> None:
    """Poll a synchronous predicate (for things outside the browser, e.g. a store row)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)
