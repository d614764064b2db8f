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

NAME_LIMIT = 40


def summary_text(p: PipelineSummary, width: int, name_width: int) -> Text:
    """A pipeline's name, version, runs and runs by status: on one line when `width`
    has room for it, else with the counts on a second, indented line."""
    head = Text(one_line(p.name, limit=NAME_LIMIT).ljust(name_width), Style(bold=True))
    head.append(f"  {one_line(p.version, limit=12):<10}")
    if not p.counted:
        return head.append("  counting runs…", Style(dim=True))
    head.append(f" {p.total:>6} {'run ' if p.total == 1 else 'runs'}")
    counts = Text()
    for status in Status:
        n = p.counts.get(status, 0)
        if n:
            counts.append(f"  {n} {status.label}", STATUS_STYLES[status])
    if head.cell_len + counts.cell_len <= width:
        return head + counts
    return Text.assemble(head, "\n  ", counts)


class PipelinePicker(ModalScreen[str | None]):
    """The cursor starts on the pipeline being shown."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, source: RunSource, current: str | None = None) -> None:
        super().__init__()
        self.source, self.current = source, current
        self.summaries: list[PipelineSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wider"):
            yield Label("Switch pipeline", classes="dialog-title")
            yield OptionList(id="pipelines")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self._load()

    @work(group="load")
    async def _load(self) -> None:
        """The names first; where the source had to leave the counts out (it reads every
        run to count them: MLflow), they follow, and the list can be used meanwhile."""
        try:
            summaries = await asyncio.to_thread(self.source.pipelines, False)
            self._show(summaries)
            if all(s.counted for s in summaries):
                return
            counted = {s.id: s for s in await asyncio.to_thread(self.source.pipelines)}
        except SourceError as exc:
            self.notify(f"Cannot list pipelines: {exc}", severity="error", markup=False)
            if not self.summaries:
                self._show([])
            return
        self.summaries = [counted.get(s.id, s) for s in self.summaries]
        self._reflow()

    def _show(self, summaries: list[PipelineSummary]) -> None:
        options = self.query_one(OptionList)
        options.loading = False
        self.summaries = summaries
        options.add_options(Option(Text(""), id=p.name) for p in summaries)
        self._reflow()
        self.call_after_refresh(self._reflow)
        if not summaries:
            options.add_option(Option(Text("No pipelines registered"), disabled=True))
        names = [p.name for p in summaries]
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self._reflow)  # once the list has its new width

    def _reflow(self) -> None:
        """Each pipeline on one line where the dialog is wide enough, else on two."""
        options = self.query_one(OptionList)
        width = options.scrollable_content_region.width or self.app.size.width - 8
        name_width = min(max((len(p.name) for p in self.summaries), default=0), NAME_LIMIT)
        for index, summary in enumerate(self.summaries):
            prompt = summary_text(summary, width - 2, name_width)
            options.replace_option_prompt_at_index(index, prompt)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
