"""Add to Reference Analytics: pick a dataset, fill its fields, save.

The form is built from the dataset's fields (sent by the desk in the `hello` ack): a
choice is a Select, a scale a list of its levels with their meaning (the READ Scale),
tags an Input of comma-separated words, free text a TextArea. Date/time, duration, wait
and the first question come from the chat and are shown read-only. A chat is added to a
dataset once: opening the form again loads that entry to edit. Every entry is checked
here first (the same `validate_entry` the desk runs) so a mistake is named at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static, TextArea

from ...analytics import AnalyticsError, Dataset, Field, scale_levels, scale_meanings, validate_entry
from ...domain import Chat
from ...sanitize import clean
from ..badges import duration, hm
from ..messages import ReportsWorkerFailures
from ..widgets.footer import KeyFooter
from ..widgets.toggles import StateRadioButton
from .confirm import Confirm
from .dialog import SavesOnce

if TYPE_CHECKING:
    from ..app import LibChatApp

MAX_LISTED_LEVELS = 10  # a wider scale is typed as a number


def field_widget(field: Field, value: Any) -> Widget:
    """The input for one dataset field, holding `value` (an existing entry's, or None)."""
    wid = f"ra-{field.name}"
    if field.kind == "choice":
        current = str(value) if value in field.options else Select.NULL
        # Option prompts given as str are parsed as markup; settings text is shown as written.
        return Select([(Text(o), o) for o in field.options], value=current, id=wid, allow_blank=True,
                      prompt=f"Choose {field.label.lower()}…")
    if field.kind == "scale" and len(scale_levels(field)) <= MAX_LISTED_LEVELS:
        meaning = scale_meanings(field)
        buttons = [StateRadioButton(Content(f"{n}  {meaning.get(str(n), '')}".rstrip()),
                               value=str(n) == str(value), id=f"{wid}-{n}")
                   for n in scale_levels(field)]
        return RadioSet(*buttons, id=wid, classes="ra-scale")
    if field.kind == "text":
        return TextArea(str(value or ""), id=wid, soft_wrap=True, classes="ra-text")
    if field.kind == "multi":
        text = ", ".join(value) if isinstance(value, list) else str(value or "")
        return Input(text, id=wid, placeholder="comma, separated, tags")
    placeholder = f"a whole number from {scale_levels(field)[0]} to {scale_levels(field)[-1]}" \
        if field.kind == "scale" or (field.min is not None and field.max is not None) else "a whole number"
    return Input("" if value is None else str(value), id=wid, placeholder=placeholder, type="integer")


def widget_value(field: Field, widget: Widget) -> Any:
    """What the librarian gave for a field, as validate_entry takes it (None for nothing)."""
    if isinstance(widget, Select):
        return None if widget.value is Select.NULL else widget.value
    if isinstance(widget, RadioSet):
        index = widget.pressed_index
        return None if index < 0 else scale_levels(field)[index]
    if isinstance(widget, TextArea):
        return widget.text
    assert isinstance(widget, Input)
    return widget.value


class AnalyticsScreen(ReportsWorkerFailures, SavesOnce, ModalScreen[bool]):
    """The Reference Analytics form for one chat; dismisses True once the entry is stored."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save entry", id="analytics-save"),
        Binding("escape", "cancel", "Cancel", id="analytics-cancel"),
    ]

    app: LibChatApp

    def __init__(self, chat: Chat, datasets: dict[str, Dataset]) -> None:
        super().__init__()
        self.chat = chat
        self.datasets = datasets
        self.dataset = next(iter(datasets))
        self.existing: dict[str, dict[str, Any]] = {}  # dataset -> the chat's stored entry
        self.typed: dict[str, dict[str, Any]] = {}  # dataset -> values typed before switching away
        self.ready = False
        self.begin_once()
        self.initial: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="analytics-box", classes="dialog"):
            yield Label(f"Add chat #{self.chat.id} to Reference Analytics", markup=False,
                        classes="dialog-title")
            with Horizontal(id="analytics-dataset-row"):
                yield Label("Dataset", markup=False, classes="field-label")
                yield Select([(Text(name), name) for name in self.datasets], value=self.dataset,
                             allow_blank=False, id="analytics-dataset")
            yield Static(self._auto_text(), id="analytics-auto", markup=False)
            yield Label("Loading the chat's entries…", id="analytics-status", markup=False,
                        classes="dialog-hint")
            yield Vertical(id="analytics-fields")
            yield Label("", id="analytics-error", markup=False, classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save entry  ctrl+s", id="analytics-save-button", variant="primary")
                yield Button("Cancel  esc", id="analytics-cancel-button")
        yield KeyFooter()

    def _auto_text(self) -> str:
        """The fields the desk fills in from the chat, as they will be stored."""
        chat = self.chat
        end = chat.ended_at or self.app.now()
        length = duration((end - (chat.accepted_at or chat.created_at)).total_seconds())
        wait = "never accepted" if chat.wait_seconds is None else duration(chat.wait_seconds)
        question = clean(chat.question, single_line=True, max_len=300)
        return (f"Filled in from the chat:  {chat.created_at.astimezone():%Y-%m-%d} "
                f"{hm(chat.created_at)} · duration {length} · wait {wait}\n"
                f"First question: {question}")

    def on_mount(self) -> None:
        self.query_one("#analytics-dataset").focus()
        self.replay_early_keys()
        self.run_worker(self._load(), group="analytics-load", exit_on_error=False)

    async def _load(self) -> None:
        data = await self.app.request("transcript", quiet=True, chat_id=self.chat.id)
        for entry in (data or {}).get("analytics", []):
            self.existing[str(entry["dataset"])] = dict(entry["fields"])
        await self._build()
        self.initial = self._values()
        self.ready = True
        if data is None and self.chat.analytics:
            self._error("The stored entries could not be loaded; saving replaces this chat's entry.")

    async def _build(self) -> None:
        box = self.query_one("#analytics-fields", Vertical)
        await box.remove_children()
        values = self.typed.get(self.dataset) or self.existing.get(self.dataset, {})
        editing = self.dataset in self.existing or self.dataset in self.chat.analytics
        self.query_one("#analytics-status", Label).update(
            f"Already in {self.dataset}: editing the existing entry." if editing else
            f"A new entry in {self.dataset}. Fields marked * are required.")
        widgets: list[Widget] = []
        for field in self.datasets[self.dataset].fields:
            mark = " *" if field.required else ""
            widgets.append(Label(f"{field.label}{mark}", markup=False, classes="ra-label"))
            if field.kind == "scale" and len(scale_levels(field)) <= MAX_LISTED_LEVELS:
                low, high = scale_levels(field)[0], scale_levels(field)[-1]
                widgets.append(Label(f"↑/↓ then space, or type {low} to {high}" if high < 10 else
                                     "↑/↓ then space to choose", markup=False, classes="dialog-hint"))
            widgets.append(field_widget(field, values.get(field.name)))
            widgets.append(Label("", id=f"ra-{field.name}-error", markup=False, classes="field-error"))
        await box.mount_all(widgets)

    @on(Select.Changed, "#analytics-dataset")
    async def _dataset_chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.dataset or not self.ready:
            return
        self.typed[self.dataset] = self._values()
        self.dataset = str(event.value)
        self._error("")
        await self._build()

    def _values(self) -> dict[str, Any]:
        dataset = self.datasets[self.dataset]
        return {f.name: widget_value(f, self.query_one(f"#ra-{f.name}", Widget)) for f in dataset.fields}

    def _field(self, name: str) -> Field | None:
        return next((f for f in self.datasets[self.dataset].fields if f.name == name), None)

    # --- keys for a scale: type the level -----------------------------------------------

    def on_key(self, event: events.Key) -> None:
        SavesOnce.on_key(self, event)
        radio = self.focused
        if not isinstance(radio, RadioSet) or not event.character or not event.character.isdigit():
            return
        event.stop()
        field = self._field((radio.id or "").removeprefix("ra-"))
        if field is None:
            return
        level = int(event.character)
        if level not in scale_levels(field):
            low, high = scale_levels(field)[0], scale_levels(field)[-1]
            self._field_error(field.name, f"{field.label} must be a whole number from {low} to {high}; "
                                          f"{level} is not a level.")
            return
        self.query_one(f"#ra-{field.name}-{level}", RadioButton).value = True
        self._field_error(field.name, "")

    # --- messages -------------------------------------------------------------------------

    def _error(self, text: str) -> None:
        self.query_one("#analytics-error", Label).update(text)

    def _field_error(self, name: str, text: str) -> None:
        for label in self.query(f"#ra-{name}-error").results(Label):
            label.update(text)
            label.set_class(bool(text), "-shown")

    def _clear_errors(self) -> None:
        for label in self.query(".field-error").results(Label):
            label.update("")
            label.remove_class("-shown")
        self._error("")

    @on(Input.Changed)
    @on(Select.Changed)
    @on(RadioSet.Changed)
    @on(TextArea.Changed)
    def _edited(self, event: Input.Changed | Select.Changed | RadioSet.Changed | TextArea.Changed) -> None:
        widget_id = event.control.id
        if widget_id and widget_id.startswith("ra-"):
            self._field_error(widget_id.removeprefix("ra-"), "")
            self._error("")  # "Not saved: …" spoke of the last try: an edit makes it stale

    # --- actions --------------------------------------------------------------------------

    @on(Button.Pressed, "#analytics-save-button")
    def action_save(self) -> None:
        if self.saving or self.closing:
            return
        if not self.ready:
            self._error("Still loading this chat's entries; try again in a moment.")
            return
        dataset = self.datasets[self.dataset]
        fields = self._values()
        self._clear_errors()
        try:
            validate_entry(dataset, fields)
        except AnalyticsError as exc:
            self._error(f"Not saved: {exc}")
            if self._field(exc.field) is not None:
                self._field_error(exc.field, str(exc))
                widget = self.query_one(f"#ra-{exc.field}", Widget)
                widget.focus()
                widget.scroll_visible()
            return
        self.saving = True
        self._error("Saving…")
        self.run_worker(self._save(fields), group="analytics", exit_on_error=False)

    async def _save(self, fields: dict[str, Any]) -> None:
        editing = self.dataset in self.existing or self.dataset in self.chat.analytics
        verb = "Reference Analytics entry updated" if editing else "Added to Reference Analytics"
        result = await self.save_once(f"analytics:{self.chat.id}", "save_analytics",
                                      done=f"{verb} ({self.dataset})", chat_id=self.chat.id,
                                      dataset=self.dataset, fields=fields)
        if result is None:
            self.saving = False
            self._error("Not saved (the desk's reason is in the message).")
            return
        if isinstance(result, dict):
            self.app.notify(f"{verb} ({self.dataset})", markup=False)
            self.close_once(True)

    @on(Button.Pressed, "#analytics-cancel-button")
    def action_cancel(self) -> None:
        if self.saving or self.closing:
            return
        if not self.ready or (self._values() == self.initial and not self.typed):
            self.close_once(False)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.close_once(False)

        self.app.push_screen(Confirm("Throw this Reference Analytics entry away? (y/n)"), answered)
