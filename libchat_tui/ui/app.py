"""The console app: wires the connection, the model, the screens and the keys.

Frames from the desk arrive through `DeskClient` into an inbox and are applied to the
`DeskModel` in batches (a burst of events costs one redraw, not one per event); each
screen on the stack then gets a `DeskChanged` message and redraws only what the batch
changed. The connection's state is the `status` reactive, which screens watch.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker

from .. import protocol as p
from ..client import CommandError, DeskClient, Status
from ..config import Settings, name_notice
from ..domain import Chat, ChatState
from ..drafts import Drafts
from ..model import DeskModel
from ..sanitize import clean, clean_name
from .after_chat import SCREENS
from .embedded import EmbeddedDesk
from .messages import DeskChanged
from .screens.confirm import Confirm
from .screens.dashboard import DashboardScreen
from .screens.help import KeyHelp
from .submit import Submission
from .themes import console_themes

FLUSH_SECONDS = 0.05  # how long frames gather before one batch is applied
TYPING_EVERY = 2.0
TOAST_SECONDS = 4.0  # a new-chat toast's life; chats arriving meanwhile share the next one


def dashboard_bindings() -> list[Binding]:
    """The dashboard's keys with its mixins' (team, canned, blocks, patron information),
    its own first: for the keyboard reference and the palette."""
    ours = [c for c in DashboardScreen.__mro__ if c.__module__.startswith("libchat_tui")]
    return [b for cls in ours for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)]


class LibChatApp(App[None]):
    """libchat-tui: the librarian's console."""

    CSS_PATH = "app.tcss"
    TITLE = "libchat-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not in the footer (no room at 120 columns); in the help screen and the palette.
        Binding("ctrl+q", "quit", "Quit", tooltip="Quit (asks while chats are live)", priority=True,
                show=False, id="quit"),
        # From every screen (not over a dialog): the desk's other views.
        Binding("f2", "open_view('tickets')", "Tickets", id="tickets"),
        Binding("f3", "open_view('history')", "History", id="history"),
        Binding("f4", "open_view('stats')", "Stats", tooltip="Statistics for a day", id="stats"),
        # Moving the focus is a priority key: it happens before the next key is read, so the
        # words typed after a tab (a fast typist, a paste) land in the field tab moved to.
        Binding("tab", "focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Previous field", show=False, priority=True),
    ]

    #: The connection to the desk, as the desk bar and the banner show it.
    status: reactive[Status] = reactive(Status, always_update=True)

    def __init__(
        self,
        settings: Settings,
        *,
        librarian_id: str,
        name: str,
        url: str = "",
        token: str = "",
        embedded: EmbeddedDesk | None = None,
        data_dir: Path | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.librarian_id = librarian_id
        self.librarian_name = name
        self.url = url
        self.token = token
        self.embedded = embedded
        self.data_dir = data_dir
        self._now = now
        self.model = DeskModel(librarian_id)
        self.drafts = Drafts(data_dir / "drafts.json" if data_dir else None)
        self.client: DeskClient | None = None
        self._inbox: list[p.Frame] = []
        self._flush_timer: Timer | None = None
        self._typing_sent: dict[int, float] = {}
        self._gc_frozen = False
        self.export_dir: Path | None = None  # None: ~/libchat-exports
        #: Dialog saves on their way to the desk, by dialog key (``note:<chat id>``).
        self.submissions: dict[str, Submission] = {}
        self._unannounced = 0
        self._toast_quiet_until = 0.0
        self._toast_timer: Timer | None = None
        self._dropped: set[int] = set()  # chats known to be reconnecting (rung once per drop)
        self._tickets_seen: set[int] = set()
        self._offers_seen: set[tuple[int, datetime]] = set()  # transfer offers to me, told once
        self._realerted: set[int] = set()  # waiting chats that alerted again, once each
        for theme in console_themes():
            self.register_theme(theme)
        if not settings.appearance.animations:  # else TEXTUAL_ANIMATIONS decides, as Textual does
            self.animation_level = "none"

    # --- set-up ----------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {
            "badge-new": "#e6c200",
            "badge-active": "#3fb950",
            "badge-reconnecting": "#ff8c1a",
            "badge-ended": "#f85149",
        }

    def on_mount(self) -> None:
        # Fewer young-generation collections than the default 700, each short enough (~6 ms
        # here) not to show in a frame: the p99 of a busy desk is GC pauses (docs/performance.md).
        gc.set_threshold(20_000, 50, 1_000)
        wanted = self.settings.appearance.theme
        if wanted in self.available_themes:
            self.theme = wanted
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))
        self.push_screen(DashboardScreen())
        if wanted not in self.available_themes:  # said once the dashboard is up, over it
            self.call_after_refresh(
                self.notify, f"[appearance] theme {wanted!r} is not a theme; using {self.theme}. "
                f"Known: {', '.join(sorted(self.available_themes))}.", title="Settings",
                severity="warning", timeout=15, markup=False)
        notice = name_notice(self.settings, self.librarian_name, self.data_dir)
        if notice:  # "Librarian" (no name set): how to set one, said once
            self.call_after_refresh(self.notify, notice, title="Your name", timeout=20, markup=False)
        self.set_interval(1.0, self.drafts.save)
        self.set_interval(1.0, self._tick)  # the app's: it ticks under dialogs too
        self.run_worker(self._connect(), name="connection", exit_on_error=False)

    async def _connect(self) -> None:
        if self.embedded is not None:
            self._set_status(Status("connecting", detail="starting the demo desk"))
            await self.embedded.start()
            self.url, self.token = self.embedded.url, self.embedded.token
        self.client = DeskClient(
            self.url, self.token, librarian_id=self.librarian_id, name=self.librarian_name,
            on_frame=self._on_frame, on_status=self._set_status,
            outbox=self.data_dir / "outbox.json" if self.data_dir else None,
        )
        await self.client.run()

    def worker_failed(self, worker: Worker[Any]) -> None:
        """Every failed worker ends here: the librarian sees it; the console goes on."""
        error = worker.error
        what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        self.log.error(f"worker {worker.name!r} failed: {what}")
        self.notify(f"Something went wrong ({what}). The console goes on; try again.",
                    title="Error", severity="error", timeout=10, markup=False)

    async def on_unmount(self) -> None:
        self.drafts.save()
        if self.client is not None:
            await self.client.stop()
        if self.embedded is not None:
            await self.embedded.stop()

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """A dialog opens clear of toasts: what they said was on screen before it (the desk
        bar and the rows keep the counts); a toast raised in the dialog still shows."""
        if isinstance(screen, ModalScreen):
            self.clear_notifications()
        return super().push_screen(screen, *args, **kwargs)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every alert goes to the dashboard's alert line (its own line, covering nothing) as
        well as to Textual's notifications, which show as toasts on the other screens."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
        dashboard = self.dashboard
        if dashboard is not None and dashboard.is_mounted:
            text = message if not markup else Content.from_markup(message).plain
            dashboard.alerts.add(text, title=title, severity=severity,
                                 timeout=self.NOTIFICATION_TIMEOUT if timeout is None else timeout,
                                 at=self.now())

    def _tick(self) -> None:
        dashboard = self.dashboard
        if dashboard is not None:
            dashboard.tick()
        self._realert()

    def _offers_to_me(self, chat_ids: Iterable[int]) -> None:
        """A colleague offers me a chat: say so once, with the key that answers."""
        for chat_id in chat_ids:
            chat = self.model.chats.get(chat_id)
            offer = None if chat is None else chat.transfer
            if chat is None or offer is None or offer.to_id != self.librarian_id:
                continue
            key = (chat_id, offer.offered_at)
            if key in self._offers_seen:
                continue
            self._offers_seen.add(key)
            if self.settings.appearance.bell_new_chat:
                self.bell()
            self.notify(f"{clean_name(offer.from_name, 40)} offers you the chat with "
                        f"{clean_name(chat.patron_name, 40)}. Open it and press ctrl+g to take it or "
                        "decline.", title="Transfer", timeout=15, markup=False)

    def _realert(self) -> None:
        """Chats waiting longer than the desk's `realert_seconds` alert me again, once each
        (not while I am away, and only in the departments I monitor)."""
        limit = float((self.client.hello if self.client else {}).get("realert_seconds") or 0)
        if not limit or self.client is None or self.client.presence == "away":
            return
        now = self.now()
        for chat in self.model.chats.values():
            if (chat.state is ChatState.WAITING and chat.id not in self._realerted
                    and self.model.mine_to_see(chat) and (now - chat.queue_key[0]).total_seconds() > limit):
                self._realerted.add(chat.id)
                if self.settings.appearance.bell_new_chat:
                    self.bell()
                self._toast(f"{clean_name(chat.patron_name, 40)} has waited over {int(limit // 60) or 1} "
                            f"min{'' if chat.department in ('', 'General') else ' in ' + chat.department}"
                            ". ctrl+j takes the first in line.")

    def now(self) -> datetime:
        return self._now() if self._now is not None else datetime.now(UTC)

    @property
    def dashboard(self) -> DashboardScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    # --- frames in -------------------------------------------------------------------

    def _on_frame(self, frame: p.Frame) -> None:
        self._inbox.append(frame)
        if isinstance(frame, p.Snapshot) and not frame.more:
            self.apply_now()  # the whole desk at once: paint it now, not after the batching timer
        elif self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Apply every frame that arrived, as one batch."""
        self._flush_timer = None
        if not self._inbox:
            return
        frames, self._inbox = self._inbox, []
        changes = self.model.apply(frames)
        if changes.snapshot and not self._gc_frozen:
            # Start-up garbage (imports, widgets, the first snapshot) is long-lived: move it out
            # of the collector's sight so later collections stay short (see docs/performance.md).
            gc.freeze()
            self._gc_frozen = True
        for screen in self.screen_stack:
            screen.post_message(DeskChanged(changes))
        if changes.new_waiting:
            self._announce(changes.new_waiting)
        if changes.alerts and not changes.snapshot:
            self._alert_elsewhere(changes.alerts)
        self._offers_to_me(changes.chats)
        self._ring_for(changes.chats, changes.tickets, quiet=changes.snapshot)

    def _alert_elsewhere(self, alerts: list[tuple[int, str]]) -> None:
        """What happened in my chats that I am not looking at: one alert per batch."""
        dashboard = self.dashboard
        unseen = [(chat_id, text) for chat_id, text in alerts
                  if dashboard is None or not chat_id or not dashboard.in_view(chat_id)
                  or self.screen is not dashboard]
        if not unseen:
            return
        chat_id, text = unseen[0]
        more = f" (and {len(unseen) - 1} more)" if len(unseen) > 1 else ""
        self.notify(f"{clean(text, single_line=True, max_len=120)}{more}",
                    title="Other chat" if chat_id else "Offline form", markup=False, timeout=TOAST_SECONDS)

    def _ring_for(self, chat_ids: Iterable[int], tickets: list[dict[str, Any]], *, quiet: bool) -> None:
        """Ring once if a patron of a chat of ours (or a waiting one) dropped, or a patron
        left a ticket, as `[appearance] bell_drop` / `bell_ticket` say. A snapshot only
        records what is already so: it tells of no new event."""
        ring = False
        for chat_id in chat_ids:
            chat = self.model.chats.get(chat_id)
            if chat is None or chat.state is not ChatState.RECONNECTING:
                self._dropped.discard(chat_id)
            elif chat_id not in self._dropped:
                self._dropped.add(chat_id)
                ours = chat.owner is None or chat.owner.id == self.librarian_id
                ring |= ours and not quiet and self.settings.appearance.bell_drop
        for ticket in tickets:
            ticket_id = ticket.get("id")
            if isinstance(ticket_id, int) and ticket_id not in self._tickets_seen:
                self._tickets_seen.add(ticket_id)
                ring |= (ticket.get("source") == "patron" and ticket.get("status", "open") == "open"
                         and self.settings.appearance.bell_ticket)
        if ring:
            self.bell()

    def apply_now(self, _result: object = None) -> None:
        """Apply frames that arrived before a command's ack (they precede it on the wire)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
        self.flush()

    def _announce(self, chat_ids: list[int]) -> None:
        """Ring, and toast new chats: one toast at a time ("3 new chats waiting"), none over
        a dialog (the desk bar carries the count)."""
        if self.client is not None and self.client.presence == "away":
            return  # away: no new-chat alerts (the desk bar still counts them)
        chats = [self.model.chats[i] for i in chat_ids
                 if i in self.model.chats and self.model.mine_to_see(self.model.chats[i])]
        if not chats:
            return
        if self.settings.appearance.bell_new_chat:
            self.bell()
        self._unannounced += len(chats)
        if time.monotonic() < self._toast_quiet_until or isinstance(self.screen, ModalScreen):
            if self._toast_timer is None:
                self._toast_timer = self.set_timer(TOAST_SECONDS, self._toast_new_chats)
            return
        if len(chats) == 1:
            chat = chats[0]
            self._toast(f"New chat from {clean_name(chat.patron_name, 40)}: "
                        f"{clean(chat.question, single_line=True, max_len=80)}")
        else:
            self._toast(f"{len(chats)} new chats waiting.")

    def _toast_new_chats(self) -> None:
        self._toast_timer = None
        if not self._unannounced:
            return
        if isinstance(self.screen, ModalScreen):  # still in a dialog: try again later
            self._toast_timer = self.set_timer(TOAST_SECONDS, self._toast_new_chats)
            return
        waiting, _active = self.model.counts()
        if waiting:
            self._toast(f"{waiting} new chat{'s' if waiting != 1 else ''} waiting.")
        self._unannounced = 0

    def _toast(self, text: str) -> None:
        self._unannounced = 0
        self._toast_quiet_until = time.monotonic() + TOAST_SECONDS
        self.notify(text, title="New chat", markup=False, timeout=TOAST_SECONDS)

    # --- connection ------------------------------------------------------------------

    def _set_status(self, status: Status) -> None:
        previous = self.status
        self.status = status
        if status.state == "online" and previous.state == "offline":
            resync = "; missed events replayed" if status.resync == "replay" else \
                "; the desk sent a full snapshot"
            self.notify(f"Reconnected to the desk{resync}.", markup=False)
        if status.state == "failed":
            self.notify(status.detail, title="Cannot connect", severity="error", timeout=30, markup=False)
        if status.outbox_error and status.outbox_error != previous.outbox_error:
            self.notify(f"Queued commands are not safe on disk: {status.outbox_error}. They are "
                        "still sent when the desk is back, but would be lost if the console closed.",
                        title="Cannot save", severity="error", timeout=20, markup=False)

    def connection_text(self) -> str:
        state = self.status.state
        queued = self.client.queued if self.client else 0
        extra = f" ({queued} queued)" if queued else ""
        if self.status.outbox_error:
            extra += " ⚠ not saved"
        return {"online": "● online", "connecting": "… connecting", "offline": "✖ offline",
                "failed": "✖ not connected"}.get(state, state) + extra

    def banner_text(self) -> str:
        status = self.status
        if status.state == "offline":  # where, and why: "attempt 5" alone tells nothing
            detail = "" if status.detail in ("", "connection lost") else status.detail
            where = detail if self.url and self.url in detail else \
                ": ".join(x for x in (self.url, detail) if x)
            lead = ("Connection lost — reconnecting" if self.client is not None and self.client.hello
                    else "Cannot reach the desk — retrying")
            return (f"{lead} (attempt {status.attempt}): {where}. You can read; what you send is "
                    "queued and delivered once the desk is back.")
        if status.state == "failed":
            return f"Not connected: {status.detail}"
        if status.state == "connecting" and status.detail:
            return f"Connecting: {status.detail}"
        return ""

    # --- commands --------------------------------------------------------------------

    async def request(self, type_: str, *, quiet: bool = False, **fields: Any) -> dict[str, Any] | None:
        """Run a desk command; on refusal show the desk's message and return None."""
        if self.client is None:
            if not quiet:
                self.notify("Not connected to the desk yet.", severity="warning", markup=False)
            return None
        try:
            result = await self.client.command(type_, **fields)
        except CommandError as exc:
            if not quiet or exc.code != "offline":
                self.notify(exc.message, title="Refused" if exc.code != "offline" else "Offline",
                            severity="error", markup=False)
            return None
        self.apply_now()
        return result

    def typing(self, chat_id: int) -> None:
        now = time.monotonic()
        if self.client is not None and now - self._typing_sent.get(chat_id, 0.0) > TYPING_EVERY:
            self._typing_sent[chat_id] = now
            self.client.signal("typing", chat_id=chat_id)

    # --- screens ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_view":  # not from inside a dialog: it would stack over it
            return not isinstance(self.screen, ModalScreen)
        if action in ("focus_next", "focus_previous"):  # tab inserts an offered canned message
            from .widgets.composer import Composer

            focused = self.focused
            return not (isinstance(focused, Composer) and focused.offered)
        return True

    def action_open_view(self, kind: str) -> None:
        """Tickets, History or Stats: brought to the front if already open, else opened."""
        from .screens.history import HistoryScreen
        from .screens.stats import StatsScreen
        from .screens.tickets import TicketsScreen

        kinds: dict[str, type[Screen[Any]]] = {"tickets": TicketsScreen, "history": HistoryScreen,
                                               "stats": StatsScreen}
        wanted = kinds[kind]
        if isinstance(self.screen, wanted):
            return
        while not isinstance(self.screen, DashboardScreen) and len(self.screen_stack) > 2:
            self.pop_screen()  # one of these views at a time, over the dashboard
        self.open_after_chat(kind, None)

    async def action_quit(self) -> None:
        """Quit; first ask if chats are live or commands are still queued."""
        warning = self.quit_warning()
        if not warning:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        if not isinstance(self.screen, Confirm):
            self.push_screen(Confirm(f"{warning} Quit anyway? (y/n)"), answered)

    def quit_warning(self) -> str:
        """What quitting now would leave behind, in words ("" if nothing)."""
        parts = []
        live = [c for c in self.model.chats.values() if c.owner is not None
                and c.owner.id == self.librarian_id and c.state.value in ("active", "reconnecting")]
        if live:
            parts.append(f"You have {len(live)} live chat{'s' if len(live) != 1 else ''}.")
        queued = self.client.queued_frames() if self.client else []
        if queued:
            messages = sum(1 for f in queued if isinstance(f, p.Send))
            what = f"{messages} message{'s' if messages != 1 else ''}" if messages == len(queued) \
                else f"{len(queued)} command{'s' if len(queued) != 1 else ''}"
            parts.append(f"{what} not yet delivered to the desk (kept and sent when you start "
                         "again).")
        return " ".join(parts)

    def has_screen_for(self, kind: str) -> bool:
        return kind in SCREENS

    def open_after_chat(self, kind: str, chat: Chat | None) -> None:
        opener = SCREENS.get(kind)
        if opener is not None:
            opener(self, chat)

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(keys, description, binding id) for every binding, as currently mapped."""
        from .widgets.chat_list import ChatList
        from .widgets.patron_panel import PatronPanel

        rows = []
        keymap = dict(self._keymap) if hasattr(self, "_keymap") else {}
        bindings: list[Binding] = [b for b in (*ChatList.BINDINGS, *dashboard_bindings(),
                                               *PatronPanel.BINDINGS, *self.BINDINGS)
                                   if isinstance(b, Binding)]
        for binding in bindings:
            keys = keymap.get(binding.id or "", binding.key)
            rows.append((keys.replace(",", " / "), binding.tooltip or binding.description, binding.id or ""))
        rows.append(("enter (in the reply)", "Send the message", "—"))
        rows.append(("/ (at the start of the reply)", "Offer the canned messages whose names match", "—"))
        rows.append(("ctrl+s (in a dialog)", "Save or do what the dialog is for", "—"))
        rows.append(("esc (in a dialog)", "Cancel; asks first if there is something to lose", "—"))
        rows.append(("ctrl+p", "Command palette: every action that applies now", "—"))
        return rows

    def show_help(self) -> None:
        self.push_screen(KeyHelp(self.key_rows()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The app's commands, plus the dashboard's, only while the dashboard is in front:
        from History, Tickets or a record they would act on a chat nobody can see."""
        # Of Textual's own, Quit (ours asks first) and Theme (the high-contrast and colour-blind
        # themes, docs/accessibility.md); Keys comes from our keys, and Maximize, Screenshot and
        # Copy are not a librarian's commands.
        yield from (command for command in super().get_system_commands(screen)
                    if command.title in ("Quit", "Theme"))
        if not isinstance(screen, ModalScreen):
            for binding in self.BINDINGS:
                if isinstance(binding, Binding) and binding.action.startswith("open_view"):
                    yield SystemCommand(binding.description, f"{binding.tooltip or binding.description}"
                                        f" ({binding.key})", lambda a=binding.action: self.run_action(a))
        dashboard = screen if isinstance(screen, DashboardScreen) else None
        if dashboard is None:
            return
        for binding in dashboard_bindings():
            if binding.action == "back":
                continue
            if dashboard.check_action(binding.action, ()) is not True:
                continue
            explained = f"{binding.tooltip or binding.description} ({binding.key})"
            yield SystemCommand(binding.description, explained,
                                lambda a=binding.action: self.run_action(a, dashboard))
        chat = dashboard.chat
        if chat is not None and dashboard.check_action("accept_open", ()):
            verb = "Accept" if chat.state.value == "waiting" else "Open"
            yield SystemCommand(f"{verb} chat with {clean_name(chat.patron_name, 40)}",
                                "Accept or open the highlighted chat (enter)",
                                lambda: self.run_action("accept_open", dashboard))
