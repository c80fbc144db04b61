"""Canned messages on the dashboard: the picker (ctrl+k), / in the composer, the editor (f7).

A base class of `DashboardScreen` (its `check_action` is cooperative: the dashboard's
falls through to `super()`). It derives from `Screen`, not a plain mixin: Textual merges
the `BINDINGS` of DOM-node classes only (`DOMNode._merge_bindings`).

A chosen message is expanded here, never on the desk: `{patron_name}`, `{librarian_name}`
and `{library_name}` become this chat's patron, this librarian and the library, cleaned
like every patron text (control characters gone, markup never parsed: the composer shows
plain text), and it lands in the composer to be edited. Nothing is sent until enter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..domain import Act, Chat, may
from ..sanitize import clean_name
from ..vocabulary import expand
from ..vocabulary import find_canned as find
from .messages import DeskChanged
from .widgets.composer import CannedSuggestions, Composer

if TYPE_CHECKING:
    from .app import LibChatApp
    from .widgets.chat_pane import ChatPane

class CannedKeys(Screen[None]):
    """ctrl+k picks a canned message into the composer; f7 edits the team's list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+k", "canned", "Canned", tooltip="Insert a canned message (or / in the reply)",
                priority=True, id="canned"),
        Binding("f7", "canned_editor", "Edit canned messages", show=False, id="canned-editor",
                tooltip="Edit the team's canned messages"),
    ]

    if TYPE_CHECKING:  # DashboardScreen's, which this is a base of
        app: LibChatApp

        @property
        def chat(self) -> Chat | None: ...
        @property
        def pane(self) -> ChatPane: ...
        @property
        def narrow(self) -> bool: ...
        def show_view(self, view: str) -> None: ...

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "canned":
            return self.may_insert_canned(self.chat)  # False: hidden, and ctrl+k stays the composer's
        if action == "canned_editor":
            return True
        answer: bool | None = super().check_action(action, parameters)
        return answer

    def may_insert_canned(self, chat: Chat | None) -> bool:
        """A canned message goes only into a chat this librarian may send to."""
        return chat is not None and may(chat, Act.SEND, self.app.librarian_id)

    # --- the picker and the editor ---------------------------------------------------

    def action_canned(self) -> None:
        from .screens.canned_picker import CannedPicker, Picked  # the screens import this module

        chat = self.chat
        if chat is None or not self.may_insert_canned(chat):
            return

        def picked(result: Picked | None) -> None:
            if result is None:
                return
            if result.edit:
                self.action_canned_editor()
            elif result.name is not None:
                self.insert_canned(chat.id, result.name)

        self.app.push_screen(CannedPicker(), picked)

    def action_canned_editor(self) -> None:
        from .screens.canned_editor import CannedEditor

        self.app.push_screen(CannedEditor())

    def insert_canned(self, chat_id: int, name: str) -> None:
        """Expand the canned message `name` for the chat in the pane and put it in the composer."""
        chat = self.chat
        if chat is None or chat.id != chat_id or not self.may_insert_canned(chat):
            self.notify("That chat no longer takes messages; nothing was inserted.", markup=False,
                        severity="warning")
            return
        message = find(self.app.model.canned, name)
        if message is None:
            self.notify(f"The canned message {clean_name(name, 40)!r} was deleted meanwhile.",
                        markup=False, severity="warning")
            return
        text = expand(str(message.get("text", "")), patron_name=chat.patron_name,
                      librarian_name=self.app.librarian_name, library_name=self.app.model.library_name)
        if self.narrow:
            self.show_view("chat")
        self.pane.composer.insert_canned(text)

    # --- / in the composer -----------------------------------------------------------

    def _feed_composer(self) -> None:
        self.pane.composer.canned = [(str(m.get("name", "")), str(m.get("text", "")))
                                     for m in self.app.model.canned]

    def on_mount(self) -> None:
        self._feed_composer()

    def on_desk_changed(self, event: DeskChanged) -> None:
        if event.changes.canned:
            self._feed_composer()

    def on_composer_suggestions(self, event: Composer.Suggestions) -> None:
        event.stop()
        self.query_one(CannedSuggestions).show(event.offered, event.query, event.index)

    def on_canned_suggestions_picked(self, event: CannedSuggestions.Picked) -> None:
        event.stop()
        self.pane.composer.choose(event.index)

    def on_composer_canned_chosen(self, event: Composer.CannedChosen) -> None:
        event.stop()
        chat = self.pane.chat
        if chat is not None:
            self.insert_canned(chat.id, event.name)
