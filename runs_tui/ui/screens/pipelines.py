"""`P`: pick a pipeline from a list with its runs counted by status."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from runs_tui.core.records import PipelineSummary
from runs_tui.core.source import RunSource, SourceError
from runs_tui.core.status import Status
from runs_tui.core.text import one_line
from runs_tui.ui.render import STATUS_STYLES


def summary_text(p: PipelineSummary) -> Text:
    text = Text(one_line(p.name, limit=40).ljust(28), Style(bold=True))
    text.append(f" {one_line(p.version, limit=12):<10}")
    text.append(f" {p.total:>6} runs  ")
    for status in Status:
        n = p.counts.get(status, 0)
        if n:
            text.append(f" {n} {status.label}", STATUS_STYLES[status])
    return text


class PipelinePicker(ModalScreen[str | None]):
    """The cursor starts on the pipeline being shown."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, source: RunSource, current: str | None = None) -> None:
        super().__init__()
        self.source, self.current = source, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Switch pipeline", classes="dialog-title")
            yield OptionList(id="pipelines")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self._load()

    @work(group="load")
    async def _load(self) -> None:
        try:
            summaries = await asyncio.to_thread(self.source.pipelines)
        except SourceError as exc:
            self.notify(f"Cannot list pipelines: {exc}", severity="error", markup=False)
            summaries = []
        self._show(summaries)

    def _show(self, summaries: list[PipelineSummary]) -> None:
        options = self.query_one(OptionList)
        options.loading = False
        options.add_options(Option(summary_text(p), id=p.name) for p in summaries)
        if not summaries:
            options.add_option(Option(Text("No pipelines registered"), disabled=True))
        names = [p.name for p in summaries]
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
