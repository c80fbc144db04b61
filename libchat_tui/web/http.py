"""Plain HTTP for the patron widget, answered from websockets' `process_request` hook.

`serve` listens on one port for WebSockets; a handful of static files do not need a
second web framework. `static_response` answers `GET`/`HEAD` for the widget's pages and
scripts with strict security headers and returns None for every other path, so the
server goes on with `/patron` and `/librarian`. `HttpGate` bounds those requests (header
count and size, requests per address). `origin_allowed` is the Origin check shared by
`/patron` and the embed's `/widget-config.json`. The files are package data, read once.
"""

from __future__ import annotations

import hashlib
import http
import json
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .settings import WidgetSettings, normalize_origin

log = logging.getLogger(__name__)

CONFIG_MARKER: Final = "/*LIBCHAT-CONFIG*/null"
#: The most header lines, and header bytes (names, values and separators), a request for
#: a widget file may carry. Browsers send about 20 lines and a few KiB.
MAX_HEADERS: Final = 64
MAX_HEADER_BYTES: Final = 32 * 1024
#: What the embed is told when its page may not show the chat (`widget.js` says it in the
#: browser's console, for the library's web person).
NOT_ALLOWED: Final = "origin_not_allowed"
_SANE_ORIGIN: Final = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]{1,300}$")


@dataclass(frozen=True, slots=True)
class _Asset:
    file: str
    content_type: str
    cache_control: str
    with_config: bool = False  # the settings are filled in at CONFIG_MARKER


ASSETS: Final[dict[str, _Asset]] = {
    "/chat": _Asset("chat.html", "text/html; charset=utf-8", "no-cache", with_config=True),
    "/widget.js": _Asset("widget.js", "text/javascript; charset=utf-8", "public, max-age=300"),
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


@lru_cache(maxsize=32)
def _rendered(file: str, with_config: bool, config: str) -> tuple[bytes, str]:
    """A file's body with the settings filled in, and its ETag (made once, not per request)."""
    if not file:
        body = config.encode()
    else:
        text = _file(file)
        if with_config:
            text = text.replace(CONFIG_MARKER, config, 1)
        body = text.encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _body(asset: _Asset, settings: WidgetSettings) -> tuple[bytes, str]:
    needs_config = asset.with_config or not asset.file
    config = config_json(settings, for_html=asset.file.endswith(".html")) if needs_config else ""
    return _rendered(asset.file, asset.with_config, config)


def frame_ancestors(settings: WidgetSettings) -> str:
    """Who may put /chat in a frame: the desk itself plus the allowed origins."""
    if "*" in settings.allowed_origins:
        return "*"
    return " ".join(["'self'", *settings.allowed_origins])


def connect_sources(settings: WidgetSettings) -> str:
    """Where the widget may connect: its own origin only ('self' covers ws:// and wss:// to
    the same host in CSP 3), plus `public_url` as a WebSocket origin when it is set."""
    sources = ["'self'"]
    if settings.public_url:
        scheme, rest = settings.public_url.split("://", 1)
        sources.append(("wss://" if scheme == "https" else "ws://") + rest)
    return " ".join(sources)


def content_security_policy(path: str, settings: WidgetSettings) -> str:
    ancestors = frame_ancestors(settings) if path == "/chat" else "'none'"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"connect-src {connect_sources(settings)}; img-src 'self' data:; base-uri 'none'; "
            f"form-action 'none'; frame-ancestors {ancestors}")


