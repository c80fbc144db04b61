"""The widget's HTTP side and settings: headers, methods, Origin checks, limits, [widget] parsing.

`static_response` is called from a websockets server of our own on port 0 (the same
hook `serve` uses), so the responses are real HTTP read by a bare client; the Origin
check against `public_url` is also tried on a real `libchat-tui serve`.
"""

from __future__ import annotations

import asyncio
import http
import json
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser_support import http_get, running_desk
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from libchat_tui.backend.runtime import Backend
from libchat_tui.config import ConfigError, _Reader
from libchat_tui.web.http import HttpGate, origin_allowed, startup_warnings, static_response
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


class Ticks:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def gated_port(ticks: Ticks) -> AsyncIterator[int]:
    """`static_response` with a gate, as `serve` wires it: 5 requests at once per address."""
    gate = HttpGate(per_second=0.5, burst=5, clock=ticks)

    def hook(connection: ServerConnection, request: Request) -> Response | None:
        peer = str(connection.remote_address[0])
        return static_response(connection, request, SETTINGS, gate=gate, address=peer) or \
            connection.respond(http.HTTPStatus.NOT_FOUND, "Not found.\n")

    async def handler(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, process_request=hook) as server:
        yield int(server.sockets[0].getsockname()[1])


async def raw(port: int, request: bytes) -> bytes:
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
                 "connect-src 'self';", "img-src 'self' data:"):
        assert rule in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_websockets_may_go_only_to_the_desk_itself() -> None:
    """`connect-src ws: wss:` would let an injected script talk to any host."""
    from libchat_tui.web.http import content_security_policy

    for settings in (SETTINGS, WidgetSettings(public_url="https://chat.riverside.example")):
        csp = content_security_policy("/chat", settings)
        connect = next(rule for rule in csp.split("; ") if rule.startswith("connect-src "))
        assert connect.split()[1] == "'self'"
        assert not {"ws:", "wss:", "http:", "https:", "*"} & set(connect.split())
    public = content_security_policy("/chat", WidgetSettings(public_url="https://chat.riverside.example"))
    assert "connect-src 'self' wss://chat.riverside.example;" in public


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
    assert b"/widget-config.json" in js  # the embed asks for its settings (and leave) first


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


async def test_the_embeds_settings_are_given_only_to_allowed_sites(port: int) -> None:
    """widget.js reads /widget-config.json with CORS: a listed site gets the settings, any
    other a 403 its script can read (so the embed shows nothing and can say why)."""
    allowed = "https://www.riverside.example"
    status, headers, body = await http_get(port, "/widget-config.json", {"Origin": allowed})
    assert status == 200
    assert headers["access-control-allow-origin"] == allowed and headers["vary"] == "Origin"
    assert json.loads(body)["library_name"] == SETTINGS.library_name

    status, headers, body = await http_get(port, "/widget-config.json", {"Origin": "https://evil.example"})
    assert status == 403
    refusal = json.loads(body)
    assert refusal["error"] == "origin_not_allowed" and refusal["origin"] == "https://evil.example"
    assert "allowed_origins" in refusal["message"] and "library_name" not in refusal
    assert headers["access-control-allow-origin"] == "https://evil.example"

    status, headers, _ = await http_get(port, "/widget-config.json")  # same origin: no Origin header
    assert status == 200 and "access-control-allow-origin" not in headers


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


def test_with_public_url_the_host_header_is_not_believed() -> None:
    public = WidgetSettings(public_url="https://chat.riverside.example")
    # nginx's proxy_pass without `proxy_set_header Host` sends the upstream's address
    assert origin_allowed("https://chat.riverside.example", "127.0.0.1:8765", public)
    # a DNS-rebinding page: its own name in Host and in Origin
    assert not origin_allowed("http://rebind.attacker.example:8765", "rebind.attacker.example:8765", public)
    assert not origin_allowed("http://127.0.0.1:8765", "127.0.0.1:8765", public)
    assert startup_warnings(public) == []
    [warning] = startup_warnings(WidgetSettings())
    assert "public_url" in warning and "Host" in warning


def handshake(host: str, origin: str) -> bytes:
    return (f"GET /patron HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\n\r\n").encode()


async def status_of(port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return int(line.split()[1])


async def test_serve_checks_origins_against_public_url(tmp_path: Path) -> None:
    """On a real `serve` behind a proxy that does not forward Host, the widget's own page
    is let in; a DNS-rebinding request (the attacker's name as Host and Origin) is not."""
    widget = WidgetSettings(library_name="Riverside Library", public_url="https://chat.riverside.example")
    async with running_desk(tmp_path, widget=widget) as (desk, _front):
        proxied = handshake(f"127.0.0.1:{desk.port}", "https://chat.riverside.example")
        assert await status_of(desk.port, proxied) == 101
        assert await status_of(desk.port, handshake(f"rebind.example:{desk.port}",
                                                    f"http://rebind.example:{desk.port}")) == 403


# --- limits on plain HTTP -------------------------------------------------------------------


async def test_requests_are_limited_per_address(gated_port: int, ticks: Ticks) -> None:
    for _ in range(5):
        assert (await http_get(gated_port, "/chat.css", source="127.0.0.2"))[0] == 200
    status, headers, body = await http_get(gated_port, "/chat.css", source="127.0.0.2")
    assert status == 429
    assert headers["retry-after"] == "2"
    assert b"Too many requests from your address" in body
    for source in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):  # other addresses are not held back
        assert (await http_get(gated_port, "/chat", source=source))[0] == 200
    ticks.now += 2
    assert (await http_get(gated_port, "/chat.css", source="127.0.0.2"))[0] == 200


