"""The dashboard: the chat list on the left, the open chat on the right.

Every action is a `Binding` with an id (remappable from `[keys]`), shown in the footer
only when it applies (`check_action`), and offered by the command palette. Ctrl keys
are priority bindings so they work from the composer too.

The desk bar says whether the desk's LibAnswers link works (only on desks that send
there); an ended chat the patron rated shows the rating above its transcript. `m` lists
only missed chats (or all again) and ctrl+l closes every missed chat (`ui.missed`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from ... import protocol as p
from ...client import Status
from ...domain import Act, Chat, ChatState, Message, Sender, may
from ...model import Changes
from ...sanitize import clean, clean_name
from .. import missed
from ..blocks import BlockKeys
from ..canned import CannedKeys
from ..messages import DeskChanged, ReportsWorkerFailures
from ..patron_info import PatronInfoKeys
from ..team import TeamKeys, team_text
from ..widgets.alert_line import AlertLine
from ..widgets.chat_list import ChatList
from ..widgets.chat_pane import ChatPane
from ..widgets.footer import KeyFooter
from .chat_record import rating_text
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp

#: How long the highlight must rest before the chat pane shows that chat.
FOLLOW_SECONDS = 0.06
#: Narrower than this, list and pane are two views (f6 or esc/enter switch between them).
NARROW_COLUMNS = 100

#: Screen actions that act on the chat in the pane, and the domain act each one asks about.
ACTS: dict[str, Act] = {
    "end_chat": Act.END,
    "close_chat": Act.CLOSE,
    "note": Act.NOTE,
    "ticket": Act.TICKET,
    "analytics": Act.ANALYTICS,
    "export": Act.EXPORT,
}


class DashboardScreen(TeamKeys, CannedKeys, BlockKeys, PatronInfoKeys, ReportsWorkerFailures, Screen[None]):
    """Where the librarian spends the day."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Enter on the list: a priority key, so that the reply box has the focus before the
        # next key is read (a fast typist's first words land there, never on the list). One
        # key, two words: the footer says what enter does, like the pane's button.
        Binding("enter", "accept_highlighted", "Accept", tooltip="Accept the waiting chat",
                priority=True, id="accept"),
        Binding("enter", "open_highlighted", "Open", tooltip="Open the chat", priority=True,
                id="accept-open"),
        Binding("escape", "back", "List", tooltip="Back to the chat list", id="back"),
        # One key, two words, like enter in the list; one id, so `[keys]` remaps both. A letter:
        # it works from the list; in the chat every letter goes to the reply (ChatPane.on_key).
        # The footer shows only the way back; the list's title says the filter is on.
        Binding("m", "show_missed", "Missed chats only", show=False, id="missed-filter",
                tooltip="Only missed chats (left before anyone answered)"),
        Binding("m", "show_all", "All chats", tooltip="List all chats again", id="missed-filter"),
        Binding("ctrl+e", "end_chat", "End chat", priority=True, id="end-chat"),
        Binding("ctrl+w", "close_chat", "Close chat", priority=True, id="close-chat"),
        Binding("ctrl+n", "note", "Note", tooltip="Internal note", priority=True, id="note"),
        Binding("ctrl+t", "ticket", "Ticket", tooltip="Create a ticket from this chat", priority=True,
                id="ticket"),
        Binding("ctrl+r", "analytics", "Analytics", tooltip="Add to Reference Analytics", priority=True,
                id="analytics"),
        Binding("ctrl+j", "next_waiting", "Next", tooltip="Accept the next waiting chat", priority=True,
                id="next-waiting"),
        Binding("ctrl+o", "export", "Export", tooltip="Export the transcript", priority=True, id="export"),
        Binding("ctrl+l", "close_missed", "Close all missed chats", priority=True, show=False,
                tooltip="Close all missed chats (asks first)", id="close-missed"),
        Binding("f6", "switch_view", "List/Chat", tooltip="Switch list / chat (narrow)",
                id="switch-view"),
        Binding("f1", "help", "Keys", tooltip="Keyboard reference", id="help"),
    ]

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__(id="dashboard")
        self._load_timer: Timer | None = None
        self._follow_timer: Timer | None = None
        #: Chats this console asked to accept, until the desk answers (True: accepted).
        self._accepting: dict[int, asyncio.Future[bool]] = {}
        self._hello: dict[str, Any] | None = None  # the `hello` result the LibAnswers problem came from
        #: What keeps the desk's LibAnswers link from working (None: it works, or none is set up).
        self.libanswers_problem: str | None = None
        self._bar = self._banner = ""  # what the desk bar and the banner show

    def compose(self) -> ComposeResult:
        yield Static("", id="desk-bar", markup=False)
        yield Static("", id="banner", markup=False)
        with Horizontal(id="desk"):
            yield ChatList(id="chat-list")
            yield ChatPane(id="chat-pane")
        yield AlertLine(id="alerts")  # alerts have a line of their own: no toast covers the desk
        yield KeyFooter(compact=True)

    @classmethod
    def _merge_bindings(cls) -> BindingsMap:
        """Textual merges the mixins' keys (team, canned, blocks, patron information) before
        the screen's own; put the dashboard's own first, so the footer starts with them."""
        merged = super()._merge_bindings().key_to_bindings
        own = {key.strip() for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)
               for key in b.key.split(",")}
        ordered = {k: v for k, v in merged.items() if k in own} | {k: v for k, v in merged.items()
                                                                    if k not in own}
        return BindingsMap.from_keys(ordered)

    def on_mount(self) -> None:
        self.pane.me = self.chat_list.me = self.app.librarian_id
        self.chat_list.focus()
        self.watch(self.app, "status", self._connection_changed)
        self.pane.show(None, self.app.now())
        self._fit(self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Pick the layout for this width: side by side, or list and chat as two views."""
        desk = self.query_one("#desk")
        narrow = width < NARROW_COLUMNS
        if desk.has_class("-narrow") != narrow:
            desk.set_class(narrow, "-narrow")
            self.refresh_bindings()
        if narrow and not (desk.has_class("-show-list") or desk.has_class("-show-chat")):
            in_chat = self.pane.has_focus_within and self.pane.chat is not None
            self.show_view("chat" if in_chat else "list")

    @property
    def narrow(self) -> bool:
        return self.query_one("#desk").has_class("-narrow")

    def show_view(self, view: str) -> None:
        """In the narrow layout: "list" or "chat"."""
        desk = self.query_one("#desk")
        desk.set_class(view == "list", "-show-list")
        desk.set_class(view == "chat", "-show-chat")
        self.refresh_bindings()

    @property
    def alerts(self) -> AlertLine:
        return self.query_one(AlertLine)

    def in_view(self, chat_id: int) -> bool:
        """Is this chat in the pane, and the pane on screen (not the list view of a narrow one)?"""
        shown = self.pane.chat
        return shown is not None and shown.id == chat_id and not (
            self.narrow and self.query_one("#desk").has_class("-show-list"))

    @property
    def chat_list(self) -> ChatList:
        return self.query_one(ChatList)

    @property
    def pane(self) -> ChatPane:
        return self.query_one(ChatPane)

    @property
    def chat(self) -> Chat | None:
        """The chat in the pane (the highlighted one), as the model knows it now."""
        shown = self.pane.chat
        return None if shown is None else self.app.model.chats.get(shown.id, shown)

    # --- updates from the desk -------------------------------------------------------

    def _connection_changed(self, status: Status) -> None:
        self.refresh_desk_bar()
        self.show_queued()
        shown = self.pane.chat
        if status.state == "online" and shown is not None and shown.id not in self.app.model.transcripts:
            # A resync's snapshot (applied as it arrives, before `synced`) drops the loaded
            # transcripts, and asking for one then is refused as offline: ask now.
            self._load_transcript(shown.id)

    def show_queued(self) -> None:
        """Messages to the shown chat that wait in the outbox, in place, not yet delivered."""
        chat = self.pane.chat
        client = self.app.client
        if chat is None or client is None:
            return
        queued = [Message(-1 - i, chat.id, Sender.LIBRARIAN, self.app.librarian_name, frame.text,
                          self.app.now(), self.app.librarian_id)
                  for i, frame in enumerate(client.queued_frames())
                  if isinstance(frame, p.Send) and frame.chat_id == chat.id]
        self.pane.transcript.set_queued(queued)

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        if event.changes.pushes:  # newer than what `hello` said
            self._hello = self.app.client.hello if self.app.client else None
            self.libanswers_problem = self.app.model.libanswers_problem
        self.apply_changes(event.changes)

    def apply_changes(self, changes: Changes) -> None:
        """Redraw what one batch of desk events changed."""
        model = self.app.model
        now = self.app.now()
        if changes.reorder:
            self.chat_list.show(model.listed(), model.unread, now)
        shown = self.pane.chat
        if shown is not None:
            if shown.id in changes.removed:
                self.pane.show(None, now)
            elif shown.id in changes.chats or changes.snapshot:
                self.pane.chat = model.chats.get(shown.id, shown)
                self.pane.refresh_header(now)
            if shown.id in changes.entries:
                self.pane.append(changes.entries[shown.id])
            if changes.snapshot and shown.id in model.chats:
                self._load_transcript(shown.id)
        if self.pane.chat is None and self.chat_list.chat_id is not None:
            self._open(self.chat_list.chat_id)
        self.show_queued()
        self.show_rating()
        self.refresh_desk_bar()
        self.refresh_bindings()

    def apply_team(self) -> None:
        """What I monitor changed: the list, the counts and the keys follow."""
        model = self.app.model
        self.chat_list.show(model.listed(), model.unread, self.app.now())
        self.refresh_desk_bar()
        self.refresh_bindings()

    def show_rating(self) -> None:
        """An ended chat's rating by the patron, above its transcript ("Patron's rating ★★★★☆ 4 of 5")."""
        chat = self.chat
        rated = None
        if chat is not None and chat.state in (ChatState.ENDED, ChatState.DISCONNECTED):
            rated = rating_text(chat, max_len=120)
        title = None if rated is None else Content(f"Patron's rating {rated}")
        transcript = self.pane.transcript
        if transcript.border_title != title:  # redraw the border only when it changes
            transcript.border_title = title

    def libanswers_text(self) -> str:
        """The desk bar's LibAnswers indicator; empty when the desk does not send there."""
        client = self.app.client
        hello = client.hello if client is not None else None
        if not hello or hello.get("libanswers") is None:
            return ""
        if hello is not self._hello:  # a new connection: its `hello` is the latest word
            self._hello = hello
            self.libanswers_problem = hello["libanswers"].get("problem")
        if self.libanswers_problem is None:
            return "   LibAnswers ✓"
        return f"   LibAnswers ⚠ {clean(self.libanswers_problem, single_line=True, max_len=80)}"

    def refresh_desk_bar(self) -> None:
        model = self.app.model
        waiting, active = model.counts()
        status = self.app.connection_text()
        client = self.app.client
        name = clean_name(self.app.librarian_name, 40)
        if client is not None and client.presence == "away":
            name += " (◐ away)"  # my presence beside my name; the connection's state is its own
        elsewhere = model.waiting_elsewhere()
        more = f" (+{elsewhere} elsewhere)" if elsewhere else ""
        parts = [f" {name}", f"● {waiting} waiting{more}", f"▶ {active} active",
                 f"{status}{self.libanswers_text()}"]
        unstaffed = model.unstaffed()
        if unstaffed:  # patrons there get the offline form: say so, in words
            parts.append(f"⚠ nobody online: {', '.join(unstaffed)}")
        width = self.app.size.width
        gap = "   "
        if len(gap.join(parts)) + 12 > width:  # 80 columns: tighter, and "online" goes without saying
            gap = "  "
            if parts[3] == "● online":
                del parts[3]
        bar = gap.join(parts)
        if model.librarians:  # colleagues: names while they fit, else a count, never nothing
            room = width - len(bar) - len(gap) - 1
            bar += f"{gap}{team_text(model.librarians, self.app.librarian_id, max(0, room))}"
        if bar != self._bar:  # one line whatever it says: no layout pass
            self._bar = bar
            self.query_one("#desk-bar", Static).update(bar, layout=False)
        text = self.app.banner_text()
        if text != self._banner:
            self._banner = text
            banner = self.query_one("#banner", Static)
            banner.display = bool(text)
            banner.update(text)

    def tick(self) -> None:
        """Once a second: countdowns, waiting times and "N s ago", for the rows on screen."""
        if not self.is_attached or not list(self.query(ChatList)):  # the app is closing
            return
        now = self.app.now()
        if self.pane.chat is not None:
            self.pane.refresh_header(now)
        model = self.app.model
        shown = [model.chats[i] for i in self.chat_list.visible_ids() if i in model.chats]
        if shown:
            self.chat_list.update_rows(shown, model.unread, now)

    # --- list and pane ---------------------------------------------------------------

    @on(ChatList.Moved)
    def _moved(self, event: ChatList.Moved) -> None:
        """The highlight moved: the pane follows once it settles, so moving stays instant."""
        if self._follow_timer is not None:
            self._follow_timer.stop()
        chat_id = event.chat_id
        if chat_id is None:
            self.pane.show(None, self.app.now())
            self.show_rating()
            self.refresh_bindings()
            return
        self._follow_timer = self.set_timer(FOLLOW_SECONDS, lambda: self._follow(chat_id))

    def _follow(self, chat_id: int) -> None:
        self._follow_timer = None
        if self.chat_list.chat_id == chat_id:
            self._open(chat_id)
            self.refresh_bindings()

    @on(ChatList.Chosen)
    def _chosen(self, event: ChatList.Chosen) -> None:
        """A click on a row (enter is the screen's own key)."""
        self.work_on(event.chat_id)

    def _open(self, chat_id: int) -> None:
        """Show a chat in the pane now; load its transcript after the highlight settles."""
        model = self.app.model
        chat = model.chats.get(chat_id)
        if chat is None:
            return
        had_unread = chat_id in model.unread
        model.mark_read(chat_id)
        cached = model.transcripts.get(chat_id)
        self.pane.show(chat, self.app.now(), cached, self.app.drafts.get(f"message:{chat_id}"),
                       accepting=chat_id in self._accepting)  # back to a chat whose accept is on its way
        self.show_queued()
        self.show_rating()
        if had_unread:  # redraw the row only when its unread mark goes away
            self.chat_list.update_rows([chat], model.unread, self.app.now())
        if cached is None:
            if self._load_timer is not None:
                self._load_timer.stop()
            self._load_timer = self.set_timer(0.12, lambda: self._load_transcript(chat_id))

    @work(group="transcript", exclusive=True, exit_on_error=False)
    async def _load_transcript(self, chat_id: int) -> None:
        result = await self.app.request("transcript", quiet=True, chat_id=chat_id)
        if result is None or self.pane.chat is None or self.pane.chat.id != chat_id \
                or result["chat"]["id"] != chat_id:  # the pane moved on meanwhile
            return
        entries = self.app.model.load_transcript(result)
        self.pane.show(self.app.model.chats.get(chat_id, self.pane.chat), self.app.now(), entries)
        self.show_queued()

    @on(ChatPane.Send)
    def _send(self, event: ChatPane.Send) -> None:
        self.pane.composer.value = ""
        self.run_worker(self._deliver(event.chat_id, event.text), group="send", exit_on_error=False)

    async def _deliver(self, chat_id: int, text: str) -> None:
        """Send a message (the client keeps it in its outbox file until the desk has it);
        typed while the chat was being accepted, it goes once the desk has accepted it."""
        self.app.drafts.set(f"message:{chat_id}", "")
        accepting = self._accepting.get(chat_id)
        if accepting is not None and not await asyncio.shield(accepting):
            self._give_back(chat_id, text)
            return
        delivery = self.app.request("send", chat_id=chat_id, text=text)
        self.call_later(self.show_queued)  # once the client has queued it
        result = await delivery
        self.show_queued()
        if result is None:  # refused: give the text back
            self._give_back(chat_id, text)

    def _give_back(self, chat_id: int, text: str) -> None:
        """A message the desk did not take goes back into its chat's reply box (or draft)."""
        composer = self.pane.composer
        shown = self.pane.chat is not None and self.pane.chat.id == chat_id
        kept = composer.value if shown else self.app.drafts.get(f"message:{chat_id}")
        restored = f"{text} {kept}" if kept else text
        self.app.drafts.set(f"message:{chat_id}", restored)
        if shown:
            composer.value = restored

    @on(ChatPane.Typing)
    def _typing(self, event: ChatPane.Typing) -> None:
        self.app.drafts.set(f"message:{event.chat_id}", event.text)
        if event.text and self.pane.may_send():
            self.app.typing(event.chat_id)

    # --- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer a key only when the desk would allow it: the domain's rules decide."""
        if action == "switch_view":
            return self.narrow
        if action == "next_waiting":
            return self.app.model.next_waiting() is not None or None
        if action == "accept_open":
            return self.chat is not None
        if action in ("accept_highlighted", "open_highlighted"):  # enter, from the list only
            listed = self.chat_list.highlighted_chat() if self.focused is self.chat_list else None
            if listed is None:
                return False
            acceptable = may(self.app.model.chats.get(listed.id, listed), Act.ACCEPT, self.app.librarian_id)
            return acceptable == (action == "accept_highlighted")
        if action in ("show_missed", "show_all"):  # the one of the two that changes something
            return (action == "show_missed") != self.chat_list.missed_only  # False: hidden
        if action == "close_missed":
            return bool(self.closable_missed()) or None
        act = ACTS.get(action)
        if act is None:  # the team desk's mixins (and Textual's own) answer the rest
            return super().check_action(action, parameters)
        chat = self.chat
        if chat is None:
            return False
        return may(chat, act, self.app.librarian_id)

    def work_on(self, chat_id: int) -> None:
        """Open the chat and put the librarian in its reply box now; accept it if it waits.

        Runs before the next key is read (from a priority key): what is typed while the desk
        answers the accept lands in the reply box, and enter sends it once the chat is
        accepted, never to the list or a letter key."""
        self.chat_list.select_chat(chat_id)
        if self._follow_timer is not None:
            self._follow_timer.stop()
            self._follow_timer = None
        self._open(chat_id)
        chat = self.app.model.chats.get(chat_id)
        if chat is not None and chat.state is ChatState.WAITING and chat_id not in self._accepting \
                and may(chat, Act.ACCEPT, self.app.librarian_id):
            accepted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._accepting[chat_id] = accepted
            self.pane.accepting = True
            self.pane.refresh_header(self.app.now())
            self.run_worker(self._accept(chat_id, accepted), group="command", exit_on_error=False)
        self.focus_reply()

    async def _accept(self, chat_id: int, accepted: asyncio.Future[bool]) -> None:
        result = None
        try:
            result = await self.app.request("accept", chat_id=chat_id)
        finally:  # a send waiting on it learns the answer (False also if this was cancelled)
            self._accepting.pop(chat_id, None)
            if not accepted.done():
                accepted.set_result(result is not None)
        shown = self.pane.chat is not None and self.pane.chat.id == chat_id
        if shown:
            self.pane.accepting = False
        if result is not None:
            self.app.apply_now(result)
        if shown:
            # The composer says "enter sends" now, not after the next redraw.
            self.pane.chat = self.app.model.chats.get(chat_id, self.pane.chat)
            self.pane.refresh_header(self.app.now())

    def focus_reply(self) -> None:
        """The librarian works on the chat in the pane: show it and put them in its reply box
        (at once, not after the queued keys: those are for the reply)."""
        if self.pane.chat is None:
            return
        self.show_view("chat")
        self.set_focus(self.pane.composer)

    def action_accept_highlighted(self) -> None:
        chat_id = self.chat_list.chat_id
        if chat_id is not None:
            self.work_on(chat_id)

    def action_open_highlighted(self) -> None:
        self.action_accept_highlighted()

    def action_accept_open(self) -> None:
        chat_id = self.chat_list.chat_id
        if chat_id is not None:
            self.work_on(chat_id)

    def action_back(self) -> None:
        self.show_view("list")
        self.chat_list.focus()

    def action_switch_view(self) -> None:
        if self.query_one("#desk").has_class("-show-list") and self.pane.chat is not None:
            self.focus_reply()
        else:
            self.action_back()

    def action_end_chat(self) -> None:
        chat = self.chat
        if chat is None:
            return
        question = f"End the chat with {clean_name(chat.patron_name, 40)}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.app.request("end", chat_id=chat.id), group="command",
                                exit_on_error=False)

        self.app.push_screen(Confirm(question), answered)

    def action_close_chat(self) -> None:
        chat = self.chat
        if chat is None:
            return
        question = (f"Close the chat with {clean_name(chat.patron_name, 40)}? It leaves the "
                    "dashboard (it stays in History, f3).")

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.app.request("close", chat_id=chat.id), group="command",
                                exit_on_error=False)
                self.action_back()

        self.app.push_screen(Confirm(question), answered)

    def closable_missed(self) -> list[Chat]:
        """The missed chats the domain lets this librarian close, less those already queued."""
        client = self.app.client
        return missed.closable(self.app.model.chats.values(), self.app.librarian_id,
                               client.queued_frames() if client is not None else ())

    def action_show_missed(self) -> None:
        self.chat_list.missed_only = True
        self.action_back()  # the list is where the filter shows

    def action_show_all(self) -> None:
        self.chat_list.missed_only = False
        self.action_back()

    def action_close_missed(self) -> None:
        chat_ids = [chat.id for chat in self.closable_missed()]
        if not chat_ids:
            self.notify("No missed chats to close.", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(missed.close_all(self.app, chat_ids), group="command",
                                exit_on_error=False)

        self.app.push_screen(Confirm(missed.question(len(chat_ids))), answered)

    def action_next_waiting(self) -> None:
        chat = self.app.model.next_waiting()
        if chat is None:
            self.notify("No chats are waiting.", markup=False)
            return
        self.chat_list.missed_only = False  # a waiting chat is never missed: list it
        self.work_on(chat.id)

    def action_help(self) -> None:
        self.app.show_help()

    def action_note(self) -> None:
        self.app.open_after_chat("note", self.chat)

    def action_ticket(self) -> None:
        self.app.open_after_chat("ticket", self.chat)

    def action_analytics(self) -> None:
        self.app.open_after_chat("analytics", self.chat)

    def action_export(self) -> None:
        self.app.open_after_chat("export", self.chat)

