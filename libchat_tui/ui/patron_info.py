"""The patron information panel beside the transcript, and the patron's typing mark.

A base class of `DashboardScreen` (its `check_action` is cooperative: the dashboard's
falls through to `super()`). It derives from `Screen` rather than being a plain mixin:
Textual merges the `BINDINGS` of DOM-node classes only (`DOMNode._merge_bindings`), so a
plain mixin's keys would never be bound.

- f8 (`patron-info`) shows or hides the panel (widgets/patron_panel.py): beside the
  transcript when the pane is wide enough (`BESIDE_MIN`: the 80-column chat view is), over
  it when not (100 to 150 columns, where the list takes half the width).
  Enter on an earlier chat opens it read-only in the chat record; on a ticket, the
  ticket; `e` corrects the patron's name and e-mail (screens/patron_edit.py).
- A patron's typing signal shows "… typing" on the chat's row and "… Patron is
  typing…" in the pane's header, until their message arrives or `TYPING_SECONDS` pass
  without another signal (the widget sends one every 2 s while the patron types).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..sanitize import clean
from .messages import DeskChanged
from .screens.chat_record import ChatRecordScreen
from .screens.patron_edit import PatronEditScreen
from .screens.patron_ticket import PatronTicketScreen
from .widgets.chat_header import ChatHeader
from .widgets.patron_panel import PatronPanel

if TYPE_CHECKING:
    from ..domain import Chat
    from .app import LibChatApp
    from .widgets.chat_list import ChatList
    from .widgets.chat_pane import ChatPane

#: A typing mark goes away this long after the patron's last typing signal.
TYPING_SECONDS = 5.0
#: The chat pane's width from which the panel sits beside the transcript (else over it).
BESIDE_MIN = 76


class PatronInfoKeys(Screen[None]):
    """The patron panel's key and what it opens; the typing marks of the list and header."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "patron_info", "Patron", id="patron-info",
                tooltip="Show or hide the patron panel"),
    ]

    if TYPE_CHECKING:  # DashboardScreen's, which this is a base of
        app: LibChatApp

        @property
        def pane(self) -> ChatPane: ...

        @property
        def chat_list(self) -> ChatList: ...

        @property
        def chat(self) -> Chat | None: ...

        @property
        def narrow(self) -> bool: ...

        def show_view(self, view: str) -> None: ...

    #: The patron's last typing signal per chat, by the console's clock.
    _typing_at: dict[int, datetime]

    def on_mount(self) -> None:
        self._typing_at = {}
        self.set_interval(1.0, self._typing_tick)

    # --- the panel -------------------------------------------------------------------

    @property
    def patron_panel(self) -> PatronPanel:
        return self.query_one(PatronPanel)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "patron_info":  # greyed with no chat in the pane, unless it is open
            return True if self.chat is not None or self.patron_panel.active else None
        return super().check_action(action, parameters)

    def action_patron_info(self) -> None:
        panel = self.patron_panel
        shown = not panel.active
        panel.active = shown
        self.pane.set_class(shown, "-patron-info")
        self._place_panel()
        if shown:
            panel.forget_record()  # looked up afresh each time it opens
            panel.show_chat(self.pane.chat, self.app.now())
            if self.narrow:
                self.show_view("chat")
            panel.focus_record()
        elif (panel.has_focus_within or self.focused is None) and self.pane.chat is not None:
            self.pane.composer.focus()
        self.refresh_bindings()

    def _place_panel(self) -> None:
        """Beside the transcript in a wide enough pane; over it in a narrower one."""
        over = self.patron_panel.active and 0 < self.pane.size.width < BESIDE_MIN
        self.pane.set_class(over, "-patron-over")

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._place_panel)  # once the pane has its new width

    @on(PatronPanel.RecordWanted)
    def _record_wanted(self, event: PatronPanel.RecordWanted) -> None:
        event.stop()
        self.run_worker(self._look_up(event.chat_id), group="patron-record", exclusive=True,
                        exit_on_error=False)

    async def _look_up(self, chat_id: int) -> None:
        result = await self.app.request("patron_record", quiet=True, chat_id=chat_id)
        self.patron_panel.show_record(chat_id, result)

    @on(PatronPanel.OpenChat)
    def _open_earlier_chat(self, event: PatronPanel.OpenChat) -> None:
        event.stop()
        self.app.push_screen(ChatRecordScreen(event.chat_id))

    @on(PatronPanel.OpenTicket)
    def _open_earlier_ticket(self, event: PatronPanel.OpenTicket) -> None:
        event.stop()
        self.app.push_screen(PatronTicketScreen(event.ticket))

    @on(PatronPanel.EditPatron)
    def _edit_patron(self, event: PatronPanel.EditPatron) -> None:
        event.stop()
        chat = self.app.model.chats.get(event.chat.id, event.chat)
        self.app.push_screen(PatronEditScreen(chat))

    # --- typing, and keeping the panel current ------------------------------------------

    def on_desk_changed(self, event: DeskChanged) -> None:
        """After the dashboard has redrawn the batch: typing marks, and the panel's lookup."""
        changes = event.changes
        now = self.app.now()
        for chat_id in changes.typing:
            self._typing_at[chat_id] = now
        self._show_typing(now)
        panel = self.patron_panel
        chat = self.pane.chat
        if panel.active and chat is not None and chat.patron_email:
            email = chat.patron_email.casefold()
            if any(clean(str(t.get("email", ""))).casefold() == email for t in changes.tickets):
                panel.forget_record()  # a new ticket of this patron: look again
                panel.show_chat(chat, now)

    def _typing_tick(self) -> None:
        if self.is_attached and list(self.query(ChatHeader)):  # not while the app is closing
            self._show_typing(self.app.now())

    def typing_now(self, now: datetime) -> frozenset[int]:
        """The chats whose patron is typing: a signal within `TYPING_SECONDS`, no message since."""
        typing = self.app.model.typing
        return frozenset(chat_id for chat_id, at in self._typing_at.items()
                         if chat_id in typing and (now - at).total_seconds() < TYPING_SECONDS)

    def _show_typing(self, now: datetime) -> None:
        active = self.typing_now(now)
        self._typing_at = {chat_id: at for chat_id, at in self._typing_at.items() if chat_id in active}
        chat_list = self.chat_list
        changed = active ^ chat_list.typing
        if not changed:
            return
        chat_list.typing = active
        self.query_one(ChatHeader).typing = active
        model = self.app.model
        chat_list.update_rows([model.chats[i] for i in changed if i in model.chats], model.unread, now)
        shown = self.pane.chat
        if shown is not None and shown.id in changed:
            self.pane.refresh_header(now)
