"""The chat pane: header, transcript, composer and the buttons that apply now.

Attributes down: the screen calls `show()` with the chat and its transcript. Messages
up: `ChatPane.Send` when the librarian presses enter in the composer. The buttons run
the screen's actions, the same ones the keys and the command palette run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input

from ...domain import Act, Chat, ChatState, may
from ...model import TranscriptLine
from .chat_header import ChatHeader
from .composer import CannedSuggestions, Composer
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
             draft: str = "") -> None:
        """Show `chat`; with `entries`, (re)load its transcript; `draft` fills the composer."""
        switched = chat is None or self.chat is None or chat.id != self.chat.id
        self.chat = chat
        self.transcript.me = self.me
        self.refresh_header(now)
        if entries is not None:
            self.transcript.set_entries(entries)
        elif switched:
            self.transcript.clear()
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
        can_talk = chat is not None and may(chat, Act.SEND, self.me)
        composer = self.composer
        if composer.disabled == can_talk:
            composer.disabled = not can_talk
        if chat is None:
            placeholder = ""
        elif can_talk:
            placeholder = "Message the patron — enter sends"
        elif chat.state is ChatState.WAITING:
            placeholder = "Accept the chat (enter) to reply"
        else:
            placeholder = "This chat is not open for messages"
        if composer.placeholder != placeholder:
            composer.placeholder = placeholder

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        if self.chat is not None and text.strip():
            self.post_message(self.Send(self.chat.id, text))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.chat is not None:
            self.post_message(self.Typing(self.chat.id, event.value))
