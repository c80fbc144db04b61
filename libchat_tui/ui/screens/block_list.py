"""Blocked patrons: the blocks in force, newest first, and lifting one (u, after a question).

Each row says whose chat the block ended, the address it holds, until when, who blocked
and why; the highlighted block is shown in full below the list. o opens the chat the
block ended. A block made on any console appears when its chat event arrives; a block a
colleague lifted meanwhile is refused with the desk's reason, and the list is read again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from ...domain import Action, parse_ts
from ...sanitize import clean, clean_name
from ...vocabulary import until_text, where
from ..messages import DeskChanged, ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from .chat_record import ChatRecordScreen, ScreenKeys, when
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp


def until(block: dict[str, Any], now: Any) -> str:
    at = parse_ts(block.get("until"))
    return "?" if at is None else until_text(at, now)


def describe(block: dict[str, Any], now: Any) -> str:
    """A block in full, every piece of it cleaned (plain text: shown with markup off)."""
    name = clean_name(str(block["patron_name"]), 60)
    return (f"Block #{block['id']} on {name} (chat #{block['chat_id']})\n"
            f"Refuses new chats from {where(block)} until {until(block, now)}.\n"
            f"Blocked by {clean_name(str(block['created_by']), 60)} on {when(block.get('created_at'))}.\n"
            f"Reason: {clean(str(block['reason']), single_line=True, max_len=500)}")


class BlocksScreen(ReportsWorkerFailures, Screen[None]):
    """The blocks in force; the highlighted one in full below."""

    CSS_PATH = "../blocks.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="blocks-back"),
        Binding("u", "lift", "Lift block", tooltip="Lift the highlighted block (asks first)",
                id="blocks-lift"),
        Binding("o", "open_chat", "Open chat", tooltip="Open the chat the block ended", id="blocks-chat"),
    ]
    COMMANDS: ClassVar[set[Any]] = {ScreenKeys}

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[dict[str, Any]] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="screen-head"):
            yield Label("Blocked patrons", markup=False, classes="screen-title")
            yield Label("Loading…", id="blocks-summary", markup=False, classes="screen-summary")
        table: DataTable[Any] = DataTable(id="blocks-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="block-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self.run_worker(self._load(), group="blocks", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        result = await self.app.request("blocks")
        if result is None:
            self.query_one("#blocks-summary", Label).update("Could not load the blocks (see the message).")
            return
        self.blocks = list(result["blocks"])
        self.loaded = True
        self._fill(omitted=int(result.get("omitted") or 0))

    def _fill(self, omitted: int = 0) -> None:
        table = self.query_one(DataTable)
        keep = self.current
        table.clear()
        if not table.columns:
            table.add_columns("#", "Patron", "Address", "Until", "By", "Reason")
        now = self.app.now()
        for block in self.blocks:
            # DataTable parses plain strings as markup: everything a person typed goes in as Text.
            table.add_row(str(block["id"]), Text(clean_name(str(block["patron_name"]), 20)),
                          Text(clean(str(block.get("address") or "—"), single_line=True, max_len=40)),
                          until(block, now), Text(clean_name(str(block["created_by"]), 16)),
                          Text(clean(str(block["reason"]), single_line=True, max_len=40)),
                          key=str(block["id"]))
        if keep is not None and any(b["id"] == keep["id"] for b in self.blocks):
            table.move_cursor(row=table.get_row_index(str(keep["id"])), animate=False)
        count = len(self.blocks)
        more = f" (and {omitted} older not shown)" if omitted else ""
        self.query_one("#blocks-summary", Label).update(
            f"{count} in force{more} · u lifts one" if count else
            "No patron is blocked. Block one from the dashboard with b.")
        self._show_current()

    @property
    def current(self) -> dict[str, Any] | None:
        """The highlighted block."""
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((b for b in self.blocks if str(b["id"]) == key), None)

    @on(DataTable.RowHighlighted)
    def _show_current(self) -> None:
        block = self.current
        shown = "" if block is None else describe(block, self.app.now())
        self.query_one("#block-detail", Static).update(shown)
        self.refresh_bindings()

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        """A block made on any console ends its chat: the list is read again when one does."""
        model = self.app.model
        for chat_id in event.changes.chats:
            chat = model.chats.get(chat_id)
            change = None if chat is None else chat.last_change
            if change is not None and change.action is Action.BLOCK and self.loaded:
                self.reload()
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("lift", "open_chat"):
            return self.current is not None
        return True

    def action_open_chat(self) -> None:
        block = self.current
        if block is not None:
            self.app.push_screen(ChatRecordScreen(int(block["chat_id"])))

    def action_lift(self) -> None:
        block = self.current
        if block is None:
            return
        name = clean_name(str(block["patron_name"]), 40)
        question = f"Lift the block on {name}? New chats from {where(block)} are accepted again. (y/n)"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._lift(block), group="blocks-lift", exit_on_error=False)

        self.app.push_screen(Confirm(question), answered)

    async def _lift(self, block: dict[str, Any]) -> None:
        result = await self.app.request("unblock", block_id=int(block["id"]))
        if result is not None:
            self.app.notify(f"Block on {clean_name(str(block['patron_name']), 40)} lifted: new chats from "
                            f"them are accepted again.", markup=False)
        self.reload()  # lifted, or refused because it is gone: either way the list is read again
