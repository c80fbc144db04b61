"""Plain HTTP for the patron widget, answered from websockets' `process_request` hook.

`serve` listens on one port for WebSockets; a handful of static files do not need a
second web framework. `static_response` answers `GET`/`HEAD` for the widget's pages and
scripts with strict security headers and returns None for every other path, so the
server goes on with `/patron` and `/librarian`. `origin_allowed` is the `/patron`
Origin check. The files are package data, read once.
"""

from __future__ import annotations

import hashlib
import http
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .settings import WidgetSettings, normalize_origin

CONFIG_MARKER: Final = "/*LIBCHAT-CONFIG*/null"


@dataclass(frozen=True, slots=True)
class _Asset:
    file: str
    content_type: str
    cache_control: str
    with_config: bool = False  # the settings are filled in at CONFIG_MARKER


ASSETS: Final[dict[str, _Asset]] = {
    "/chat": _Asset("chat.html", "text/html; charset=utf-8", "no-cache", with_config=True),
    "/widget.js": _Asset("widget.js", "text/javascript; charset=utf-8", "public, max-age=300",
                         with_config=True),
    "/chat.js": _Asset("chat.js", "text/javascript; charset=utf-8", "public, max-age=300"),
    "/chat.css": _Asset("chat.css", "text/css; charset=utf-8", "public, max-age=300"),
    "/widget-config.json": _Asset("", "application/json; charset=utf-8", "no-cache"),
}


@cache
def _file(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def config_json(settings: WidgetSettings, *, for_html: bool = False) -> str:
    """The widget's settings as JSON; safe inside a `<script>` element when `for_html`."""
    text = json.dumps(settings.to_json(), ensure_ascii=False, separators=(",", ":"))
    if for_html:  # nothing in the JSON may close the element or open a comment
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


def _body(asset: _Asset, settings: WidgetSettings) -> bytes:
    if not asset.file:
        return config_json(settings).encode()
    text = _file(asset.file)
    if asset.with_config:
        text = text.replace(CONFIG_MARKER, config_json(settings, for_html=asset.file.endswith(".html")), 1)
    return text.encode()


def frame_ancestors(settings: WidgetSettings) -> str:
    """Who may put /chat in a frame: the desk itself plus the allowed origins."""
    if "*" in settings.allowed_origins:
        return "*"
    return " ".join(["'self'", *settings.allowed_origins])


def content_security_policy(path: str, settings: WidgetSettings) -> str:
    ancestors = frame_ancestors(settings) if path == "/chat" else "'none'"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
            f"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}")


def static_response(connection: ServerConnection, request: Request,
                    settings: WidgetSettings) -> Response | None:
    """The HTTP response for a widget path, or None for any other path."""
    path = request.path.split("?", 1)[0].split("#", 1)[0]
    asset = ASSETS.get(path)
    if asset is None:
        return None
    method = request.method.upper()
    if method not in ("GET", "HEAD"):
        response = connection.respond(http.HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed.\n")
        _set(response, "Allow", "GET, HEAD")
        _secure(response, path, settings)
        return response
    body = _body(asset, settings)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    matches = [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]
    if etag in matches or "*" in matches:
        response = connection.respond(http.HTTPStatus.NOT_MODIFIED, "")
        _set(response, "Content-Type", None)
        _set(response, "Content-Length", None)
    else:
        response = connection.respond(http.HTTPStatus.OK, "")
        _set(response, "Content-Type", asset.content_type)
        _set(response, "Content-Length", str(len(body)))
        response.body = b"" if method == "HEAD" else body
    _set(response, "ETag", etag)
    _set(response, "Cache-Control", asset.cache_control)
    _secure(response, path, settings)
    return response


def _set(response: Response, name: str, value: str | None) -> None:
    """Replace a header (websockets' Headers is multi-valued: plain assignment appends)."""
    if name in response.headers:
        del response.headers[name]
    if value is not None:
        response.headers[name] = value


def _secure(response: Response, path: str, settings: WidgetSettings) -> None:
    _set(response, "Content-Security-Policy", content_security_policy(path, settings))
    _set(response, "X-Content-Type-Options", "nosniff")
    _set(response, "Referrer-Policy", "no-referrer")
    if path != "/chat" or not settings.allowed_origins:
        _set(response, "X-Frame-Options", "SAMEORIGIN" if path == "/chat" else "DENY")
    # widget.js is loaded by a <script> on the library's own pages; the rest stay here.
    _set(response, "Cross-Origin-Resource-Policy", "cross-origin" if path == "/widget.js" else "same-origin")


def origin_allowed(origin: str | None, host: str | None, settings: WidgetSettings) -> bool:
    """May a browser page from `origin` talk to `/patron` on the desk reached as `host`?

    No Origin (the simulator, `libchat-tui patron`, other non-browser clients) is allowed;
    a browser page is allowed from the desk's own origin and from `allowed_origins`.
    """
    if origin is None:
        return True
    origin = normalize_origin(origin)
    if origin == "null" or not origin.startswith(("http://", "https://")):
        return False
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    if not host:
        return False
    own = host.strip().lower()
    return origin in (normalize_origin(f"http://{own}"), normalize_origin(f"https://{own}"))
