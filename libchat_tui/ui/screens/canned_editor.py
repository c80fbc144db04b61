"""The team's canned messages, edited (f7, or ctrl+e in the picker): add, change, rename, delete.

The list is the desk's: every save and delete goes to the desk, and every console's list
(this one included) changes when the desk's `canned` event arrives, so two librarians
editing at once see each other's changes. Enter on a message loads it into the form
below; ctrl+s saves the form (a name the team already has asks before replacing it;
a changed name renames); ctrl+n starts a new one; delete removes the highlighted
message after a question; esc closes, asking first if the form has unsaved changes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from ...domain import parse_ts
from ...sanitize import clean, clean_name
from ...vocabulary import PLACEHOLDERS
from ..messages import DeskChanged, ReportsWorkerFailures
from ..submit import Submission, submit
from .canned_picker import PREVIEW
from .confirm import Confirm

if TYPE_CHECKING:
    from ..app import LibChatApp

NAME_CHARS = 40
TEXT_CHARS = 2_000


def quoted(name: str) -> str:
    return f"“{clean_name(name, NAME_CHARS)}”"


class CannedEditor(ReportsWorkerFailures, ModalScreen[None]):
    """List, add, change and delete the team's canned messages."""

    CSS_PATH = "../canned.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="canned-save"),
        Binding("ctrl+n", "new", "New", priority=True, id="canned-new"),
        # Not a priority: in the name and text fields delete deletes a character.
        Binding("delete", "delete", "Delete", tooltip="Delete the highlighted message (asks first)",
                id="canned-delete"),
        Binding("escape", "close", "Close", id="canned-close"),
    ]

    app: LibChatApp

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []  # the list's names, in order
        self.editing: str | None = None  # the desk's name of the message in the form (None: new)
        self.loaded = ("", "")  # the form as it was loaded or last saved
        self.saving = False
        self.sending: list[Submission] = []  # changes on their way to the desk

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-editor-box", classes="dialog"):
            yield Label("Canned messages — shared by the whole team", markup=False, classes="dialog-title")
            yield OptionList(id="canned-list")
            name = Input(placeholder="A short name, typed after / in the reply", id="canned-name",
                         max_length=NAME_CHARS)
            name.border_title = "Name"
            yield name
            text = TextArea(id="canned-text", soft_wrap=True)
            text.border_title = f"Text ({TEXT_CHARS:,} characters at most)"
            yield text
            yield Label("Placeholders: " + "  ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                        markup=False, classes="dialog-hint")
            yield Label("", id="canned-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save  ctrl+s", id="canned-save-button", variant="primary", compact=True)
                yield Button("New  ctrl+n", id="canned-new-button", compact=True)
                yield Button("Delete…  del", id="canned-delete-button", compact=True)
                yield Button("Close  esc", id="canned-close-button", compact=True)

    def on_mount(self) -> None:
        self.refill()
        self.start_new()
        if self.names:
            self.options.focus()

    # --- the list ----------------------------------------------------------------------

    @property
    def options(self) -> OptionList:
        return self.query_one("#canned-list", OptionList)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.app.model.canned

    def message(self, name: str | None) -> dict[str, Any] | None:
        folded = (name or "").casefold()
        return next((m for m in self.messages if str(m.get("name", "")).casefold() == folded), None)

    def refill(self) -> None:
        """The desk's list as it is now; the highlight stays on the same name."""
        options = self.options
        before = options.highlighted
        kept = self.names[before] if before is not None and before < len(self.names) else None
        self.names = [str(m.get("name", "")) for m in self.messages]
        listed = []
        for number, message in enumerate(self.messages):
            room = max(20, PREVIEW - len(self.names[number]))
            preview = clean(str(message.get("text", "")), single_line=True, max_len=room)
            listed.append(Option(Content.assemble((clean_name(self.names[number], NAME_CHARS), "bold"),
                                                  "  ", (preview, "dim")), id=str(number)))
        options.clear_options()
        if listed:
            options.add_options(listed)
            options.highlighted = self.names.index(kept) if kept in self.names else 0
        else:
            options.add_option(Option(Content("No canned messages yet: ctrl+n writes one."), disabled=True))
        self.query_one("#canned-list", OptionList).border_title = f"{len(listed)} of 200"

    @on(DeskChanged)
    def _desk_changed(self, event: DeskChanged) -> None:
        if not event.changes.canned:
            return
        self.refill()
        if self.editing is not None and self.message(self.editing) is None and not self.saving:
            self.say(f"{quoted(self.editing)} was deleted on another console; ctrl+s saves it again.")
            self.editing = None

    @on(OptionList.OptionSelected, "#canned-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self.names):
            self.load(self.names[event.option_index])

    # --- the form ----------------------------------------------------------------------

    @property
    def form(self) -> tuple[str, str]:
        return self.query_one("#canned-name", Input).value, self.query_one("#canned-text", TextArea).text

    @property
    def dirty(self) -> bool:
        return self.form != self.loaded

    def fill(self, name: str, text: str) -> None:
        self.query_one("#canned-name", Input).value = name
        area = self.query_one("#canned-text", TextArea)
        area.load_text(text)
        self.loaded = (name, text)

    def say(self, text: str) -> None:
        self.query_one("#canned-status", Label).update(text)

    def load(self, name: str) -> None:
        message = self.message(name)
        if message is None:
            return
        self.editing = str(message["name"])
        self.fill(self.editing, str(message.get("text", "")))
        at = parse_ts(message.get("updated_at"))
        when = at.astimezone().strftime("%Y-%m-%d %H:%M") if at is not None else "?"
        self.say(f"Editing {quoted(self.editing)}, last changed by "
                 f"{clean_name(str(message.get('updated_by', '')), 40)} on {when}.")
        self.query_one("#canned-text", TextArea).focus()

    def start_new(self) -> None:
        self.editing = None
        self.fill("", "")
        self.say("New message: type a name and a text, then ctrl+s.")

    def action_new(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.start_new()
                self.query_one("#canned-name", Input).focus()

        if self.dirty:
            self.app.push_screen(Confirm("Throw away the changes in the form? (y/n)"), answered)
        else:
            answered(True)

    # --- saving and deleting -----------------------------------------------------------

    def action_save(self) -> None:
        if self.saving:
            return
        raw_name, raw_text = self.form
        name, text = raw_name.strip(), raw_text.strip()
        if not name:
            self.say("Give the message a name (what you type after / in the reply).")
            self.query_one("#canned-name", Input).focus()
            return
        if not text:
            self.say("Write the message's text.")
            self.query_one("#canned-text", TextArea).focus()
            return
        if len(text) > TEXT_CHARS:
            self.say(f"The text is {len(text):,} characters; at most {TEXT_CHARS:,}.")
            return
        other = self.message(name)
        renaming = self.editing is not None and self.editing.casefold() != name.casefold()
        if other is not None and (self.editing is None or renaming):

            def answered(yes: bool | None) -> None:
                if yes:
                    self.save(name, text)

            question = (f"The team already has a canned message {quoted(str(other['name']))}. "
                        "Replace it? (y/n)")
            self.app.push_screen(Confirm(question), answered)
            return
        self.save(name, text)

    @work(group="canned", exit_on_error=False)
    async def save(self, name: str, text: str) -> None:
        self.saving = True
        before, self.loaded = self.loaded, self.form  # handed to the desk: closing need not ask
        try:
            if self.app.status.state != "online":
                self.say("Offline: the change is queued and saved when the desk is back.")
            result = await self.send("save_canned", f"Saved the canned message {quoted(name)}.",
                                     name=name, text=text)
            if result is None:
                self.loaded = before
                self.say(f"{quoted(name)} was not saved.")
                return
            old = self.editing
            if old is not None and old.casefold() != name.casefold() and self.message(old) is not None:
                # Renamed: the old name goes, once the new one is stored.
                await self.send("delete_canned", f"Deleted the canned message {quoted(old)}.", name=old)
            saved = self.message(name)
            self.editing = str(saved["name"]) if saved is not None else name
            if tuple(field.strip() for field in self.form) == (name, text):  # not typed on meanwhile
                self.fill(self.editing, text)
            self.refill()
            if self.editing in self.names:
                self.options.highlighted = self.names.index(self.editing)
            self.say(f"Saved {quoted(self.editing)}: every console has it now.")
        finally:
            self.saving = False

    async def send(self, type_: str, done: str, **fields: Any) -> dict[str, Any] | None:
        """Send a change as the app's task: closing the editor never cancels it (a change
        queued while offline is still delivered, and the app then says how it went)."""
        submission = await submit(self.app, f"canned:{type_}:{fields['name'].casefold()}", type_, **fields)
        if submission is None:
            return None
        submission.done_message = done
        self.sending.append(submission)
        try:
            await asyncio.wait({submission.task})  # unlike `await`, never cancels the command
        finally:
            self.sending.remove(submission)
        result = submission.task.result()
        error = submission.error
        if result is None and error is not None and error.code != "withdrawn":
            self.notify(error.message, title="Refused", severity="error", markup=False)
        return result

    def action_delete(self) -> None:
        options = self.options
        index = options.highlighted
        if self.focused is options and index is not None and index < len(self.names):
            name: str | None = self.names[index]
        else:
            name = self.editing
        if name is None:
            self.say("Highlight a message in the list to delete it.")
            return

        def answered(yes: bool | None) -> None:
            if yes and name is not None:
                self.delete(name)

        self.app.push_screen(Confirm(f"Delete the canned message {quoted(name)} for the whole team? "
                                     "(y/n)"), answered)

    @work(group="canned", exit_on_error=False)
    async def delete(self, name: str) -> None:
        result = await self.send("delete_canned", f"Deleted the canned message {quoted(name)}.", name=name)
        if result is None:
            return
        if self.editing is not None and self.editing.casefold() == name.casefold():
            self.start_new()
        self.say(f"Deleted {quoted(name)}.")

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        action = {"canned-save-button": self.action_save, "canned-new-button": self.action_new,
                  "canned-delete-button": self.action_delete, "canned-close-button": self.action_close}
        chosen = action.get(event.button.id or "")
        if chosen is not None:
            chosen()

    def action_close(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.close()

        if self.dirty:
            self.app.push_screen(Confirm("Close without saving the changes in the form? (y/n)"), answered)
        else:
            self.close()

    def close(self) -> None:
        for submission in self.sending:  # still on its way: the app reports how it ends
            submission.detached = True
        self.dismiss(None)
