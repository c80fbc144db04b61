"""The patron chat widget in a real browser against a real `libchat-tui serve`.

Headless Debian Chromium driven by Playwright; the librarian speaks the real protocol
(tests/wire.py). The browser reaches the desk through a front that can cut the network
(browser_support.Front). Each state is photographed into docs/images/widget-*.png.
axe-core (from the `axe-playwright-python` wheel, no network) checks every view at
1280x800 and 375x700.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM_FLAGS, Desk, Front, PageServer, axe_script, chromium_path, running_desk
from hostile import HOSTILE
from websockets.asyncio.server import ServerConnection, serve
from wire import Peer, join, librarian

from libchat_tui.web.settings import WidgetSettings

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")

if CHROMIUM is not None:
    from playwright.async_api import Browser, Page, async_playwright, expect

    expect.set_options(timeout=15_000)

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
AXE = axe_script()
SIZES = pytest.mark.parametrize("size", [(1280, 800), (375, 700)], ids=["1280x800", "375x700"])
QUESTION = "Is the library open on Sunday?"
HTML_PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    '<b>bold</b><a href="javascript:window.__pwned=3">link</a>',
    '"><svg onload=window.__pwned=4>',
    '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>',
    "&lt;escaped&gt; &amp; &#60;b&#62;",
    "<style>body{display:none}</style>",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[Desk, Front]]:
    async with running_desk(tmp_path) as running:
        yield running


async def open_chat(browser: Browser, front: Front, *, width: int = 400) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 700}, accept_downloads=True)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))  # a JS alert() = injected
    await page.goto(f"{front.http_url}/chat")
    return page


async def snap(page: Page, name: str) -> None:
    """A screenshot of this state: always taken (it must not fail), and kept as the
    documentation's picture only when asked (`LIBCHAT_UPDATE_SCREENSHOTS=1`), so a test
    run leaves the working tree as it was."""
    shot = await page.screenshot()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("LIBCHAT_UPDATE_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        (IMAGES / f"widget-{name}.png").write_bytes(shot)


async def ask(page: Page, name: str = "Maya", question: str = QUESTION, email: str = "") -> None:
    form = page.locator("#view-start")
    await form.get_by_label("Your name").fill(name)
    if email:
        await form.get_by_label("E-mail").fill(email)
    await form.get_by_label("Your question").fill(question)
    await form.get_by_role("button", name="Start chat").click()


async def say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_label("Your message").press("Enter")


async def accepted_chat(browser: Browser, desk: Desk, front: Front,
                        lib: Peer) -> tuple[Page, int]:
    page = await open_chat(browser, front)
    await ask(page)
    chat = (await lib.next_event("chat", state="waiting"))["chat"]
    await lib.ok("accept", chat_id=chat["id"])
    await expect(page.locator("#chat-heading")).to_have_text("Chatting with Ana Reyes")
    return page, int(chat["id"])


async def transcript_texts(lib: Peer, chat_id: int, sender: str) -> list[str]:
    result = await lib.ok("transcript", chat_id=chat_id)
    return [m["text"] for m in result["messages"] if m["sender"] == sender]


def log_items(page: Page, sender: str) -> Any:
    return page.locator(f"#log li.msg.{sender} .text")


async def axe_violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it is now (every rule axe runs by default)."""
    if AXE is None:
        pytest.skip("axe-core is not installed (pip install axe-playwright-python)")
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE)
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]]


# --- the whole chat ---------------------------------------------------------------------


