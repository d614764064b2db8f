"""The metric to plot: one of the plotted runs' metrics (`m` on the plot)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from runs_tui.core.metric_plot import MetricKey, metric_name
from runs_tui.ui.safe import text


class MetricPicker(ModalScreen[MetricKey | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, metrics: list[MetricKey], current: MetricKey | None) -> None:
        super().__init__()
        self.metrics, self.current = metrics, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog narrow"):
            yield Label("Plot which metric?", classes="dialog-title")
            yield OptionList(
                *(Option(text(metric_name(k)), id=str(i)) for i, k in enumerate(self.metrics)),
                id="metric-picker",
            )

    def on_mount(self) -> None:
        if self.current in self.metrics:
            self.query_one(OptionList).highlighted = self.metrics.index(self.current)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.metrics[int(event.option.id or 0)])
