"""Presence, departments and transfer on the dashboard: keys, actions and what they show.

- f9 switches me between online and away (away: no new-chat alerts; colleagues and the
  patron side see it); the desk bar lists who is on the desk, each with a glyph and word.
- d chooses the departments I monitor: waiting chats of the others are counted
  ("+3 elsewhere"), not listed, and "next waiting" takes the first in line among mine.
- ctrl+g on my active chat offers it to a colleague or sends it to a department; on a
  chat offered to me it asks "take it or decline"; on my chat on offer, withdraw.

A `Screen` mixin of `DashboardScreen` (Textual merges the BINDINGS of DOM-node classes
only); `check_action` is cooperative (the dashboard's falls through to `super()`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..domain import Act, ChatState, may
from ..sanitize import clean_name
from .screens.team_dialogs import AnswerTransfer, ChooseDepartments, TransferChat

if TYPE_CHECKING:
    from .screens.dashboard import DashboardScreen

#: How the desk bar marks each presence (a glyph and a word: never colour alone).
MARKS = {"online": "●", "away": "◐"}


def team_text(librarians: list[dict[str, Any]], me: str, width: int) -> str:
    """Who else is on the desk, for the desk bar: names while they fit, else counts (short
    enough for 80 columns: "+2 (1 away)")."""
    others = [e for e in librarians if e.get("id") != me]
    if not others:
        return "alone on the desk"
    names = ", ".join(f"{clean_name(str(e['name']), 20)} {MARKS.get(str(e['state']), '?')}"
                      f"{'' if e['state'] == 'online' else ' away'}" for e in others)
    if len(names) + 5 <= width:
        return f"with {names}"
    away = sum(1 for e in others if e["state"] != "online")
    counted = f"{len(others)} colleague{'s' if len(others) != 1 else ''} on the desk ({away} away)"
    return counted if len(counted) <= width else f"+{len(others)} ({away} away)"


class TeamKeys(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not in the footer (it has no room at 80 columns): in f1, the palette and the header.
        Binding("ctrl+g", "transfer", "Transfer", priority=True, show=False, id="transfer",
                tooltip="Transfer my chat; answer or withdraw an offer"),
        # A letter, like m: from the list (in the chat, letters go to the reply).
        Binding("d", "departments", "Departments", show=False, id="departments",
                tooltip="Departments whose waiting chats I take"),
        Binding("f9", "presence", "Away", show=False, id="presence",
                tooltip="Online or away (away: no new-chat alerts)"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        if action == "transfer":
            chat = screen.chat
            me = screen.app.librarian_id
            if chat is None or chat.state is not ChatState.ACTIVE:
                return False
            offer = chat.transfer
            if offer is not None:
                return offer.to_id == me or may(chat, Act.WITHDRAW_TRANSFER, me)
            return may(chat, Act.TRANSFER, me)
        if action == "departments":
            return len(screen.app.model.departments) > 1
        return super().check_action(action, parameters)

    # --- presence ------------------------------------------------------------------------

    async def action_presence(self) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        app = screen.app
        client = app.client
        if client is None:
            return
        wanted: Literal["online", "away"] = "away" if client.presence == "online" else "online"
        client.presence = wanted  # kept for the next `hello`, so a reconnect keeps it
        result = await app.request("presence", state=wanted)
        if result is not None:
            app.model.librarians = list(result.get("librarians") or app.model.librarians)
        screen.refresh_desk_bar()
        app.notify("You are away: no new-chat alerts; colleagues see ◐ away." if wanted == "away"
                   else "You are online: new chats alert you again.", title="Presence", markup=False)

    # --- departments ---------------------------------------------------------------------

    def action_departments(self) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        model = screen.app.model
        screen.app.push_screen(ChooseDepartments(model.departments, model.monitor), self._team_monitor)

    def _team_monitor(self, chosen: list[str] | None) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        if chosen:
            screen.run_worker(self._save_monitor(chosen), group="command", exit_on_error=False)

    async def _save_monitor(self, chosen: list[str]) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        app = screen.app
        result = await app.request("monitor", departments=chosen)
        if result is None:
            return
        app.model.monitor = list(result["monitor"])
        screen.apply_team()
        app.notify(f"Monitoring {', '.join(app.model.monitor)}.", title="Departments", markup=False)

    # --- transfer ------------------------------------------------------------------------

    def action_transfer(self) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        chat = screen.chat
        app = screen.app
        if chat is None:
            return
        offer = chat.transfer
        if offer is not None and offer.to_id == app.librarian_id:
            screen.app.push_screen(AnswerTransfer(chat), lambda accept: self._team_answer(chat.id, accept))
            return
        if offer is not None:
            screen.run_worker(self._team_send("withdraw_transfer", "Transfer withdrawn.", chat_id=chat.id),
                              group="command", exit_on_error=False)
            return
        colleagues = [e for e in app.model.librarians if e.get("id") != app.librarian_id]
        departments = list(app.model.departments)
        screen.app.push_screen(TransferChat(chat, colleagues, departments), self._team_transfer)

    def _team_transfer(self, choice: dict[str, Any] | None) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        chat = screen.chat
        if not choice or chat is None:
            return
        if choice.get("to_librarian"):
            done = f"Offered to {clean_name(str(choice['name']), 40)}; it stays yours until they answer."
        else:
            done = f"Sent to {choice['to_department']}, at the head of its line."
        fields = {k: v for k, v in choice.items() if k in ("to_librarian", "to_department", "note")}
        screen.run_worker(self._team_send("transfer", done, chat_id=chat.id, **fields), group="command",
                          exit_on_error=False)

    def _team_answer(self, chat_id: int, accept: bool | None) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        if accept is None:
            return
        done = "The chat is yours now." if accept else "Declined; the chat stays with your colleague."
        screen.run_worker(self._team_send("answer_transfer", done, chat_id=chat_id, accept=accept),
                          group="command", exit_on_error=False)
        if accept and screen.pane.chat is not None and screen.pane.chat.id == chat_id:
            # What they type next is their first words to the patron.
            screen.call_after_refresh(screen.focus_reply)

    async def _team_send(self, command: str, done: str, **fields: Any) -> None:
        screen: DashboardScreen = self  # type: ignore[assignment]
        if await screen.app.request(command, **fields) is not None:
            screen.app.notify(done, title="Transfer", markup=False)
            screen.refresh_bindings()
