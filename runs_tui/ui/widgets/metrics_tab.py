"""The details' Metrics tab: the run's metrics (last, min, max) and, under them, the chart
of the selected one (x the step), from the thinned history the details load carries.

Focused (tab), up and down select another metric and `l` switches the log scale. The
chart widget (textual-plot, numpy) is imported and mounted when a run with metric
points is first shown: the first frame does without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.table import Table
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from runs_tui.core.records import RunDetails
from runs_tui.ui.safe import text as safe_text

if TYPE_CHECKING:
    from runs_tui.ui.widgets.metric_chart import MetricChart

MetricKey = tuple[str, str]
TableOf = Callable[[RunDetails, int, MetricKey | None], Table]


class MetricsTab(VerticalScroll):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "select(-1)", "Metric up", id="details_metric_up", show=False),
        Binding("down", "select(1)", "Metric down", id="details_metric_down", show=False),
        Binding("l", "log", "Log scale", id="details_log"),
    ]
    DEFAULT_CSS = """
    MetricsTab #metric-chart-title {
        height: 1;
        margin-top: 1;
        padding: 0 1;
    }
    MetricsTab MetricChart {
        height: 1fr;
        min-height: 10;
    }
    """

    def __init__(self, table_of: TableOf, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table_of = table_of
        self.selected: MetricKey | None = None
        self.log_scale = False
        self.shown: tuple[RunDetails, int] | None = None

    def compose(self) -> Iterator[Static]:
        yield Static(id="metrics")
        yield Static(id="metric-chart-title")

    def show(self, d: RunDetails, width: int) -> None:
        """The run's metrics at `width`, the selected one (kept across runs that have
        it, else the first) charted."""
        self.shown = (d, width)
        keys = sorted(d.row.metrics)
        if self.selected not in keys:
            self.selected = keys[0] if keys else None
        self.query_one("#metrics", Static).update(self.table_of(d, width, self.selected))
        self._chart(d)

    def _chart(self, d: RunDetails) -> None:
        from runs_tui.core.metric_plot import EMPTY, extended, line, metric_name

        history = d.points.get(self.selected) if self.selected else None
        title = self.query_one("#metric-chart-title", Static)
        if self.selected is None or history is None:
            title.update("")
            if (chart := self._existing_chart()) is not None:
                chart.display = False
            return
        head = safe_text(metric_name(self.selected), style=Style(bold=True))
        head.append(
            f"  {'log scale · ' if self.log_scale else ''}↑↓ metric · l log",
            Style(dim=True),
        )
        title.update(head)
        chart = self._existing_chart()
        if chart is None:  # drawn once it has its size
            self.mount(self._new_chart())
            self.call_after_refresh(self._chart, d)
            return
        chart.display = True
        trace = extended(EMPTY, history)
        chart.draw([line("", trace, chart.buckets, self.log_scale)], self.log_scale)

    def _existing_chart(self) -> MetricChart | None:
        from runs_tui.ui.widgets.metric_chart import MetricChart

        found = self.query(MetricChart)
        return found.first() if found else None

    def _new_chart(self) -> MetricChart:
        from runs_tui.ui.widgets.metric_chart import MetricChart

        return MetricChart(legend=False, id="metric-chart")

    def action_select(self, step: int) -> None:
        if self.shown is None or not (keys := sorted(self.shown[0].row.metrics)):
            return
        at = keys.index(self.selected) if self.selected in keys else -step
        self.selected = keys[(at + step) % len(keys)]
        self.show(*self.shown)

    def action_log(self) -> None:
        self.log_scale = not self.log_scale
        if self.shown is not None:
            self.show(*self.shown)

    def on_resize(self) -> None:
        """Thinned again for the chart's new width, once it has it."""
        if self.shown is not None and self._existing_chart() is not None:
            self.call_after_refresh(self._chart, self.shown[0])
