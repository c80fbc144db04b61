"""Dismiss and block on the dashboard: keys, the reason and duration prompts, the blocks list.

x dismisses the highlighted chat when nobody has accepted it (spam, a test): it asks for
a reason and the chat closes. b blocks the patron of the highlighted chat (yours, or one
nobody has accepted): it asks how long and why, says what will happen, and the chat ends.
f5 lists the blocks in force, where one can be lifted. The domain decides when x and b
apply (`Act.DISMISS`, `Act.BLOCK`); the desk enforces the same rule.

A base class of `DashboardScreen` (its `check_action` is cooperative: the dashboard's
falls through to `super()`). It derives from `Screen`, not a plain mixin, because Textual
merges the `BINDINGS` of DOM-node classes only (`DOMNode._merge_bindings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..domain import Act, Chat, may, parse_ts
from ..sanitize import clean_name
from ..vocabulary import until_text, where
from .screens.block_dismiss import DismissScreen
from .screens.block_list import BlocksScreen
from .screens.block_patron import BlockScreen

if TYPE_CHECKING:
    from .app import LibChatApp

#: Dashboard actions on the highlighted chat, and the domain act each one asks about.
_ACTS = {"dismiss_chat": Act.DISMISS, "block_patron": Act.BLOCK}


class BlockKeys(Screen[None]):
    """Dismiss (x), block (b) and the blocks list (f5)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Letters, like m: from the list and the chat, never typed away in the composer.
        Binding("x", "dismiss_chat", "Dismiss", id="dismiss-chat",
                tooltip="Dismiss the chat (spam, a test)"),
        Binding("b", "block_patron", "Block", id="block-patron",
                tooltip="Block the patron (the chat ends)"),
        Binding("f5", "show_blocks", "Blocks", show=False, id="blocks",
                tooltip="Blocked patrons (lift a block)"),
    ]

    if TYPE_CHECKING:  # DashboardScreen's, which this is a base of
        app: LibChatApp

        @property
        def chat(self) -> Chat | None: ...

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        act = _ACTS.get(action)
        if act is not None:
            chat = self.chat
            return chat is not None and may(chat, act, self.app.librarian_id)
        if action == "show_blocks":
            return True
        return super().check_action(action, parameters)

    def _queued_note(self, what: str) -> None:
        client = self.app.client
        if client is not None and not client.online:
            self.app.notify(f"Offline: the {what} is queued and sent when the desk is back.", title="Queued",
                            markup=False)

    # --- dismiss ---------------------------------------------------------------------

    def action_dismiss_chat(self) -> None:
        chat = self.chat
        if chat is None or not may(chat, Act.DISMISS, self.app.librarian_id):
            return

        def answered(reason: str | None) -> None:
            if reason:
                self.run_worker(self._dismiss(chat, reason), group="command", exit_on_error=False)

        self.app.push_screen(DismissScreen(chat), answered)

    async def _dismiss(self, chat: Chat, reason: str) -> None:
        self._queued_note("dismiss")
        result = await self.app.request("dismiss", chat_id=chat.id, reason=reason)
        if result is not None:
            self.app.notify(f"Dismissed the chat from {clean_name(chat.patron_name, 40)}.", markup=False)

    # --- block -----------------------------------------------------------------------

    def action_block_patron(self) -> None:
        chat = self.chat
        if chat is None or not may(chat, Act.BLOCK, self.app.librarian_id):
            return

        def answered(choice: tuple[int, str] | None) -> None:
            if choice is not None:
                minutes, reason = choice
                self.run_worker(self._block(chat, minutes, reason), group="command", exit_on_error=False)

        self.app.push_screen(BlockScreen(chat), answered)

    async def _block(self, chat: Chat, minutes: int, reason: str) -> None:
        self._queued_note("block")
        result = await self.app.request("block", chat_id=chat.id, minutes=minutes, reason=reason)
        if result is None:
            return
        block = result["block"]
        name = clean_name(chat.patron_name, 40)
        at = parse_ts(block.get("until"))
        until = "?" if at is None else until_text(at, self.app.now())
        self.app.notify(f"Blocked {name} until {until}: new chats from {where(block)} are refused. "
                        "f5 lists the blocks.", markup=False, timeout=8)

    # --- the list --------------------------------------------------------------------

    def action_show_blocks(self) -> None:
        if not isinstance(self.app.screen, BlocksScreen):
            self.app.push_screen(BlocksScreen())
