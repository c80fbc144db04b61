"""Add to Reference Analytics: pick a dataset, fill its fields; date, duration, wait and
the first question come from the chat. A chat is added to a dataset once: opening it
again edits the existing entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Select, TextArea

from ...analytics import AnalyticsError, Dataset, Field, validate_entry
from ...domain import Chat
from ...sanitize import clean
from ..badges import duration, hm

if TYPE_CHECKING:
    from ..app import LibChatApp


def field_widget(field: Field, value: Any) -> Widget:
    """The input for one dataset field, holding `value`."""
    wid = f"ra-{field.name}"
    if field.kind in ("choice", "scale"):
        if field.kind == "scale":
            meanings = dict(field.descriptions)
            low, high = field.min or 1, field.max or 6
            options = [(f"{n} — {meanings.get(str(n), '')}".rstrip(" —"), str(n))
                       for n in range(low, high + 1)]
        else:
            options = [(o, o) for o in field.options]
        current = str(value) if value not in (None, "") else Select.NULL
        return Select(options, value=current, id=wid, prompt=f"Choose {field.label.lower()}…",
                      allow_blank=True)
    if field.kind == "text":
        return TextArea(str(value or ""), id=wid, soft_wrap=True, classes="ra-text")
    text = ", ".join(value) if isinstance(value, list) else str(value or "")
    placeholder = "comma, separated, tags" if field.kind == "multi" else ""
    return Input(text, id=wid, placeholder=placeholder)


def widget_value(widget: Widget) -> Any:
    if isinstance(widget, Select):
        return None if widget.value is Select.NULL else widget.value
    if isinstance(widget, TextArea):
        return widget.text
    assert isinstance(widget, Input)
    return widget.value


class AnalyticsScreen(ModalScreen[bool]):
    """The Reference Analytics form for one chat."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save entry", priority=True, id="analytics-save"),
        Binding("escape", "dismiss(False)", "Cancel", id="analytics-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat, datasets: dict[str, Dataset]) -> None:
        super().__init__()
        self.chat = chat
        self.datasets = datasets
        self.existing: dict[str, dict[str, Any]] = {}
        self.dataset = next(iter(datasets))

    def compose(self) -> ComposeResult:
        chat = self.chat
        end = chat.ended_at or self.app.now()
        start = chat.accepted_at or chat.created_at
        wait = "not answered" if chat.wait_seconds is None else duration(chat.wait_seconds)
        with VerticalScroll(id="analytics-box", classes="dialog"):
            yield Label(f"Add chat #{chat.id} to Reference Analytics", markup=False,
                        classes="dialog-title")
            yield Select([(name, name) for name in self.datasets], value=self.dataset,
                         allow_blank=False, id="ra-dataset")
            yield Label(
                f"{chat.created_at.astimezone():%Y-%m-%d} {hm(chat.created_at)} · duration "
                f"{duration((end - start).total_seconds())} · wait {wait}\n"
                f"First question: {clean(chat.question, single_line=True, max_len=200)}",
                markup=False, id="ra-auto", classes="dialog-keys")
            yield Vertical(id="ra-fields")
            yield Label("", id="ra-error", markup=False, classes="dialog-error")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._load(), group="analytics")

    async def _load(self) -> None:
        data = await self.app.request("transcript", quiet=True, chat_id=self.chat.id)
        for entry in (data or {}).get("analytics", []):
            self.existing[entry["dataset"]] = entry["fields"]
        await self._build()

    async def _build(self) -> None:
        box = self.query_one("#ra-fields", Vertical)
        await box.remove_children()
        values = self.existing.get(self.dataset, {})
        widgets: list[Widget] = []
        if values:
            widgets.append(Label("Already added: editing the existing entry.", markup=False,
                                 classes="dialog-keys"))
        for field in self.datasets[self.dataset].fields:
            mark = " *" if field.required else ""
            widgets.append(Label(f"{field.label}{mark}", markup=False, classes="ra-label"))
            widgets.append(field_widget(field, values.get(field.name)))
        await box.mount_all(widgets)

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "ra-dataset" and event.value != self.dataset:
            self.dataset = str(event.value)
            await self._build()

    def _error(self, text: str) -> None:
        self.query_one("#ra-error", Label).update(text)

    def action_save(self) -> None:
        dataset = self.datasets[self.dataset]
        fields = {f.name: widget_value(self.query_one(f"#ra-{f.name}", Widget)) for f in dataset.fields}
        try:
            validate_entry(dataset, fields)
        except AnalyticsError as exc:
            self._error(str(exc))
            self.query_one(f"#ra-{exc.field}", Widget).focus()
            return
        self.run_worker(self._save(fields), group="analytics")

    async def _save(self, fields: dict[str, Any]) -> None:
        result = await self.app.request("save_analytics", chat_id=self.chat.id, dataset=self.dataset,
                                        fields=fields)
        if result is None:
            self._error("Not saved (see the message).")
            return
        self.app.notify(f"Added to Reference Analytics ({self.dataset}).", markup=False)
        self.dismiss(True)