class HttpGate:
    """Bounds on the plain HTTP requests `serve` answers: header lines and bytes per
    request, and a request rate per client address (a token bucket: `burst` at once, then
    `per_second`). Memory stays bounded: the stalest of `max_addresses` is forgotten.
    The server keeps one gate and passes it, with the client's address, to
    `static_response`."""

    def __init__(self, *, per_second: float = 2.0, burst: int = 60, max_headers: int = MAX_HEADERS,
                 max_header_bytes: int = MAX_HEADER_BYTES, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_second <= 0 or burst < 1 or max_headers < 1 or max_header_bytes < 1 or max_addresses < 1:
            raise ValueError("every HttpGate bound must be greater than 0")
        self.per_second = per_second
        self.burst = burst
        self.max_headers = max_headers
        self.max_header_bytes = max_header_bytes
        self._max_addresses = max_addresses
        self._clock = clock
        #: address -> (tokens, when last refilled, refusing since the last allowed request)
        self._buckets: OrderedDict[str, tuple[float, float, bool]] = OrderedDict()

    def too_big(self, request: Request) -> str | None:
        """Why the request's headers are over the bounds, or None."""
        return headers_too_big(request, self.max_headers, self.max_header_bytes)

    def wait(self, address: str) -> float:
        """0: `address` may have this request (it is counted). Otherwise the seconds until it may."""
        now = self._clock()
        tokens, last, refusing = self._buckets.pop(address, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens >= 1.0:
            self._buckets[address] = (tokens - 1.0, now, False)
            wait = 0.0
        else:
            self._buckets[address] = (tokens, now, True)
            wait = (1.0 - tokens) / self.per_second
            if not refusing:  # one line per run of refusals, not one per request
                log.warning("HTTP requests from %s over %d at once and %g a second; refusing with 429",
                            address, self.burst, self.per_second)
        while len(self._buckets) > self._max_addresses:
            self._buckets.popitem(last=False)
        return wait


def headers_too_big(request: Request, max_headers: int = MAX_HEADERS,
                    max_bytes: int = MAX_HEADER_BYTES) -> str | None:
    """Why a request's headers are over the bounds (for a 431), or None."""
    items = list(request.headers.raw_items())
    if len(items) > max_headers:
        return f"Too many header lines ({len(items)}; at most {max_headers})."
    size = sum(len(name) + len(value) + 4 for name, value in items)
    if size > max_bytes:
        return f"The headers are too large ({size} bytes; at most {max_bytes})."
    return None


def static_response(connection: ServerConnection, request: Request, settings: WidgetSettings, *,
                    gate: HttpGate | None = None, address: str | None = None) -> Response | None:
    """The HTTP response for a widget path, or None for any other path.

    With a `gate`, each request counts against `address` (the client's; the peer's when
    not given) and over-limit requests get 429; without one only the header bounds hold.
    """
    path = request.path.split("?", 1)[0].split("#", 1)[0]
    asset = ASSETS.get(path)
    if asset is None:
        return None
    if gate is not None:
        if address is None:
            remote = connection.remote_address
            address = str(remote[0]) if remote else "?"
        wait = gate.wait(address)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            response = connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS,
                                          f"Too many requests from your address; try again in {seconds} s.\n")
            _set(response, "Retry-After", str(seconds))
            _secure(response, path, settings)
            return response
    problem = gate.too_big(request) if gate is not None else headers_too_big(request)
    if problem is not None:
        response = connection.respond(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, problem + "\n")
        _secure(response, path, settings)
        return response
    method = request.method.upper()
    if method not in ("GET", "HEAD"):
        response = connection.respond(http.HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed.\n")
        _set(response, "Allow", "GET, HEAD")
        _secure(response, path, settings)
        return response
    cors: str | None = None
    if path == "/widget-config.json":
        origin = request.headers.get("Origin")
        if origin is not None:
            cors = "*" if "*" in settings.allowed_origins else origin.strip()
            if not _SANE_ORIGIN.match(cors) and cors != "*":
                cors = None
            if not origin_allowed(origin, request.headers.get("Host"), settings):
                return _refuse_embed(connection, path, settings, origin, cors, head=method == "HEAD")
    body, etag = _body(asset, settings)
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
    _secure(response, path, settings, cors=cors)
    return response


def _refuse_embed(connection: ServerConnection, path: str, settings: WidgetSettings, origin: str,
                  cors: str | None, *, head: bool) -> Response:
    """403 for an embed on a site not in `allowed_origins`, readable by that page's script
    (so `widget.js` can tell the web person why, instead of guessing at a network error)."""
    shown = origin.strip()[:300]
    body = json.dumps({
        "error": NOT_ALLOWED, "origin": shown,
        "message": f"{shown} is not in [widget] allowed_origins in the desk's config.toml.",
    }).encode()
    response = connection.respond(http.HTTPStatus.FORBIDDEN, "")
    _set(response, "Content-Type", "application/json; charset=utf-8")
    _set(response, "Content-Length", str(len(body)))
    _set(response, "Cache-Control", "no-cache")
    response.body = b"" if head else body
    _secure(response, path, settings, cors=cors)
    return response


def _set(response: Response, name: str, value: str | None) -> None:
    """Replace a header (websockets' Headers is multi-valued: plain assignment appends)."""
    if name in response.headers:
        del response.headers[name]
    if value is not None:
        response.headers[name] = value


def _secure(response: Response, path: str, settings: WidgetSettings, *, cors: str | None = None) -> None:
    _set(response, "Content-Security-Policy", content_security_policy(path, settings))
    _set(response, "X-Content-Type-Options", "nosniff")
    _set(response, "Referrer-Policy", "no-referrer")
    if path != "/chat" or not settings.allowed_origins:
        _set(response, "X-Frame-Options", "SAMEORIGIN" if path == "/chat" else "DENY")
    # widget.js is loaded by a <script> on the library's own pages; the rest stay here.
    _set(response, "Cross-Origin-Resource-Policy", "cross-origin" if path == "/widget.js" else "same-origin")
    if path == "/widget-config.json":  # read by widget.js from the library's pages (CORS)
        _set(response, "Vary", "Origin")
        _set(response, "Access-Control-Allow-Origin", cors)


def own_origins(host: str | None, settings: WidgetSettings) -> tuple[str, ...]:
    """The desk's own origin(s): `public_url`, or else what the request's Host says."""
    if settings.public_url:
        return (settings.public_url,)
    if not host:
        return ()
    own = host.strip().lower()
    return (normalize_origin(f"http://{own}"), normalize_origin(f"https://{own}"))


def origin_allowed(origin: str | None, host: str | None, settings: WidgetSettings) -> bool:
    """May a browser page from `origin` talk to the desk (reached as `host`)?

    No Origin (the simulator, `libchat-tui patron`, other non-browser clients) is allowed;
    a browser page is allowed from the desk's own origin (`public_url` when set: then
    the Host header, which a proxy may rewrite and a DNS-rebinding page chooses, is not
    believed) and from `allowed_origins`.
    """
    if origin is None:
        return True
    origin = normalize_origin(origin)
    if origin == "null" or not origin.startswith(("http://", "https://")):
        return False
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    return origin in own_origins(host, settings)


def startup_warnings(settings: WidgetSettings) -> list[str]:
    """What `serve` should say at start-up about the widget's settings (one line each)."""
    if settings.public_url or "*" in settings.allowed_origins:
        return []
    return ["[widget] public_url is not set: browser origins are checked against the request's Host "
            "header, which a reverse proxy may rewrite (the widget's own page then gets 403) and a "
            "DNS-rebinding page chooses; set public_url to the address patrons use, e.g. "
            '"https://chat.example.edu"']
