"""The patron information panel beside the transcript: who the patron is, where they asked
from, how long they waited, and their other chats and tickets (same e-mail).

Attributes down: the chat pane passes the chat it shows (`show_chat`, on every header
refresh; the panel redraws only what changed). Messages up: `RecordWanted` when the chat
(or its e-mail) changed and the panel is shown, `OpenChat` / `OpenTicket` when the
librarian presses enter on an earlier chat or ticket, `EditPatron` on `e` (or the
footer). Patron text (name, e-mail, page, browser, questions, subjects) goes in only as
cleaned `Content`, never markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...domain import Chat, ChatState, parse_ts
from ...sanitize import clean, clean_name
from ...vocabulary import short_browser
from ..badges import badge, duration

#: Label column of the details.
LABEL_WIDTH = 9
#: The most of the page's address shown (it wraps under its label).
PAGE_SHOWN = 200
def waited(chat: Chat, now: datetime) -> str:
    """How long the patron waited for a librarian: "2 min", "still waiting: 45 s", "never
    accepted"."""
    if chat.accepted_at is not None:
        return duration((chat.accepted_at - chat.created_at).total_seconds())
    if chat.state in (ChatState.WAITING, ChatState.RECONNECTING):
        return f"still waiting: {duration((now - chat.created_at).total_seconds())}"
    return "never accepted"


def day(ts: Any) -> str:
    """A desk timestamp as a local date ("2026-05-01")."""
    at = parse_ts(ts) if isinstance(ts, str) else None
    return "????-??-??" if at is None else f"{at.astimezone():%Y-%m-%d}"


def details(chat: Chat, now: datetime) -> Content:
    """The patron of `chat`, one fact a line (label, then the cleaned value); the page they
    asked from last, on lines of its own (a web address is long), as plain text."""
    def row(label: str, value: str, first: bool = False) -> list[str | tuple[str, str]]:
        return [("" if first else "\n"), (label.ljust(LABEL_WIDTH), "bold"), value]

    department = clean(chat.department, single_line=True, max_len=100) if chat.department else "—"
    email = clean(chat.patron_email, single_line=True, max_len=254) if chat.patron_email else "none given"
    page = clean(chat.page, single_line=True, max_len=PAGE_SHOWN) if chat.page else "not sent"
    return Content.assemble(
        *row("Name", clean_name(chat.patron_name, 100), first=True),
        *row("E-mail", email),
        *row("Browser", short_browser(chat.browser)),
        *row("Dept.", department),
        *row("Wait", waited(chat, now)),
        ("\nAsked from", "bold"), "\n", page,
    )


def record_option(kind: str, item: dict[str, Any]) -> Option:
    """An earlier chat or ticket as two lines: when, what and its state; then its question
    or subject."""
    if kind == "chat":
        try:
            state: Content = badge(ChatState(str(item.get("state"))))
        except ValueError:
            state = Content("?")
        head = Content.assemble((day(item.get("created_at")), "bold"), f"  chat #{item.get('id')} ", state)
        text = str(item.get("question") or "")
    else:
        mark = "● open" if item.get("status") == "open" else "✓ closed"
        head = Content.assemble((day(item.get("created_at")), "bold"), f"  ticket #{item.get('id')} ",
                                (mark, "bold"))
        text = str(item.get("subject") or "")
    return Option(Content.assemble(head, "\n  ", (clean(text, single_line=True, max_len=200), "$text-muted")),
                  id=f"{kind}:{item.get('id')}")


#: Under what an e-mail found: the address is what the patron typed, not who they are.
EMAIL_CAVEAT = ("⚠ The e-mail is what the patron typed, not proof of who they are: these may be "
                "someone else's.")


def summary(result: dict[str, Any]) -> str:
    """How many other chats and tickets were found, and how many are not listed."""
    chats, tickets = len(result.get("chats", [])), len(result.get("tickets", []))
    omitted = result.get("omitted") or {}
    more = int(omitted.get("chats", 0)) + int(omitted.get("tickets", 0))
    text = f"Same e-mail: {chats} chat{'s' if chats != 1 else ''}, " \
           f"{tickets} ticket{'s' if tickets != 1 else ''}"
    text += f" (and {more} older, not listed)" if more else ""
    if chats or tickets or more:  # anyone can type anyone's address: say so beside what it found
        text += f"\n{EMAIL_CAVEAT}"
    return text


