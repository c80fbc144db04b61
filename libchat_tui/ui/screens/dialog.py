"""What the Note, Ticket and Reference Analytics dialogs share.

- **One save, one close.** A second ctrl+s while the first save is on its way sends
  nothing (the desk gets one command, one id), and the dialog closes exactly once, so a
  late key can never pop the dashboard from under the librarian.
- **Offline is said, not hidden.** A save made while the desk is unreachable is queued
  by the client; the dialog says so and closes, and the app reports the outcome.
- **Keys typed before the dialog is ready are kept**: the first characters after
  ctrl+t arrive before any field has focus; they are replayed into the field that gets
  it (`KeepsTypedKeys`, which every dialog with a text field uses).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual import events
from textual.widgets import Input, TextArea

from ..submit import Submission, submit

if TYPE_CHECKING:
    from ..app import LibChatApp

QUEUED = "Queued: will be saved when the desk is back."


class KeepsTypedKeys:
    """Mixed into a dialog: no typed key is lost while the focus moves.

    Textual hands a key to the widget that has the focus when the key is read; in a burst
    (a paste, a fast typist, a key typed as the dialog opens) the focus may move on before
    that widget handles it: the dialog was not mounted yet, or tab moved to the next field.
    Such a key reaches the screen unhandled (fields stop the keys they take), and is typed
    into the field that has the focus now. The dialogs' save keys are not priority keys,
    so they are handled in the order typed: after the text before them.
    """

    _early_keys: list[str]

    def on_key(self, event: events.Key) -> None:
        self.keep_typed_key(event)

    def keep_typed_key(self, event: events.Key) -> bool:
        """Keep (or type into the field with the focus) a printable key no field took."""
        if not (event.is_printable and event.character):
            return False
        if not hasattr(self, "_early_keys"):
            self._early_keys = []
        focused = getattr(self, "focused", None)
        if focused is None:
            self._early_keys.append(event.character)
            event.stop()
            return True
        if isinstance(focused, Input) or (isinstance(focused, TextArea) and not focused.read_only):
            self._early_keys.append(event.character)
            self.replay_early_keys()
            event.stop()
            return True
        return False

    def replay_early_keys(self) -> None:
        """Type what arrived before the first field had focus into that field."""
        text, self._early_keys = "".join(getattr(self, "_early_keys", [])), []
        focused = getattr(self, "focused", None)
        if not text:
            return
        if isinstance(focused, Input):
            focused.insert_text_at_cursor(text)
        elif isinstance(focused, TextArea):
            focused.insert(text)


class SavesOnce(KeepsTypedKeys):
    """Mixed into a ModalScreen dialog that saves one record to the desk."""

    app: LibChatApp
    saving: bool
    submission: Submission | None
    _dialog_closed: bool
    _early_keys: list[str]

    if TYPE_CHECKING:
        def dismiss(self, result: Any = None) -> Any: ...  # the ModalScreen's

    def begin_once(self) -> None:
        self.saving = False
        self.submission = None
        self._dialog_closed = False
        self._early_keys = []

    @property
    def closing(self) -> bool:
        return self._dialog_closed

    def close_once(self, result: Any) -> None:
        """Dismiss this dialog, at most once."""
        if self._dialog_closed:
            return
        self._dialog_closed = True
        self.dismiss(result)

    async def save_once(self, key: str, type_: str, *, done: str, shown: str = "",
                        **fields: Any) -> dict[str, Any] | str | None:
        """Send the save; the desk's result, "queued" (the dialog closed), or None (refused)."""
        submission = await submit(self.app, key, type_, shown=shown, **fields)
        if submission is None:
            return None
        self.submission = submission
        submission.done_message = done
        while submission.pending:
            if self.app.status.state != "online" and submission.command_id is not None:
                submission.detached = True
                self.app.notify(QUEUED, title="Offline", markup=False)
                self.close_once(False)
                return "queued"
            await asyncio.wait({submission.task}, timeout=0.1)
        result = submission.task.result()
        if result is None:
            self.submission = None
            error = submission.error
            if error is not None and error.code != "withdrawn":
                self.app.notify(error.message, title="Refused", severity="error", markup=False)
        return result

