"""`d`: 2 to 8 runs side by side. The runs' details are read and compared in a thread
worker (`core.compare`); the screen only lays the comparison out, again when the
terminal is resized or `a` shows every row instead of only what differs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from runs_tui.core import compare
from runs_tui.core.compare import Comparison
from runs_tui.core.fmt import plural
from runs_tui.core.records import RunId
from runs_tui.core.source import SourceError
from runs_tui.core.text import one_line
from runs_tui.ui.context import Context
from runs_tui.ui.widgets.compare_table import HIGH, HIGH_STYLE, LOW, LOW_STYLE, SAME, CompareTable


@dataclass
class Compared(Message):
    """The comparison, made in the worker; `error` when the source could not answer."""

    comparison: Comparison | None
    error: str = ""


def legend() -> Text:
    """What the marks and styles mean: no metric in the store says which way is better,
    so both ends of a row are marked."""
    text = Text()
    text.append(f"{LOW} lowest", LOW_STYLE)
    text.append("  ")
    text.append(f"{HIGH} highest", HIGH_STYLE)
    text.append(" per row (no metric has a direction)  ")
    text.append("dim: same in all runs", SAME)
    return text


def title(c: Comparison, every: bool) -> Text:
    """What is compared, what is shown, what differs (one line, cut at the screen's edge)."""
    pipelines = sorted({r.pipeline for r in c.runs})
    where = pipelines[0] if len(pipelines) == 1 else plural(len(pipelines), "pipeline")
    text = Text()
    text.append(one_line(f"Compare {plural(len(c.runs), 'run')} of {where}"), Style(bold=True))
    text.append(f" · showing {'every row' if every else 'what differs'}")
    text.append(
        f" · {c.params_differing} of {plural(len(c.params), 'parameter')} and "
        f"{c.steps_differing} of {plural(len(c.steps), 'step')} differ"
    )
    return text


class CompareScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "toggle_all", "All rows", id="compare_all"),
        Binding("escape", "close", "Back", id="compare_close"),
    ]
    DEFAULT_CSS = """
    CompareScreen {
        layout: vertical;
    }
    CompareScreen > Static {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    CompareScreen > #compare-title {
        background: $panel;
    }
    """

    def __init__(self, context: Context, ids: Sequence[RunId]) -> None:
        super().__init__()
        self.context = context
        self.ids = list(ids)
        self.comparison: Comparison | None = None
        self.every = False

    def compose(self) -> ComposeResult:
        yield Static(
            Text(f"Compare {plural(len(self.ids), 'run')}: loading…"),
            id="compare-title",
            markup=False,
        )
        yield Static(legend(), id="compare-legend", markup=False)
        yield CompareTable(id="compare-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(CompareTable).focus()
        self._load(self.ids)

    @work(thread=True, exclusive=True, group="compare")
    def _load(self, ids: list[RunId]) -> None:
        """Read every run's details and compare them, off the UI thread."""
        try:
            details = compare.load(self.context.source, ids)
        except (SourceError, ValueError) as exc:
            self.post_message(Compared(None, one_line(str(exc))))
            return
        self.post_message(Compared(compare.build(details, self.context.clock())))

    @on(Compared)
    def _compared(self, message: Compared) -> None:
        if message.comparison is None:
            self._title(Text(f"Cannot compare: {message.error}", style=Style(color="red")))
            return
        if error := compare.count_error(len(message.comparison.runs)):
            self._title(Text(f"Nothing to compare: {error} (the others were deleted)"))
            return
        self.show(message.comparison)

    def show(self, c: Comparison) -> None:
        """Lay out `c` (from the worker; a benchmark gives its own)."""
        self.comparison = c
        self._show()

    def _show(self) -> None:
        if self.comparison is not None:
            self._title(title(self.comparison, self.every))
            self.query_one(CompareTable).show(self.comparison, self.every, self.size.width)

    def _title(self, text: Text) -> None:
        self.query_one("#compare-title", Static).update(text)

    def on_resize(self, event: events.Resize) -> None:
        self._show()

    def action_toggle_all(self) -> None:
        self.every = not self.every
        self._show()

    def action_close(self) -> None:
        self.dismiss()
