"""The documented reverse-proxy set-up, run for real: Debian's nginx in front of the desk with
the server block docs/security.md gives (issue 22: the example did not forward `Host`, so the
widget's own page was refused and `allowed_origins = ["*"]` invited). `.ci/run` installs
nginx; where it is missing these tests say so and are skipped."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from wire import Peer, librarian

from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits
from libchat_tui.web.settings import WidgetSettings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "security.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


def documented_server_block(listen_port: int, desk_port: int) -> str:
    """docs/security.md's nginx server block, as written, but on loopback without TLS."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```nginx\n(server \{.*?\n\})\n```", text, re.S)
    assert block is not None, "docs/security.md has no nginx server block"
    lines = []
    for line in block.group(1).splitlines():
        if line.strip().startswith("ssl_certificate"):
            continue  # TLS is the proxy's; this test speaks plain HTTP to it
        line = line.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen_port};")
        line = re.sub(r"proxy_pass http://127\.0\.0\.1:\d+;", f"proxy_pass http://127.0.0.1:{desk_port};",
                      line)
        lines.append(line)
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["with public_url", "Host only"])
async def proxied(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Backend, str]]:
    """nginx in front of the desk; with `[widget] public_url` as the docs say, and without it
    (then the forwarded `Host` is what makes the widget's own page pass the origin check)."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    desk = Backend(data_dir=tmp_path / "data", clock=FakeClock(), token="t",
                   widget=WidgetSettings(public_url=public if request.param == "with public_url" else None),
                   limits=Limits(trusted_proxies=("127.0.0.1",)))
    await desk.start()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    temp = "\n".join(f"    {kind}_temp_path {prefix}/{kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = prefix / "nginx.conf"
    conf.write_text(f"daemon off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
                    f"events {{}}\nhttp {{\n    access_log off;\n{temp}\n"
                    f"{documented_server_block(port, desk.port)}\n}}\n", encoding="utf-8")
    assert NGINX is not None
    proc = subprocess.Popen([NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)])
    try:
        for _ in range(250):  # up within 5 s (bounded)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.02)
        else:
            raise AssertionError((prefix / "error.log").read_text(encoding="utf-8"))
        yield desk, public
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        await desk.stop()


async def test_the_widget_and_a_patron_work_through_the_documented_proxy(
        proxied: tuple[Backend, str]) -> None:
    desk, public = proxied
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{public}/chat")
    assert page.status_code == 200 and "connect-src 'self'" in page.headers["content-security-policy"]
    ws_url = public.replace("http://", "ws://")
    # The widget's own page: its Origin is the public address, which the desk checks, not Host.
    patron = Peer(await connect(f"{ws_url}/patron", origin=public,  # type: ignore[arg-type]
                                local_addr=("127.0.0.5", 0)))
    joined = await patron.request("join", name="Maya", question="Through the proxy?")
    assert joined["type"] == "ack", joined
    with pytest.raises(InvalidStatus) as refused:  # a page elsewhere (or a rebinding DNS name)
        await connect(f"{ws_url}/patron", origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    # The desk sees the patron's own address (the proxy's X-Forwarded-For), not the proxy's.
    rows = await desk.store.read(lambda conn: conn.execute("SELECT address FROM chat_origins").fetchall())
    assert rows == [("127.0.0.5",)]
    await patron.close()


async def test_a_console_works_through_the_documented_proxy(proxied: tuple[Backend, str]) -> None:
    _desk, public = proxied
    lib, hello = await librarian(public.replace("http://", "ws://"), "t", "Ana")  # hello and synced
    assert hello["librarians"][0]["name"] == "Ana"
    assert (await lib.ok("tickets", status="open"))["tickets"] == []
    await lib.close()
