"""The chat pane: header, transcript, composer and the buttons that apply now.

Attributes down: the screen calls `show()` with the chat and its transcript. Messages
up: `ChatPane.Send` when the librarian presses enter in the composer. The buttons run
the screen's actions, the same ones the keys and the command palette run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input

from ...domain import Act, Chat, ChatState, may
from ...model import TranscriptLine
from ...sanitize import clean_name
from .chat_header import ChatHeader
from .composer import TITLE, CannedSuggestions, Composer
from .patron_panel import PatronPanel
from .transcript_view import TranscriptView

#: Button id -> (label, screen action, the domain act that decides whether it shows).
BUTTONS: dict[str, tuple[str, str, Act]] = {
    "accept": ("Accept ⏎", "screen.accept_open", Act.ACCEPT),
    "end": ("End Chat ^E", "screen.end_chat", Act.END),
    "note": ("Note ^N", "screen.note", Act.NOTE),
    "ticket": ("Ticket ^T", "screen.ticket", Act.TICKET),
    "analytics": ("Analytics ^R", "screen.analytics", Act.ANALYTICS),
    "close": ("Close Chat ^W", "screen.close_chat", Act.CLOSE),
}


#: The composer's title while enter would not send (its text is kept).
NOT_OPEN = "Not open for messages (your text is kept)"


class ChatPane(Vertical):
    """One chat, open."""

    class Send(Message):
        """The librarian wants to send `text` to the patron of `chat_id`."""

        def __init__(self, chat_id: int, text: str) -> None:
            super().__init__()
            self.chat_id = chat_id
            self.text = text

    class Typing(Message):
        """The composer's text changed (for drafts and the typing signal)."""

        def __init__(self, chat_id: int, text: str) -> None:
            super().__init__()
            self.chat_id = chat_id
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chat: Chat | None = None
        self.me = ""
        #: The librarian has asked to accept the chat in the pane and the desk has not answered
        #: yet: what they type meanwhile is kept, and enter sends it after the accept.
        self.accepting = False

    def compose(self) -> ComposeResult:
        yield ChatHeader(id="chat-header")
        with Horizontal(id="chat-body"):  # the patron panel (f8) sits beside the transcript
            yield TranscriptView(id="transcript")
            yield PatronPanel(id="patron-panel")
        yield CannedSuggestions(id="canned-suggestions")  # what / offers (ui/canned.py)
        yield Composer(id="composer")
        with Horizontal(id="chat-actions"):
            for button_id, (label, action, _states) in BUTTONS.items():
                yield Button(label, id=f"btn-{button_id}", action=action, compact=True)

    @property
    def transcript(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def show(self, chat: Chat | None, now: datetime, entries: Sequence[TranscriptLine] | None = None,
             draft: str = "", *, accepting: bool = False) -> None:
        """Show `chat`; with `entries`, (re)load its transcript; `draft` fills the composer;
        `accepting`: the desk has not yet answered this console's accept of it.

        Header, transcript, patron panel and the composer's target change together, in one
        update: the pane never shows one chat's lines under another chat's header. Switching
        to a chat whose transcript is not loaded yet shows none of the previous chat's.
        """
        switched = chat is None or self.chat is None or chat.id != self.chat.id
        with self.app.batch_update():
            self.chat = chat
            self.transcript.me = self.me
            if switched:
                self.accepting = accepting
            self.refresh_header(now)
            chat_id = None if chat is None else chat.id
            if entries is not None:
                self.transcript.show_chat(chat_id, entries)
            elif switched or self.transcript.chat_id != chat_id:
                self.transcript.show_chat(chat_id, ())
            if switched:
                with self.composer.prevent(Input.Changed):
                    self.composer.value = draft
            self._update_controls()

    def append(self, entries: Sequence[TranscriptLine]) -> None:
        self.transcript.append(entries)

    def refresh_header(self, now: datetime) -> None:
        headers = list(self.query(ChatHeader))
        if not headers:  # the pane is being taken down (the app is closing): nothing to draw
            return
        headers[0].show_chat(self.chat, self.me, now)
        self.query_one(PatronPanel).show_chat(self.chat, now)
        self._update_controls()

    def _update_controls(self) -> None:
        chat = self.chat
        for button_id, (_label, _action, act) in BUTTONS.items():
            button = self.query_one(f"#btn-{button_id}", Button)
            shown = chat is not None and may(chat, act, self.me)
            if button.display != shown:  # setting it anyway restyles the pane
                button.display = shown
        # The composer stays enabled while a chat is shown, whatever its state: disabling it
        # would move the focus elsewhere mid-sentence (and the next letters would run as
        # commands), and its text is the librarian's, kept until they send or clear it.
        composer = self.composer
        if composer.disabled != (chat is None):
            composer.disabled = chat is None
        placeholder, title = "", TITLE
        if chat is not None:
            reason = self.why_not_sent()
            if reason is None:
                placeholder = "Message the patron — enter sends"
            elif chat.state is ChatState.WAITING and may(chat, Act.ACCEPT, self.me):
                placeholder, title = "Accept the chat (enter in the list, ctrl+j) to reply", NOT_OPEN
            else:
                placeholder, title = "This chat is not open for messages", NOT_OPEN
        if composer.placeholder != placeholder:
            composer.placeholder = placeholder
        if composer.border_title != title:
            composer.border_title = title

    def may_send(self) -> bool:
        """Enter sends: the librarian may talk in this chat, or is accepting it (the desk takes
        the accept first: one connection keeps the order)."""
        chat = self.chat
        return chat is not None and (may(chat, Act.SEND, self.me)
                                     or (self.accepting and chat.state is ChatState.WAITING))

    def why_not_sent(self) -> str | None:
        """Why enter would not send now, in words (None: it sends)."""
        chat = self.chat
        if chat is None or self.may_send():
            return None
        if chat.state is ChatState.WAITING:
            return "Accept the chat first (enter in the list, or ctrl+j)."
        if chat.owner is not None and chat.owner.id != self.me and chat.state in (
                ChatState.ACTIVE, ChatState.RECONNECTING):
            return f"This chat is {clean_name(chat.owner.name, 40)}'s."
        if chat.state is ChatState.RECONNECTING:
            return "The patron's connection dropped; wait until they are back."
        return "This chat has ended."

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        if self.chat is None or not text.strip():
            return
        reason = self.why_not_sent()
        if reason is not None:  # nothing is lost: the text stays, and says so
            self.notify(f"Not sent. {reason} Your text stays in the reply box (ctrl+n makes it a "
                        "note).", title="Not sent", severity="warning", markup=False)
            return
        self.post_message(self.Send(self.chat.id, text))

    def on_key(self, event: events.Key) -> None:
        """A printable key pressed anywhere else in the pane (the transcript after a take-over,
        a button) goes into the reply, never to the dashboard's letter keys."""
        if self.chat is None or event.character is None or not event.is_printable:
            return
        composer = self.composer
        if composer.has_focus or self.query_one(PatronPanel).has_focus_within:
            return  # the composer types it; the patron panel has keys of its own
        event.stop()
        event.prevent_default()
        composer.focus()
        composer.insert_text_at_cursor(event.character)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.chat is not None:
            self.post_message(self.Typing(self.chat.id, event.value))