async def test_oversized_headers_get_431(port: int, gated_port: int) -> None:
    many = {f"X-Filler-{i}": "x" for i in range(100)}  # websockets itself stops at 128
    large = {f"X-Large-{i}": "y" * 7000 for i in range(6)}
    for target in (port, gated_port):
        for headers, source in ((many, "127.0.0.6"), (large, "127.0.0.7")):
            status, _, body = await http_get(target, "/widget.js", headers, source=source)
            assert status == 431, body
        assert (await http_get(target, "/widget.js", source="127.0.0.8"))[0] == 200


def test_the_gate_forgets_the_stalest_address(ticks: Ticks) -> None:
    gate = HttpGate(per_second=1, burst=1, max_addresses=3, clock=ticks)
    assert gate.wait("10.0.0.1") == 0 and gate.wait("10.0.0.1") > 0
    for n in range(2, 6):
        gate.wait(f"10.0.0.{n}")
    assert gate.wait("10.0.0.1") == 0  # forgotten: memory stays bounded
    with pytest.raises(ValueError):
        HttpGate(per_second=0)


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
public_url = "HTTPS://Chat.Riverside.example:443/"

[widget.strings]
start = "Empezar"
queue_position = "Usted es el número {position}."
""")
    assert settings.library_name == "Riverside Library"
    assert settings.primary_colour == "#004d40"
    assert settings.require_email is True
    assert settings.allowed_origins == ("https://www.riverside.example", "http://localhost:8000")
    assert settings.public_url == "https://chat.riverside.example"
    assert settings.strings["start"] == "Empezar"
    assert settings.strings["send"] == DEFAULT_STRINGS["send"]


@pytest.mark.parametrize(("text", "line", "needle"), [
    ('[widget]\nprimary_colour = "blue"\n', 2, "[widget] primary_colour must be a hex colour"),
    ('[widget]\ntext_colour = "#eeeeee"\nprimary_colour = "#ffffff"\n', 2, "WCAG AA"),
    ('[widget]\nrequire_email = "yes"\n', 2, "require_email must be true or false"),
    ('[widget]\nallowed_origins = ["https://x.example/page"]\n', 2, "no path"),
    ('[widget]\nallowed_origins = "https://x.example"\n', 2, "must be a list"),
    ('[widget]\npublic_url = "https://chat.x.example/desk"\n', 2, "[widget] public_url must be the desk's"),
    ('[widget]\npublic_url = 8765\n', 2, "[widget] public_url must be"),
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


def test_the_docs_list_every_widget_setting_and_string() -> None:
    """docs/widget.md's tables hold the code's keys and string ids (and the English text)."""
    from libchat_tui.web import settings as widget_settings

    doc = (Path(__file__).resolve().parent.parent / "docs" / "widget.md").read_text(encoding="utf-8")
    strings = doc.split("### Strings", 1)[1].split("\n## ", 1)[0]
    for key, english in DEFAULT_STRINGS.items():
        row = next((ln for ln in strings.splitlines() if ln.startswith("| ") and f"`{key}`" in ln), "")
        assert row, key
        if "," not in row.split("|")[1]:  # `star`, `stars` share a row
            assert row == f"| `{key}` | {english} |", row
    table = doc.split("| key | default |", 1)[1].split("\n\n", 1)[0]
    named = {cell.strip().strip("`") for ln in table.splitlines()[2:] for cell in ln.split("|")[1].split(",")}
    assert named == widget_settings._KEYS - {"strings"}


async def test_serve_limits_plain_http_per_address(backend: Backend) -> None:
    """The desk's own HTTP gate is in force: one address past its burst gets 429, another
    address is still served (issue 22: plain HTTP had no per-address limit)."""
    import httpx

    from libchat_tui.backend.server import HTTP_BURST

    base = backend.url.replace("ws://", "http://")
    codes: list[int] = []
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")) as one:
        while 429 not in codes and len(codes) < 4 * HTTP_BURST:  # bounded: the refill is 20 a second
            codes.append((await one.get(f"{base}/chat.css")).status_code)
    assert codes[:HTTP_BURST] == [200] * HTTP_BURST and codes[-1] == 429
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.3")) as other:
        assert (await other.get(f"{base}/chat.css")).status_code == 200
