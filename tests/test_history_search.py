"""History search finds chats, not rows (issue #11), through the real desk over sockets.

A chat is searched as one document: patron name and e-mail, librarians, question,
messages, notes, tickets and Reference Analytics entries. Every word must occur
somewhere in the chat (the last as a prefix), results are ranked, each carries a plain
snippet with the matched words marked, any input is plain text, and a database made
before the index existed is indexed once when the desk opens. Plus the console screen.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from desk_ids import desk_id
from rich.style import Style
from textual.widgets import DataTable, Input, Static
from ui_support import make_app, screen_strips, screen_text, wait_until
from wire import Peer, join, librarian

from libchat_tui.backend import maintenance, queries, search_index
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.runtime import Backend
from libchat_tui.limits import Limits
from libchat_tui.ui.screens.history import HistoryScreen, snippet_text


async def closed_chat(backend: Backend, lib: Peer, *, name: str = "Maya", question: str = "A question",
                      email: str | None = None, patron_says: tuple[str, ...] = (),
                      librarian_says: tuple[str, ...] = (), note: str | None = None,
                      ticket: str | None = None, answer: str | None = None) -> int:
    """A chat taken by `lib` from join to close, with whatever it is given along the way."""
    pat, joined = await join(backend.url, name=name, question=question, email=email)
    chat_id = desk_id(backend, joined)
    await lib.ok("accept", chat_id=chat_id)
    for text in patron_says:
        await pat.ok("message", text=text)
    for text in librarian_says:
        await lib.ok("send", chat_id=chat_id, text=text)
    if note is not None:
        await lib.ok("note", chat_id=chat_id, text=note)
    if ticket is not None:
        await lib.ok("create_ticket", chat_id=chat_id, name=name, email="follow.up@example.edu",
                     subject=ticket, body="To be answered by e-mail.")
    if answer is not None:
        await lib.ok("save_analytics", chat_id=chat_id, dataset="Chat",
                     fields={"question_type": "reference", "read_scale": 3, "answer_summary": answer})
    await lib.ok("end", chat_id=chat_id)
    await lib.ok("close", chat_id=chat_id)
    await pat.close()
    return chat_id


async def search(lib: Peer, query: str) -> tuple[list[int], dict[str, Any]]:
    """The ids the desk found for `query`, in its order, and its snippets by chat id."""
    result = await lib.ok("history", query=query)
    return [chat["id"] for chat in result["chats"]], result["snippets"]


def marked(snippet: dict[str, Any]) -> list[str]:
    return [snippet["text"][start:end] for start, end in snippet["marks"]]


async def test_a_chat_is_found_by_every_part_of_it(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Bartholomew Quill")
    colleague, _ = await librarian(backend.url, backend.token, name="Cordelia Vance")
    third, _ = await librarian(backend.url, backend.token, name="Dmitri Lund")
    other = await closed_chat(backend, third, name="Sam Other", question="Where is the printer?",
                              patron_says=("Second floor?",))
    chat_id = await closed_chat(
        backend, lib, name="Maya Okafor", email="maya.okafor@example.edu",
        question="Do you hold the Gazetteer of Zanzibar?", patron_says=("It is for my thesis.",),
        librarian_says=("Yes, in Special Collections.",), note="Checked WorldCat for copies",
        ticket="Quetzalcoatl codex facsimile", answer="Referred to the marginalia specialist")
    await colleague.ok("note", chat_id=chat_id, text="Also asked upstairs")  # a second librarian

    parts = {"Okafor": "patron name", "maya.okafor@example.edu": "patron e-mail",
             "Bartholomew": "librarian", "Cordelia": "another librarian's note",
             "Gazetteer": "question", "thesis": "patron message", "Collections": "librarian message",
             "WorldCat": "note", "Quetzalcoatl": "ticket subject", "marginalia": "RA entry"}
    for query, part in parts.items():
        found, snippets = await search(lib, query)
        assert found == [chat_id], f"{part}: {query!r} found {found}"
        shown = marked(snippets[str(chat_id)])
        assert query.split("@")[0].split(".")[-1] in shown, (part, snippets)
    assert (await search(lib, "printer"))[0] == [other]


async def test_words_from_different_parts_of_one_chat_match_together(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    both = await closed_chat(backend, lib, question="Can I read microfilm here?",
                             librarian_says=("The reader is in room 4.",), note="Booked the scanner")
    one = await closed_chat(backend, lib, question="Do you lend microfilm?")

    assert (await search(lib, "microfilm reader"))[0] == [both]  # question + librarian line
    assert (await search(lib, "reader microfilm"))[0] == [both]
    assert (await search(lib, "scanner microfilm room"))[0] == [both]  # note + question + line
    assert sorted((await search(lib, "microfilm"))[0]) == sorted([both, one])
    assert (await search(lib, "microfilm telescope"))[0] == []  # every word must be there
    _, snippets = await search(lib, "microfilm reader")
    assert {"microfilm", "reader"} <= {w.lower() for w in marked(snippets[str(both)])}


async def test_results_are_ranked_best_first_and_unsearched_newest_first(
        backend: Backend, clock: FakeClock) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    strong = await closed_chat(backend, lib, name="Atlas Reader", question="Which atlas shows 1850 borders?",
                               patron_says=("The atlas of Prussia.", "Or any atlas of Silesia."),
                               ticket="Atlas scans")
    await clock.advance(60)
    weak = await closed_chat(backend, lib, question="Opening hours please",
                             patron_says=("I also returned a book, a novel, two DVDs and an atlas.",
                                          "Then I paid a fine and renewed my library card."))
    await clock.advance(60)
    await closed_chat(backend, lib, question="Nothing relevant here")

    assert (await search(lib, "atlas"))[0] == [strong, weak]  # the older chat says it most
    newest_first = (await search(lib, ""))[0]
    assert newest_first.index(weak) < newest_first.index(strong)


async def test_the_last_word_matches_as_a_prefix_and_edits_replace_old_words(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    chat_id = await closed_chat(backend, lib, question="Citation styles", answer="Explained bibliographies")
    assert (await search(lib, "citation bibliog"))[0] == [chat_id]
    assert (await search(lib, "bibliog citation"))[0] == []  # only the last word is a prefix

    await lib.ok("save_analytics", chat_id=chat_id, dataset="Chat",
                 fields={"question_type": "reference", "read_scale": 2, "answer_summary": "Zotero demo"})
    assert (await search(lib, "bibliographies"))[0] == []  # the edited entry no longer says it
    found, snippets = await search(lib, "zotero")
    assert found == [chat_id] and snippets[str(chat_id)]["text"].startswith("RA: ")

    few = await closed_chat(backend, lib, patron_says=("The catalogue, or the old catalogs?",))
    many = await closed_chat(backend, lib, patron_says=(" ".join(f"shelf{n}x" for n in range(40)),))
    found, snippets = await search(lib, "catalog")  # a prefix standing for a few words
    assert found == [few] and set(marked(snippets[str(few)])) == {"catalogue", "catalogs"}
    found, snippets = await search(lib, "shelf")  # ... and for more than are listed one by one
    assert found == [many] and all(w.startswith("shelf") for w in marked(snippets[str(many)]))
    assert len(marked(snippets[str(many)])) > 3


async def test_snippets_are_plain_short_and_made_inert_by_the_console(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    hostile = "[b]bold[/b] \x1b]0;owned\x07 [link=https://evil.example]x[/link] about Mönchengladbach"
    chat_id = await closed_chat(backend, lib, patron_says=(hostile, "filler " * 300 + "Mönchengladbach"))

    found, snippets = await search(lib, "monchengladbach")
    assert found == [chat_id]
    snippet = snippets[str(chat_id)]
    assert len(snippet["text"]) <= queries.SNIPPET_CHARS
    assert marked(snippet) and all(w == "Mönchengladbach" for w in marked(snippet))
    assert "[b]bold[/b]" in snippet["text"]  # the desk sends text, never markup

    line = snippet_text(snippet["text"], [tuple(m) for m in snippet["marks"]], Style(bold=True))
    assert "\x1b" not in line.plain and "\x07" not in line.plain
    assert "[b]bold[/b]" in line.plain and "[link=" in line.plain  # shown as typed, not parsed
    bold = [line.plain[s.start:s.end] for s in line.spans if s.style == Style(bold=True)]
    assert bold and all(w == "Mönchengladbach" for w in bold)


async def test_hostile_queries_are_plain_text(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    chat_id = await closed_chat(backend, lib, question='Interlibrary NEAR( 1850 -draft * "quoted" AND OR')
    expected = {'"': [chat_id], "NEAR(": [chat_id], '"NEAR(': [chat_id], "-draft": [chat_id],
                "quoted\"": [chat_id], "AND": [chat_id], "or": [chat_id], "1850 NOT": [],
                "interlibrary OR nothing": [], "col:umn": [], "a'b": [], "\\": [], "%": [], "_": [],
                "nothing-like-it": [], "zz " * 166: []}
    for query, ids in expected.items():
        reply = await lib.request("history", query=query)
        assert reply["type"] == "ack", (query, reply)
        assert [c["id"] for c in reply["result"]["chats"]] == ids, query
    reply = await lib.request("history", query="x" * 501)
    assert reply["type"] == "error"  # over the limit: refused by the protocol, the desk goes on
    assert (await search(lib, "interlibrary"))[0] == [chat_id]


async def test_nothing_matches_says_so(backend: Backend) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    await closed_chat(backend, lib, question="Printer on floor 2")
    result = await lib.ok("history", query="telescope")
    assert result == {"chats": [], "snippets": {}, "omitted": 0}


async def test_an_old_database_is_indexed_once_when_the_desk_opens(tmp_path: Path, clock: FakeClock) -> None:
    def desk() -> Backend:
        return Backend(data_dir=tmp_path / "data", clock=clock, token="t",
                       limits=Limits().for_simulated_patrons())

    async with desk() as backend:
        lib, _ = await librarian(backend.url, backend.token, name="Ana")
        chat_id = await closed_chat(backend, lib, name="Maya Okafor", patron_says=("About a gazetteer",),
                                    note="Checked WorldCat", ticket="Quetzal facsimile", answer="Marginalia")
        await lib.close()
    path = tmp_path / "data" / "desk.sqlite3"
    conn = sqlite3.connect(path)
    with conn:  # what a desk from before the index left behind
        for table in ("history_pieces", "history_terms", "meta"):
            conn.execute(f"DROP TABLE {table}")
    conn.close()

    async with desk() as backend:
        lib, _ = await librarian(backend.url, backend.token, name="Ana")
        for query in ("okafor", "gazetteer", "worldcat", "quetzal", "marginalia"):
            assert (await search(lib, query))[0] == [chat_id], query
        await lib.close()
    conn = sqlite3.connect(path)
    pieces = conn.execute("SELECT count(*) FROM history_pieces").fetchone()
    terms = conn.execute("SELECT sum(hits) FROM history_terms").fetchone()
    assert search_index.ensure(conn) is False  # marked as done: the next open does nothing
    conn.close()

    async with desk() as backend:
        lib, _ = await librarian(backend.url, backend.token, name="Ana")
        assert (await search(lib, "okafor worldcat"))[0] == [chat_id]
        await lib.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM history_pieces").fetchone() == pieces  # nothing twice
    assert conn.execute("SELECT sum(hits) FROM history_terms").fetchone() == terms
    conn.close()


async def test_a_doctor_dump_restores_a_searchable_desk(backend: Backend, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ana")
    chat_id = await closed_chat(backend, lib, name="Maya Okafor", note="Checked WorldCat")
    report = maintenance.doctor(backend.store.path, tmp_path / "doctor")
    assert report.dump is not None
    restored = sqlite3.connect(tmp_path / "restored.sqlite3")
    restored.executescript(report.dump.read_text(encoding="utf-8"))
    found = queries.search_history(restored, "okafor worldcat")
    assert [chat["id"] for chat in found.chats] == [chat_id]
    assert "WorldCat" in found.snippets(restored, {chat_id})[chat_id].text
    restored.close()


async def test_console_moves_into_the_results_and_shows_why_each_matched(
        backend: Backend, clock: FakeClock, tmp_path: Path) -> None:
    lib, _ = await librarian(backend.url, backend.token, name="Ben")
    by_note = await closed_chat(backend, lib, name="Maya", note="Sent the interlibrary form")
    by_ticket = await closed_chat(backend, lib, name="Noor", ticket="Interlibrary loan for Noor")
    app = make_app(backend, clock, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), "history")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await wait_until(pilot, lambda: history.shown_query == "", "every closed chat")
        await pilot.press(*"interlib")
        await wait_until(pilot, lambda: history.shown_query == "interlib", "searched")
        assert isinstance(app.focused, Input)
        order = [chat.id for chat in history.chats]
        assert sorted(order) == sorted([by_note, by_ticket])

        await pilot.press("down")  # from the search box into the results
        table = history.query_one(DataTable)
        await wait_until(pilot, lambda: app.focused is table, "the results have the focus")
        label = {by_note: "Note: Sent the interlibrary form — Ben",
                 by_ticket: "Ticket: Interlibrary loan for Noor"}
        await wait_until(pilot, lambda: label[order[0]] in screen_text(app), "first row's snippet")
        await pilot.press("down")
        await wait_until(pilot, lambda: label[order[1]] in screen_text(app), "second row's snippet")
        snippet_row = history.query_one("#history-snippet", Static).region.y
        styled = [seg.text for seg in screen_strips(app)[snippet_row] if seg.style and seg.style.underline]
        assert styled and all(text.lower() == "interlibrary" for text in styled), styled  # the hit

        await pilot.press("ctrl+f")
        history.query_one(Input).value = "telescope"
        await wait_until(pilot, lambda: history.shown_query == "telescope", "searched again")
        assert history.query_one(DataTable).row_count == 0
        await wait_until(pilot, lambda: "No closed chat matches “telescope”." in screen_text(app), "said so")
