"""Where to save a console: a new file's path, prefilled; nothing is overwritten."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from runs_tui.ui import safe
from runs_tui.ui.screens.columns import export_problem


class SaveConsoleScreen(ModalScreen[Path | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Save the console to a file", classes="dialog-title")
            with VerticalScroll(classes="dialog-body", can_focus=False):
                yield Label("File", classes="field-label")
                yield Input(safe.field(self.default), id="save-path")
            with Vertical(classes="dialog-foot"):
                yield Label("", id="save-error", classes="field-error", markup=False)
                with Horizontal(classes="buttons"):
                    yield Button("Save (enter)", variant="primary", id="save")
                    yield Button("Cancel (esc)", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        text = self.query_one("#save-path", Input).value.strip()
        path = Path(text).expanduser()
        problem = export_problem(path, text)
        if problem:
            self.query_one("#save-error", Label).update(problem)
            return
        self.dismiss(path)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
