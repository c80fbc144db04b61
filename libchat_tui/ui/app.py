"""The console app: wires the connection, the model, the screens and the keys.

Frames from the desk arrive through `DeskClient` into an inbox and are applied to the
`DeskModel` in batches (a burst of events costs one redraw, not one per event); the
dashboard then redraws only what the batch changed.
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
from textual.screen import Screen
from textual.timer import Timer

from ..client import CommandError, DeskClient, Status
from ..config import Settings
from ..domain import Chat
from ..drafts import Drafts
from ..model import DeskModel
from ..sanitize import clean, clean_name
from .after_chat import SCREENS
from .embedded import EmbeddedDesk
from .screens.dashboard import DashboardScreen
from .screens.help import KeyHelp

FLUSH_SECONDS = 0.05  # how long frames gather before one batch is applied
TYPING_EVERY = 2.0


class LibChatApp(App[None]):
    """libchat-tui: the librarian's console."""

    CSS_PATH = "app.tcss"
    TITLE = "libchat-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not in the footer (no room at 120 columns); in the help screen and the palette.
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False, id="quit"),
    ]

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
        self.status = Status()
        self._inbox: list[dict[str, Any]] = []
        self._flush_timer: Timer | None = None
        self._typing_sent: dict[int, float] = {}
        self._gc_frozen = False
        self.export_dir: Path | None = None  # None: ~/libchat-exports

    # --- set-up ----------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {
            "badge-new": "#e6c200",
            "badge-active": "#3fb950",
            "badge-reconnecting": "#ff8c1a",
            "badge-ended": "#f85149",
        }

    def on_mount(self) -> None:
        # Fewer, larger young-generation collections: the p99 of a busy desk is GC pauses.
        gc.set_threshold(50_000, 50, 1_000)
        if self.settings.appearance.theme in self.available_themes:
            self.theme = self.settings.appearance.theme
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))
        self.push_screen(DashboardScreen())
        self.set_interval(1.0, self.drafts.save)
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

    async def on_unmount(self) -> None:
        self.drafts.save()
        if self.client is not None:
            await self.client.stop()
        if self.embedded is not None:
            await self.embedded.stop()

    def now(self) -> datetime:
        return self._now() if self._now is not None else datetime.now(UTC)

    @property
    def dashboard(self) -> DashboardScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    # --- frames in -------------------------------------------------------------------

    def _on_frame(self, frame: dict[str, Any]) -> None:
        self._inbox.append(frame)
        if self._flush_timer is None:
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
        dashboard = self.dashboard
        if dashboard is not None:
            dashboard.apply_changes(changes)
        for screen in self.screen_stack:
            handler = getattr(screen, "desk_changed", None)
            if handler is not None and screen is not dashboard:
                handler(changes)
        if changes.new_waiting:
            self._announce(changes.new_waiting)

    def apply_now(self, _result: object = None) -> None:
        """Apply frames that arrived before a command's ack (they precede it on the wire)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
        self.flush()

    def _announce(self, chat_ids: list[int]) -> None:
        chats = [self.model.chats[i] for i in chat_ids if i in self.model.chats]
        if not chats:
            return
        if self.settings.appearance.bell:
            self.bell()
        if len(chats) == 1:
            chat = chats[0]
            text = (f"New chat from {clean_name(chat.patron_name, 40)}: "
                    f"{clean(chat.question, single_line=True, max_len=80)}")
        else:
            text = f"{len(chats)} new chats are waiting."
        self.notify(text, title="New chat", markup=False, timeout=4)

    # --- connection ------------------------------------------------------------------

    def _set_status(self, status: Status) -> None:
        previous = self.status.state
        self.status = status
        if status.state == "online" and previous == "offline":
            resync = "; missed events replayed" if status.resync == "replay" else \
                "; the desk sent a full snapshot"
            self.notify(f"Reconnected to the desk{resync}.", markup=False)
        if status.state == "failed":
            self.notify(status.detail, title="Cannot connect", severity="error", timeout=30, markup=False)
        dashboard = self.dashboard
        if dashboard is not None and dashboard.is_mounted:
            dashboard.refresh_desk_bar()

    def connection_text(self) -> str:
        state = self.status.state
        queued = self.client.queued if self.client else 0
        extra = f" ({queued} queued)" if queued else ""
        return {"online": "● online", "connecting": "… connecting", "offline": "✖ offline",
                "failed": "✖ not connected"}.get(state, state) + extra

    def banner_text(self) -> str:
        status = self.status
        if status.state == "offline":
            return (f"Connection lost — reconnecting (attempt {status.attempt}). You can read; "
                    "what you send is queued and delivered once the desk is back.")
        if status.state == "failed":
            return f"Not connected: {status.detail}"
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

    def has_screen_for(self, kind: str) -> bool:
        return kind in SCREENS

    def open_after_chat(self, kind: str, chat: Chat | None) -> None:
        opener = SCREENS.get(kind)
        if opener is not None:
            opener(self, chat)

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(keys, description, binding id) for every binding, as currently mapped."""
        from .widgets.chat_list import ChatList

        rows = []
        keymap = dict(self._keymap) if hasattr(self, "_keymap") else {}
        bindings: list[Binding] = [b for b in (*ChatList.BINDINGS, *DashboardScreen.BINDINGS,
                                                *self.BINDINGS) if isinstance(b, Binding)]
        for binding in bindings:
            keys = keymap.get(binding.id or "", binding.key)
            rows.append((keys.replace(",", " / "), binding.tooltip or binding.description, binding.id or ""))
        rows.append(("enter (in the composer)", "Send the message", "—"))
        rows.append(("ctrl+p", "Command palette: every action that applies now", "—"))
        return rows

    def show_help(self) -> None:
        self.push_screen(KeyHelp(self.key_rows()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        dashboard = self.dashboard
        if dashboard is None:
            return
        for binding in DashboardScreen.BINDINGS:
            if not isinstance(binding, Binding) or binding.action == "back":
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
