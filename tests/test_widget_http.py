"""The widget's HTTP side and settings: headers, methods, Origin checks, [widget] parsing.

`static_response` is called from a websockets server of our own on port 0 (the same
hook `serve` uses), so the responses are real HTTP read by a bare client.
"""

from __future__ import annotations

import http
import json
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser_support import http_get
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from libchat_tui.config import ConfigError, _Reader
from libchat_tui.web.http import origin_allowed, static_response
from libchat_tui.web.settings import DEFAULT_STRINGS, WidgetSettings, contrast_ratio, parse_widget

SETTINGS = WidgetSettings(library_name="Riverside </script><b>Library</b>",
                          allowed_origins=("https://www.riverside.example",))


@pytest.fixture
async def port() -> AsyncIterator[int]:
    def hook(connection: ServerConnection, request: Request) -> Response | None:
        return static_response(connection, request, SETTINGS) or connection.respond(
            http.HTTPStatus.NOT_FOUND, "Not found.\n")

    async def handler(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, process_request=hook) as server:
        yield int(server.sockets[0].getsockname()[1])


async def raw(port: int, request: bytes) -> bytes:
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


@pytest.mark.parametrize(("path", "kind"), [
    ("/chat", "text/html; charset=utf-8"),
    ("/widget.js", "text/javascript; charset=utf-8"),
    ("/chat.js", "text/javascript; charset=utf-8"),
    ("/chat.css", "text/css; charset=utf-8"),
    ("/widget-config.json", "application/json; charset=utf-8"),
])
async def test_each_file_has_its_type_and_strict_headers(port: int, path: str, kind: str) -> None:
    status, headers, body = await http_get(port, path)
    assert status == 200
    assert headers["content-type"] == kind
    assert int(headers["content-length"]) == len(body) > 0
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"]
    csp = headers["content-security-policy"]
    for rule in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                 "connect-src 'self' ws: wss:", "img-src 'self' data:"):
        assert rule in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_chat_may_be_framed_only_by_allowed_origins(port: int) -> None:
    _, headers, _ = await http_get(port, "/chat")
    assert "frame-ancestors 'self' https://www.riverside.example" in headers["content-security-policy"]
    _, js, _ = await http_get(port, "/chat.js")
    assert "frame-ancestors 'none'" in js["content-security-policy"]


async def test_settings_are_inlined_as_inert_json(port: int) -> None:
    _, _, body = await http_get(port, "/chat")
    page = body.decode()
    assert "</script><b>" not in page  # the library name cannot close the element
    found = re.search(r'<script id="libchat-config" type="application/json">(.*?)</script>', page, re.S)
    assert found is not None
    config = json.loads(found.group(1))
    assert config["library_name"] == SETTINGS.library_name
    assert set(config["strings"]) == set(DEFAULT_STRINGS)
    assert "allowed_origins" not in config
    _, _, js = await http_get(port, "/widget.js")
    assert b"/*LIBCHAT-CONFIG*/null" not in js and b'"library_name"' in js


async def test_head_gives_headers_only_and_etag_revalidates(port: int) -> None:
    reply = await raw(port, b"HEAD /chat.css HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""
    _, headers, _ = await http_get(port, "/chat.css")
    status, again, body = await http_get(port, "/chat.css", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b"" and again["etag"] == headers["etag"]


async def test_other_methods_are_refused(port: int) -> None:
    reply = await raw(port, b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 405")
    assert b"Allow: GET, HEAD" in reply


async def test_other_paths_are_left_to_the_server(port: int) -> None:
    for path in ("/", "/chat/", "/static/chat.js", "/../pyproject.toml", "/patron"):
        status, _, _ = await http_get(port, path)
        assert status == 404, path


def test_origin_check() -> None:
    default = WidgetSettings()
    assert origin_allowed(None, "desk.example:8765", default)  # not a browser
    assert origin_allowed("http://desk.example:8765", "desk.example:8765", default)
    assert origin_allowed("https://desk.example", "desk.example", default)
    assert not origin_allowed("https://evil.example", "desk.example:8765", default)
    assert not origin_allowed("null", "desk.example:8765", default)
    assert not origin_allowed("http://desk.example:9999", "desk.example:8765", default)
    assert not origin_allowed("https://www.riverside.example.evil", "desk", SETTINGS)
    assert origin_allowed("HTTPS://www.riverside.example:443", "desk", SETTINGS)
    assert origin_allowed("https://anything.example", "desk", WidgetSettings(allowed_origins=("*",)))


def parse(tmp_path: Path, text: str) -> WidgetSettings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return parse_widget(_Reader(path, text), tomllib.loads(text))


def test_defaults_without_a_section(tmp_path: Path) -> None:
    settings = parse(tmp_path, "")
    assert settings == WidgetSettings()
    assert contrast_ratio(settings.primary_colour, settings.text_colour) >= 4.5


def test_a_full_section(tmp_path: Path) -> None:
    settings = parse(tmp_path, """
[widget]
library_name = "Riverside Library"
primary_colour = "#004D40"
text_colour = "#fff"
greeting = "Hola"
offline_message = "Nadie"
require_email = true
allowed_origins = ["https://www.riverside.example/", "http://localhost:8000"]

[widget.strings]
start = "Empezar"
queue_position = "Usted es el número {position}."
""")
    assert settings.library_name == "Riverside Library"
    assert settings.primary_colour == "#004d40"
    assert settings.require_email is True
    assert settings.allowed_origins == ("https://www.riverside.example", "http://localhost:8000")
    assert settings.strings["start"] == "Empezar"
    assert settings.strings["send"] == DEFAULT_STRINGS["send"]


@pytest.mark.parametrize(("text", "line", "needle"), [
    ('[widget]\nprimary_colour = "blue"\n', 2, "[widget] primary_colour must be a hex colour"),
    ('[widget]\ntext_colour = "#eeeeee"\nprimary_colour = "#ffffff"\n', 2, "WCAG AA"),
    ('[widget]\nrequire_email = "yes"\n', 2, "require_email must be true or false"),
    ('[widget]\nallowed_origins = ["https://x.example/page"]\n', 2, "no path"),
    ('[widget]\nallowed_origins = "https://x.example"\n', 2, "must be a list"),
    ('[widget]\ncolour = "#000"\n', 2, "is not a setting"),
    ('[widget]\n\n[widget.strings]\nstrat = "Go"\n', 4, "[widget.strings] strat is not a widget string"),
    ('[widget.strings]\nqueue_position = "No. {pos}"\n', 2, "unknown placeholder {pos}"),
    ('[widget.strings]\nsend = ""\n', 2, "must be text"),
    ('[widget]\nlibrary_name = ""\n', 2, "library_name must be text"),
])
def test_mistakes_name_file_line_and_key(tmp_path: Path, text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, text)
    message = str(caught.value)
    assert f"config.toml, line {line}:" in message
    assert needle in message