class PatronPanel(Vertical):
    """The patron of the chat in the pane, and their other chats and tickets."""

    # Unscoped: the narrow rules select on the pane's class (set by ui/patron_info.py).
    SCOPED_CSS = False
    DEFAULT_CSS = """
    PatronPanel {
        display: none; width: 36; height: 1fr; padding: 0 1;
        border: round $primary-muted; border-title-color: $text-primary;
    }
    PatronPanel:focus-within { border: heavy $primary; }
    ChatPane.-patron-info PatronPanel { display: block; }
    ChatPane.-patron-over PatronPanel { width: 1fr; }
    ChatPane.-patron-over #transcript { display: none; }
    #chat-body { height: 1fr; }  /* the pane's row of transcript and panel (chat_pane.py) */
    #patron-details { height: auto; }
    #patron-summary { height: auto; margin-top: 1; text-style: bold; }
    #patron-record {
        height: 1fr; min-height: 4; border: none; padding: 0;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    BINDINGS = [
        Binding("e", "edit", "Correct patron", tooltip="Correct the patron's name and e-mail",
                id="patron-edit"),
    ]

    class RecordWanted(Message):
        """The panel shows a chat whose other chats and tickets it has not got: look them up."""

        def __init__(self, chat_id: int) -> None:
            super().__init__()
            self.chat_id = chat_id

    class OpenChat(Message):
        """Open an earlier chat, read-only."""

        def __init__(self, chat_id: int) -> None:
            super().__init__()
            self.chat_id = chat_id

    class OpenTicket(Message):
        """Open an earlier ticket, read-only."""

        def __init__(self, ticket: dict[str, Any]) -> None:
            super().__init__()
            self.ticket = ticket

    class EditPatron(Message):
        """Correct the patron's name and e-mail on this chat."""

        def __init__(self, chat: Chat) -> None:
            super().__init__()
            self.chat = chat

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Shown (the screen sets it with the pane's class): a hidden panel draws nothing.
        self.active = False
        self.chat: Chat | None = None
        self._drawn: tuple[str, list[Any]] | None = None
        self._record_for: tuple[int, str] | None = None  # (chat id, e-mail) the list is for
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="patron-details", markup=False)
        yield Static("", id="patron-summary", markup=False)
        yield OptionList(id="patron-record", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Patron"

    @property
    def record_list(self) -> OptionList:
        return self.query_one("#patron-record", OptionList)

    def show_chat(self, chat: Chat | None, now: datetime) -> None:
        """The chat in the pane (called on every header refresh): redraw what changed."""
        self.chat = chat
        if not self.active:
            return
        shown = Content("No chat selected.") if chat is None else details(chat, now)
        drawn = (shown.plain, list(shown.spans))
        if drawn != self._drawn:
            self._drawn = drawn
            self.query_one("#patron-details", Static).update(shown)
        wanted = None if chat is None else (chat.id, (chat.patron_email or "").casefold())
        if wanted != self._record_for:
            self._record_for = wanted
            self._items = {}
            self.record_list.clear_options()
            if chat is None:
                self._summary("")
            elif not chat.patron_email:
                self._summary("No e-mail address: other chats cannot be looked up.")
            else:
                self._summary("Looking up other chats and tickets with this e-mail…")
                self.post_message(self.RecordWanted(chat.id))

    def forget_record(self) -> None:
        """Look the other chats and tickets up again at the next `show_chat`."""
        self._record_for = None

    def show_record(self, chat_id: int, result: dict[str, Any] | None) -> None:
        """The desk's `patron_record` answer for `chat_id` (None: it could not be asked)."""
        if self.chat is None or self.chat.id != chat_id:
            return  # the pane moved on meanwhile
        if result is None:  # looked up again when the panel is opened again
            self._summary("Could not look up other chats now (not connected?); they are looked up "
                          "when the panel opens again.")
            return
        items = [("chat", c) for c in result.get("chats", [])] + \
                [("ticket", t) for t in result.get("tickets", [])]
        items.sort(key=lambda kind_item: str(kind_item[1].get("created_at") or ""), reverse=True)
        self._items = {f"{kind}:{item.get('id')}": (kind, item) for kind, item in items}
        options = [record_option(kind, item) for kind, item in items]
        self.record_list.set_options(options)
        if options:
            self.record_list.highlighted = 0
        self._summary(summary(result))

    def _summary(self, text: str) -> None:
        self.query_one("#patron-summary", Static).update(text)

    def focus_record(self) -> None:
        self.record_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        found = self._items.get(event.option_id or "")
        if found is None:
            return
        kind, item = found
        if kind == "chat":
            self.post_message(self.OpenChat(int(item["id"])))
        else:
            self.post_message(self.OpenTicket(item))

    def action_edit(self) -> None:
        if self.chat is not None:
            self.post_message(self.EditPatron(self.chat))
