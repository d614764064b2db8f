"""`C`: every column, shown or not, in order; metric and hyperparameter columns of the
pipeline are listed too, ready to add. `e`: export the view to a file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, SelectionList
from textual.widgets.selection_list import Selection

from runs_tui.core.columns import parse_column
from runs_tui.core.export import FORMATS
from runs_tui.core.fmt import plural
from runs_tui.ui import safe
from runs_tui.ui.widgets.checks import CheckList


def column_label(spec: str) -> Text:
    column = parse_column(spec)
    kind = "metric" if column.is_metric else "hyperparameter" if column.is_param else "built-in"
    return safe.text(column.header, limit=50).append(f"   · {kind}")


class ColumnsScreen(ModalScreen[list[str] | None]):
    """Space shows or hides; ctrl+up / ctrl+down (or [ and ]) move the highlighted column."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "apply", "Apply", priority=True),
        Binding("ctrl+up,left_square_bracket", "move(-1)", "Move up"),
        Binding("ctrl+down,right_square_bracket", "move(1)", "Move down"),
    ]

    def __init__(self, shown: list[str], available: list[str]) -> None:
        super().__init__()
        self.order = [*shown, *(s for s in available if s not in shown)]
        self.shown = set(shown)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                "Columns: space shows/hides · ctrl+↑/↓ or [ ] move · ctrl+s applies",
                classes="dialog-title",
            )
            yield CheckList[str](id="columns")
            with Horizontal(classes="buttons"):
                yield Button("Apply (ctrl+s)", variant="primary", id="apply")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self._fill(0)

    def _fill(self, highlighted: int) -> None:
        options = self.query_one("#columns", SelectionList)
        options.clear_options()
        options.add_options([Selection(column_label(s), s, s in self.shown) for s in self.order])
        options.highlighted = highlighted
        options.focus()

    @on(SelectionList.SelectionToggled)
    def _toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        self.shown ^= {event.selection.value}

    def action_move(self, step: int) -> None:
        options = self.query_one("#columns", SelectionList)
        index = options.highlighted
        if index is None or not 0 <= index + step < len(self.order):
            return
        self.order[index], self.order[index + step] = self.order[index + step], self.order[index]
        self._fill(index + step)

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        chosen = [s for s in self.order if s in self.shown]
        if not chosen:
            self.notify("Keep at least one column", severity="warning")
            return
        self.dismiss(chosen)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class ExportScreen(ModalScreen[tuple[Path, str] | None]):
    """A path and a format; an existing file is never overwritten."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, default: Path, matching: int) -> None:
        super().__init__()
        self.default, self.matching = default, matching

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Export the {plural(self.matching, 'matching run')} with the visible columns",
                classes="dialog-title",
            )
            with VerticalScroll(classes="dialog-body", can_focus=False):
                yield Label("File", classes="field-label")
                yield Input(safe.field(self.default), id="export-path")
                yield Label("Format", classes="field-label")
                yield Select(
                    [(f.upper(), f) for f in FORMATS],
                    value=self.default.suffix[1:] if self.default.suffix[1:] in FORMATS else "csv",
                    allow_blank=False,
                    id="export-format",
                )
            with Vertical(classes="dialog-foot"):
                yield Label("", id="export-error", classes="field-error", markup=False)
                with Horizontal(classes="buttons"):
                    yield Button("Export (enter)", variant="primary", id="export")
                    yield Button("Cancel (esc)", id="cancel")

    @on(Input.Changed, "#export-path")
    def _suffix(self, event: Input.Changed) -> None:
        suffix = Path(event.value).suffix.lower().lstrip(".")
        if suffix in FORMATS:
            self.query_one("#export-format", Select).value = suffix

    @on(Input.Submitted)
    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        path = Path(text).expanduser()
        problem = export_problem(path, text)
        if problem:
            self.query_one("#export-error", Label).update(problem)
            return
        fmt = self.query_one("#export-format", Select).value
        self.dismiss((path, str(fmt)))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


def export_problem(path: Path, text: str) -> str:
    """Why `path` cannot be written to, in words naming it; "" when it can."""
    if not text:
        return "give a file name"
    try:
        if path.exists():
            return f"{text!r} exists; choose another name (nothing is overwritten)"
        if not path.parent.is_dir():
            return f"folder {str(path.parent)!r} does not exist"
    except OSError as exc:  # a name too long, a loop of links
        return f"{text!r}: {exc.strerror or exc}"
    return ""