async def test_ask_accept_talk_and_the_librarian_ends(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page = await open_chat(browser, front)
    await expect(page.get_by_role("button", name="Start chat")).to_be_visible()
    await snap(page, "start")
    await ask(page, email="maya@example.edu")

    chat = (await lib.next_event("chat", state="waiting"))["chat"]
    assert chat["patron"]["name"] == "Maya" and chat["question"] == QUESTION
    await expect(page.locator("#chat-heading")).to_have_text("Waiting for a librarian…")

    await lib.ok("accept", chat_id=chat["id"])
    await expect(page.locator("#chat-heading")).to_have_text("Chatting with Ana Reyes")
    await expect(page.locator("#log")).to_contain_text("Ana Reyes joined the chat.")
    await lib.ok("send", chat_id=chat["id"], text="Yes, from 12 to 6.")
    await expect(log_items(page, "librarian")).to_have_text(["Yes, from 12 to 6."])
    await expect(page.locator("#log li.msg.librarian .who")).to_have_text("Ana Reyes")

    await say(page, "Thank you! And on holidays?")
    got = await lib.next_event("message", text="Thank you! And on holidays?")
    assert got["message"]["chat_id"] == chat["id"] and got["message"]["sender"] == "patron"
    await expect(page.locator("#log li.msg.patron .flag")).to_have_count(0)  # acknowledged

    await lib.ws.send(json.dumps({"type": "typing", "chat_id": chat["id"]}))
    await expect(page.locator("#typing")).to_have_text("Ana Reyes is typing…")
    await snap(page, "chatting")

    await lib.ok("end", chat_id=chat["id"])
    await expect(page.locator("#ended-text")).to_contain_text("The librarian ended the chat at ")
    await expect(page.get_by_label("Your message")).to_be_hidden()
    await expect(page.get_by_role("button", name="Download transcript")).to_be_visible()
    await snap(page, "ended")
    await lib.close()


async def test_the_patron_ends_after_confirming(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page, chat_id = await accepted_chat(browser, server, front, lib)
    await page.get_by_role("button", name="End chat").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(page.get_by_role("button", name="Keep chatting")).to_be_focused()
    await snap(page, "confirm-end")
    await page.keyboard.press("Enter")  # Keep chatting has the focus: nothing ends
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_label("Your message")).to_be_visible()

    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Yes, end the chat").click()
    ended = await lib.next_event("chat", state="ended")
    assert ended["chat"]["id"] == chat_id
    assert ended["chat"]["last_change"]["action"] == "end_by_patron"
    await expect(page.locator("#ended-text")).to_contain_text("You ended the chat at ")
    await lib.close()


async def test_transcript_download_and_rating(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page, chat_id = await accepted_chat(browser, server, front, lib)
    await lib.ok("send", chat_id=chat_id, text="Here is the <catalogue> link.")
    await say(page, "Got it.")
    await lib.next_event("message", text="Got it.")
    await lib.ok("note", chat_id=chat_id, text="INTERNAL: patron asks every week")
    await lib.ok("end", chat_id=chat_id)
    await expect(page.locator("#ended-text")).to_contain_text("The librarian ended the chat")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download transcript").click()
    download = await download_info.value
    assert re.fullmatch(r"library-chat-\d{4}-\d\d-\d\d\.txt", download.suggested_filename)
    text = Path(await download.path()).read_text(encoding="utf-8")
    assert QUESTION in text and "Here is the <catalogue> link." in text and "Got it." in text
    assert "INTERNAL" not in text

    await page.locator("label[for=star-4]").click()  # the fourth star
    await expect(page.get_by_role("radio", name="4 stars")).to_be_checked()
    await page.get_by_label("Comment (optional)").fill("Quick and kind <3")
    await snap(page, "rating")
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.locator("#rated")).to_have_text("Thank you for your feedback.")
    record = await lib.ok("transcript", chat_id=chat_id)
    assert record["chat"]["rating"] == 4
    assert record["chat"]["rating_comment"] == "Quick and kind <3"
    await lib.close()


async def test_queue_position_while_waiting(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    first, _joined = await join(server.url, name="Early Bird")
    page = await open_chat(browser, front)
    await ask(page)
    await expect(page.locator("#queue")).to_have_text("You are number 2 in line.")
    await snap(page, "waiting")
    early_bird = (await lib.next_event("chat", state="waiting"))["chat"]["id"]  # the first to wait
    await lib.ok("accept", chat_id=early_bird)
    await expect(page.locator("#queue")).to_have_text("You are next in line.")
    await first.close()
    await lib.close()


# --- connection trouble -------------------------------------------------------------------


async def test_a_dropped_network_resumes_the_same_chat_within_grace(
    browser: Browser, desk: tuple[Desk, Front]
) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page, chat_id = await accepted_chat(browser, server, front, lib)
    await lib.ok("send", chat_id=chat_id, text="Before the drop.")
    await expect(log_items(page, "librarian")).to_have_text(["Before the drop."])

    front.cut()
    await expect(page.locator("#banner")).to_have_text("Connection lost. Reconnecting…")
    state = await lib.next_event("chat", state="reconnecting")
    assert state["chat"]["id"] == chat_id and state["chat"]["grace_deadline"]
    await say(page, "Typed while offline.")
    await expect(page.locator("#log li.msg.patron .flag")).to_have_text("sending…")
    await lib.ok("send", chat_id=chat_id, text="Sent while you were away.")
    await snap(page, "reconnecting")

    front.restore()
    await expect(page.locator("#banner")).to_have_text("Reconnected.")
    await lib.next_event("chat", state="active")
    await expect(log_items(page, "librarian")).to_have_text(["Before the drop.", "Sent while you were away."])
    await lib.next_event("message", text="Typed while offline.")
    await expect(page.locator("#log li.msg.patron .flag")).to_have_count(0)
    assert (await transcript_texts(lib, chat_id, "patron")).count("Typed while offline.") == 1
    await expect(page.locator("#log li.msg.patron .text", has_text="Typed while offline.")).to_have_count(1)
    # The desk's "You are reconnected." (a `state` event by "Patron") was handled before this
    # later line is shown: it must not make the patron their own librarian.
    await lib.ok("send", chat_id=chat_id, text="Glad you are back.")
    await expect(log_items(page, "librarian")).to_have_text(
        ["Before the drop.", "Sent while you were away.", "Glad you are back."])
    assert await page.locator("#chat-heading").text_content() == "Chatting with Ana Reyes"
    assert "Patron joined" not in await page.locator("#log").inner_text()
    await lib.close()


async def test_offline_emulation_sends_a_message_once(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page, chat_id = await accepted_chat(browser, server, front, lib)
    await page.context.set_offline(True)
    await expect(page.locator("#banner")).to_have_text("Connection lost. Reconnecting…")
    await say(page, "Written on the train.")
    await page.context.set_offline(False)
    await expect(page.locator("#banner")).to_have_text("Reconnected.")
    await lib.next_event("message", text="Written on the train.")
    await lib.ok("send", chat_id=chat_id, text="Welcome back.")
    await expect(log_items(page, "librarian")).to_have_text(["Welcome back."])
    assert (await transcript_texts(lib, chat_id, "patron")).count("Written on the train.") == 1
    await lib.close()


async def test_past_grace_the_patron_files_the_offered_ticket(browser: Browser, tmp_path: Path) -> None:
    async with running_desk(tmp_path, grace=5) as (server, front):
        lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
        page, chat_id = await accepted_chat(browser, server, front, lib)
        front.cut()
        await lib.next_event("chat", state="reconnecting")
        await say(page, "Are you still there?")
        await lib.next_event("chat", state="disconnected")
        front.restore()
        await expect(page.get_by_role("heading", name="The connection was lost")).to_be_visible()
        await expect(page.get_by_label("Anything to add (optional)")).to_have_value("Are you still there?")
        await page.locator("#lost").get_by_label("E-mail").fill("maya@example.edu")
        await snap(page, "lost")
        await page.get_by_role("button", name="Send to the library").click()
        await expect(page.locator("#done-text")).to_contain_text("Your ticket number is")
        ticket = (await lib.next_event("ticket"))["ticket"]
        assert ticket["chat_id"] == chat_id and ticket["email"] == "maya@example.edu"
        assert ticket["source"] == "patron"
        await lib.close()


async def test_a_reload_resumes_the_same_chat(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page, chat_id = await accepted_chat(browser, server, front, lib)
    await lib.ok("send", chat_id=chat_id, text="Which branch?")
    await say(page, "Main street.")
    await lib.next_event("message", text="Main street.")

    await page.reload()
    await expect(page.locator("#chat-heading")).to_have_text("Chatting with Ana Reyes")
    await expect(log_items(page, "librarian")).to_have_text(["Which branch?"])
    await expect(log_items(page, "patron")).to_have_text([QUESTION, "Main street."])
    await say(page, "After the reload.")
    got = await lib.next_event("message", text="After the reload.")
    assert got["message"]["chat_id"] == chat_id
    await lib.close()


async def test_a_reload_shows_who_joined_the_chat(browser: Browser, desk: tuple[Desk, Front]) -> None:
    """The desk tells the patron live who joined (accepted, or took the chat over); the
    patron's transcript has no such lines, so after a reload the widget puts them back."""
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    ben, _ = await librarian(server.url, server.token, name="Ben Okafor")
    page, chat_id = await accepted_chat(browser, server, front, lib)
    await lib.ok("send", chat_id=chat_id, text="Which branch?")
    await lib.ok("transfer", chat_id=chat_id, to_librarian="id-Ben Okafor")
    await ben.ok("answer_transfer", chat_id=chat_id, accept=True)
    shown = [QUESTION, "Ana Reyes joined the chat.", "Which branch?", "Ben Okafor joined the chat."]
    await expect(page.locator("#log li.msg .text")).to_have_text(shown)

    await page.reload()
    await expect(page.locator("#log li.msg .text")).to_have_text(shown)
    await expect(page.locator("#log li.msg.system")).to_have_count(2)
    await expect(page.locator("#chat-heading")).to_have_text("Chatting with Ben Okafor")  # the owner now

    await ben.ok("send", chat_id=chat_id, text="Ben here.")
    await expect(log_items(page, "librarian")).to_have_text(["Which branch?", "Ben here."])
    await page.reload()  # Ben has written now: his line comes before his first message
    await expect(page.locator("#log li.msg .text")).to_have_text([*shown, "Ben here."])
    await lib.close()
    await ben.close()


LAST_LINE_IN_VIEW = """() => {
    const log = document.getElementById('log').getBoundingClientRect();
    const items = [...document.querySelectorAll('#log li.msg')];
    const lastItem = items[items.length - 1];
    const last = lastItem.getBoundingClientRect();
    const panel = document.getElementById('after').getBoundingClientRect();
    const hit = document.elementFromPoint(last.left + last.width / 2, last.top + last.height / 2);
    const whole = items.filter(li => {
        const r = li.getBoundingClientRect();
        return r.top >= log.top - 1 && r.bottom <= log.bottom + 1;
    }).length;
    const ok = last.top >= log.top - 1 && last.bottom <= log.bottom + 1 && last.bottom <= innerHeight
        && panel.top >= log.bottom - 1 && !!hit && lastItem.contains(hit) && whole >= 3;
    return {ok, log: [log.top, log.bottom], last: [last.top, last.bottom], panel: panel.top,
            hit: hit ? hit.className : null, whole};
}"""


@SIZES
async def test_after_the_chat_the_last_message_stays_in_view(browser: Browser, desk: tuple[Desk, Front],
                                                             size: tuple[int, int]) -> None:
    """The after-chat panel takes room below the log: the log keeps its newest line whole
    in view (and a few before it), and the panel never covers it."""
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    await page.goto(f"{front.http_url}/chat")
    await ask(page)
    chat_id = (await lib.next_event("chat", state="waiting"))["chat"]["id"]
    await lib.ok("accept", chat_id=chat_id)
    lines = [f"Step {n}: the catalogue search, then the shelf mark for the atlas." for n in range(1, 9)]
    for text in [*lines, "The last word: goodbye and good luck."]:
        await lib.ok("send", chat_id=chat_id, text=text)
    await expect(log_items(page, "librarian")).to_have_count(len(lines) + 1)
    await lib.ok("end", chat_id=chat_id)
    await expect(page.locator("#ended-text")).to_be_visible()
    # Layout settles over a frame or two (the log resizes); look again at each frame, for
    # at most 5 s. (wait_for_function would need eval, which the widget's CSP forbids.)
    deadline = asyncio.get_running_loop().time() + 5
    geometry = await page.evaluate(LAST_LINE_IN_VIEW)
    while not geometry["ok"] and asyncio.get_running_loop().time() < deadline:
        await page.evaluate("new Promise(done => requestAnimationFrame(() => done(null)))")
        geometry = await page.evaluate(LAST_LINE_IN_VIEW)
    assert geometry["ok"], geometry
    await lib.close()


# --- before the chat ----------------------------------------------------------------------


async def test_enter_starts_the_chat_from_the_question_box(browser: Browser,
                                                            desk: tuple[Desk, Front]) -> None:
    """Enter in the question box starts the chat, as Enter in the reply box sends;
    Shift+Enter makes a new line in both, and a hint under each says so."""
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page = await open_chat(browser, front)
    form = page.locator("#view-start")
    await form.get_by_label("Your name").fill("Maya")
    question = form.get_by_label("Your question")
    await question.click()
    await page.keyboard.type("Two things:")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("hours and parking.")
    await expect(question).to_have_value("Two things:\nhours and parking.")
    hint = "Enter starts the chat; Shift+Enter makes a new line."
    await expect(form.get_by_text(hint)).to_be_visible()
    await expect(question).to_have_accessible_description(hint)
    await page.keyboard.press("Enter")
    chat = (await lib.next_event("chat", state="waiting"))["chat"]
    assert chat["question"] == "Two things:\nhours and parking."

    reply = page.get_by_label("Your message")
    await expect(reply).to_be_visible()
    label = await page.locator("#composer-label").bounding_box()
    assert label is not None and label["width"] > 40 and label["height"] > 10  # seen, not only read out
    await expect(reply).to_have_accessible_description("Enter sends; Shift+Enter makes a new line.")
    await expect(page.locator("#composer-hint")).to_be_visible()
    await lib.close()




async def test_offline_form_when_no_librarian_is_online(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    page = await open_chat(browser, front)
    await expect(page.get_by_role("heading", name="No librarian is online")).to_be_visible()
    form = page.locator("#view-offline")
    await form.get_by_label("Your name").fill("Maya")
    await form.get_by_label("E-mail").fill("maya@example.edu")
    await form.get_by_label("Your question").fill("Do you have the 1901 census on microfilm?")
    await snap(page, "offline")
    await form.get_by_role("button", name="Send question").click()
    await expect(page.locator("#done-text")).to_contain_text("we will answer by e-mail")
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    tickets = (await lib.ok("tickets", status="open"))["tickets"]
    assert any(t["email"] == "maya@example.edu" and "1901 census" in t["body"] for t in tickets)
    await lib.close()


async def test_keyboard_only_and_320_px(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page = await open_chat(browser, front, width=320)
    await expect(page.get_by_role("button", name="Start chat")).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.locator("#view-start").get_by_label("Your name")).to_be_focused()
    await page.keyboard.type("Keyboard Kim")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Where are the atlases?")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Start chat")).to_be_focused()
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    await snap(page, "start-320")
    await page.keyboard.press("Enter")
    chat = (await lib.next_event("chat", state="waiting"))["chat"]
    assert chat["patron"]["name"] == "Keyboard Kim"
    await lib.ok("accept", chat_id=chat["id"])
    await expect(page.get_by_label("Your message")).to_be_focused()
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Enter")
    await lib.next_event("message", text="Typed without a mouse")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 320
    await snap(page, "chatting-320")
    await lib.close()


@SIZES
async def test_every_view_passes_axe(browser: Browser, desk: tuple[Desk, Front],
                                     size: tuple[int, int]) -> None:
    """axe-core finds nothing in any view: offline form, start form, waiting, chatting,
    reconnecting, the confirm-end dialog, and after the chat."""
    server, front = desk
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    await page.goto(f"{front.http_url}/chat")
    await expect(page.get_by_role("heading", name="No librarian is online")).to_be_visible()
    found = {"offline": await axe_violations(page)}

    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    await page.reload()
    await expect(page.get_by_role("button", name="Start chat")).to_be_visible()
    found["start"] = await axe_violations(page)
    await ask(page)
    chat_id = (await lib.next_event("chat", state="waiting"))["chat"]["id"]
    await expect(page.locator("#chat-heading")).to_have_text("Waiting for a librarian…")
    found["waiting"] = await axe_violations(page)
    await lib.ok("accept", chat_id=chat_id)
    await lib.ok("send", chat_id=chat_id, text="Yes, from 12 to 6.")
    await say(page, "Thank you!")
    await lib.next_event("message", text="Thank you!")
    await expect(log_items(page, "librarian")).to_have_text(["Yes, from 12 to 6."])
    await expect(page.locator("#log li.msg.patron .flag")).to_have_count(0)
    found["chatting"] = await axe_violations(page)

    front.cut()
    await expect(page.locator("#banner")).to_have_text("Connection lost. Reconnecting…")
    found["reconnecting"] = await axe_violations(page)
    front.restore()
    await expect(page.locator("#banner")).to_have_text("Reconnected.")

    await page.get_by_role("button", name="End chat").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    found["confirm-end"] = await axe_violations(page)
    await page.get_by_role("button", name="Yes, end the chat").click()
    await expect(page.locator("#ended-text")).to_contain_text("You ended the chat at ")
    found["after"] = await axe_violations(page)
    await page.locator("label[for=star-4]").click()
    found["rating"] = await axe_violations(page)
    assert {view: v for view, v in found.items() if v} == {}
    await lib.close()


# --- hostile text and hostile pages ---------------------------------------------------------


async def test_hostile_text_is_shown_as_text(browser: Browser, desk: tuple[Desk, Front]) -> None:
    server, front = desk
    lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
    page = await open_chat(browser, front)
    await ask(page, name='<img src=x onerror="window.__pwned=6">', question=HTML_PAYLOADS[0])
    chat = (await lib.next_event("chat", state="waiting"))["chat"]
    await lib.ok("accept", chat_id=chat["id"])
    corpus = [*HTML_PAYLOADS, *(h for h in HOSTILE if len(h) <= 4000)]
    for text in corpus:
        await lib.ok("send", chat_id=chat["id"], text=text)
    for text in HTML_PAYLOADS[1:4]:
        await say(page, text)
        await lib.next_event("message", text=text)
    await expect(log_items(page, "librarian")).to_have_count(len(corpus))
    shown = await log_items(page, "librarian").all_text_contents()
    assert shown[: len(HTML_PAYLOADS)] == HTML_PAYLOADS
    assert await log_items(page, "patron").all_text_contents() == [HTML_PAYLOADS[0], *HTML_PAYLOADS[1:4]]
    tags = await page.evaluate("[...new Set([...document.querySelectorAll('#log *')].map(e => e.tagName))]")
    assert set(tags) <= {"OL", "LI", "DIV", "SPAN", "TIME"}
    assert await page.evaluate("document.querySelectorAll('img, svg, iframe, b, a, style').length") == 0
    assert await page.evaluate("window.__pwned") is None
    assert await page.evaluate("getComputedStyle(document.body).display") != "none"
    await snap(page, "hostile")
    await lib.close()


def embedding_page(front: Front) -> str:
    return ("<!doctype html><html lang=en><head><title>Riverside Library</title></head>"
            "<body><h1>Riverside Library</h1><p>Opening hours, events and more.</p>"
            f'<script src="{front.http_url}/widget.js" async></script></body></html>')


async def test_an_allowed_site_embeds_the_widget(browser: Browser, tmp_path: Path) -> None:
    site = PageServer("")
    await site.start()
    widget = WidgetSettings(library_name="Riverside Library", allowed_origins=(site.origin,))
    try:
        async with running_desk(tmp_path, widget=widget) as (server, front):
            lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
            site.html = embedding_page(front)
            page = await browser.new_page(viewport={"width": 900, "height": 760})
            await page.goto(f"{site.origin}/events")
            launcher = page.get_by_role("button", name="Chat with a librarian")
            await launcher.focus()
            await page.keyboard.press("Enter")
            await expect(page.get_by_role("button", name="Close chat window")).to_have_attribute(
                "aria-expanded", "true")
            inner = page.frame_locator("#libchat-panel iframe")
            await expect(inner.get_by_role("heading", name="Chat with Riverside Library")).to_be_visible()
            await inner.locator("#view-start").get_by_label("Your name").fill("Maya")
            await inner.locator("#view-start").get_by_label("Your question").fill(QUESTION)
            await inner.get_by_role("button", name="Start chat").click()
            chat = (await lib.next_event("chat", state="waiting"))["chat"]
            assert chat["question"] == QUESTION
            await lib.ok("accept", chat_id=chat["id"])
            await lib.ok("send", chat_id=chat["id"], text="Hello from the desk.")
            await expect(inner.locator("#log li.msg.librarian .text")).to_have_text(["Hello from the desk."])
            await snap(page, "embed")

            await page.goto(f"{site.origin}/another-page")  # same site: the panel and chat come back
            inner = page.frame_locator("#libchat-panel iframe")
            await expect(inner.locator("#log li.msg.librarian .text")).to_have_text(["Hello from the desk."])
            await lib.close()
    finally:
        await site.stop()


async def test_a_disallowed_site_shows_nothing_and_says_why(browser: Browser, tmp_path: Path) -> None:
    """On a site not in allowed_origins the embed asks the desk first and shows nothing
    (no button, no frame the browser would refuse), and tells the web person why."""
    site = PageServer("")
    await site.start()
    try:
        async with running_desk(tmp_path) as (_server, front):
            site.html = embedding_page(front)
            page = await browser.new_page()
            warnings: list[str] = []
            page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
            await page.goto(f"{site.origin}/")
            async with asyncio.timeout(15):
                while not any(w.startswith("libchat widget:") for w in warnings):
                    await asyncio.sleep(0.05)
            [warning] = [w for w in warnings if w.startswith("libchat widget:")]
            assert site.origin in warning and "[widget] allowed_origins" in warning
            assert await page.locator("#libchat-launcher, #libchat-panel, iframe").count() == 0
            assert len(page.frames) == 1
            outcome = await page.evaluate(
                """url => new Promise(done => {
                    const ws = new WebSocket(url);
                    ws.onopen = () => done("open");
                    ws.onerror = () => done("refused");
                })""",
                f"{front.url}/patron",
            )
            assert outcome == "refused"
    finally:
        await site.stop()


async def test_websockets_to_other_hosts_are_blocked(browser: Browser, desk: tuple[Desk, Front]) -> None:
    """The widget's CSP lets it open WebSockets to the desk only: a script that got into
    the page could not carry the chat to another host."""
    _server, front = desk

    async def accept(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(accept, "127.0.0.1", 0) as elsewhere:
        other = int(elsewhere.sockets[0].getsockname()[1])
        page = await open_chat(browser, front)
        await expect(page.get_by_role("heading", name="No librarian is online")).to_be_visible()
        outcome = await page.evaluate(
            """url => new Promise(done => {
                document.addEventListener("securitypolicyviolation",
                                          e => done("blocked by " + e.effectiveDirective));
                try {
                    const ws = new WebSocket(url);
                    ws.onopen = () => done("open");
                } catch (e) { done("blocked by " + e.name); }
            })""",
            f"ws://127.0.0.1:{other}/",
        )
        assert outcome.startswith("blocked by"), outcome


async def test_the_page_names_the_department_and_the_browser_is_told(browser: Browser,
                                                                    tmp_path: Path) -> None:
    """An embedding page's `data-department` (here the /chat URL's fragment, as widget.js
    builds it) sends the chat to that department's line; the browser's user agent and its
    own random id go with the join (the librarian's patron panel, and blocks)."""
    departments = '\n[desk]\ndepartments = ["General", "Law library"]\n'
    async with running_desk(tmp_path, extra_config=departments) as (server, front):
        lib, hello = await librarian(server.url, server.token, name="Ana Reyes")
        assert hello["departments"] == ["General", "Law library"]
        page = await browser.new_page(viewport={"width": 400, "height": 700})
        fragment = "page=https%3A%2F%2Flib.example.edu%2Flaw&department=law%20library"
        await page.goto(f"{front.http_url}/chat#{fragment}")
        await ask(page)
        event = await lib.next_event("chat", state="waiting")
        chat = event["chat"]
        assert chat["department"] == "Law library"
        assert chat["page"] == "https://lib.example.edu/law"
        assert "Chrome" in (chat["browser"] or "")
        await lib.close()


async def test_a_department_nobody_online_monitors_gets_the_offline_form(browser: Browser,
                                                                         tmp_path: Path) -> None:
    """Ana, online, monitors only General: a page sending chats to Law library is offered the
    offline form, a General page the chat (issue 22)."""
    departments = '\n[desk]\ndepartments = ["General", "Law library"]\n'
    async with running_desk(tmp_path, extra_config=departments) as (server, front):
        lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
        await lib.ok("monitor", departments=["General"])
        law = await browser.new_page(viewport={"width": 400, "height": 700})
        await law.goto(f"{front.http_url}/chat#department=Law%20library")
        await expect(law.get_by_role("heading", name="No librarian is online")).to_be_visible()
        general = await browser.new_page(viewport={"width": 400, "height": 700})
        await general.goto(f"{front.http_url}/chat#department=General")
        await expect(general.locator("#view-start")).to_be_visible()
        await expect(general.get_by_role("heading", name="No librarian is online")).to_be_hidden()
        await lib.close()


async def test_a_full_line_turns_the_question_into_the_offline_form(browser: Browser, tmp_path: Path) -> None:
    """The desk's line is full (`queue_full`): the patron's question moves, filled in, to the
    offline form with the desk's sentence; nothing they typed is lost (issue 22)."""
    full = "\n[limits]\nwaiting_chats_total = 1\n"
    async with running_desk(tmp_path, extra_config=full) as (server, front):
        lib, _ = await librarian(server.url, server.token, name="Ana Reyes")
        await join(server.url, name="First in line")
        page = await browser.new_page(viewport={"width": 400, "height": 700})
        await page.goto(f"{front.http_url}/chat")
        await ask(page, name="Maya", question="Do you have the 1901 census?", email="maya@example.edu")
        form = page.locator("#view-offline")
        await expect(form).to_be_visible()
        await expect(form.get_by_label("Your question")).to_have_value("Do you have the 1901 census?")
        await expect(page.locator("#offline-error")).to_contain_text("leave your question")
        await form.get_by_role("button", name="Send question").click()
        await expect(page.locator("#done-text")).to_contain_text("we will answer by e-mail")
        tickets = (await lib.ok("tickets", status="open"))["tickets"]
        assert any("1901 census" in t["body"] for t in tickets)
        await lib.close()
