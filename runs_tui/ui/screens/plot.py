"""`g`: a line chart of one metric, x the step, for the cursor run or overlaid for the
marked runs (at most MAX_RUNS), live while any of them is Running.

The metric: the sort column's if the table is sorted by a metric, else the first metric
column shown, else the user picks (`m` picks another any time). Every read and every
thinning happens in a thread worker (`core.metric_plot`): a run's history is read once
and then only what was reported since, on the screen's tick; the UI thread only draws
lines of about two points per cell, whatever the runs hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from runs_tui.core.fmt import plural
from runs_tui.core.metric_plot import (
    EMPTY,
    Line,
    MetricKey,
    Trace,
    default_metric,
    line,
    metric_name,
    read,
    run_label,
)
from runs_tui.core.records import RunId, RunRow
from runs_tui.core.source import SourceError
from runs_tui.core.status import Status
from runs_tui.ui.context import Context
from runs_tui.ui.flows.host import Host
from runs_tui.ui.safe import text as safe_text
from runs_tui.ui.widgets.metric_chart import MetricChart

MAX_RUNS = 8  # one colour and one marker each


@dataclass
class Plotted(Message):
    """Lines to draw, and what they were made from (kept for the next read)."""

    key: MetricKey
    rows: list[RunRow]
    traces: dict[RunId, Trace]
    lines: list[Line]
    log: bool


@dataclass
class Unplotted(Message):
    """No metric to plot yet: the user picks one of the runs' (`rows`), or `error`."""

    rows: list[RunRow]
    error: str = ""


class PlotScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="plot_close"),
        Binding("m", "pick_metric", "Metric", id="plot_metric"),
        Binding("l", "toggle_log", "Log scale", id="plot_log"),
    ]
    DEFAULT_CSS = """
    PlotScreen {
        layout: vertical;
    }
    PlotScreen #plot-title, PlotScreen #plot-status {
        height: 1;
        padding: 0 1;
    }
    PlotScreen #plot-status {
        background: $panel;
    }
    """

    def __init__(
        self, context: Context, run_ids: list[RunId], specs: list[str], left_out: int = 0
    ) -> None:
        super().__init__()
        self.context = context
        self.run_ids = run_ids
        self.specs = specs  # column specs the metric is chosen from, in order
        self.left_out = left_out  # marked runs beyond MAX_RUNS
        self.key: MetricKey | None = None
        self.rows: list[RunRow] = []
        self.traces: dict[RunId, Trace] = {}
        self.lines: list[Line] = []
        self.log_scale = False
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Static(id="plot-title")
        yield MetricChart(id="plot-chart")
        yield Static(id="plot-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show()
        self.call_after_refresh(self._read, True)  # once the chart has its width
        self.set_interval(self.context.settings.refresh, self._tick, name="plot-refresh")

    @property
    def chart(self) -> MetricChart:
        return self.query_one(MetricChart)

    def _tick(self) -> None:
        """Read what was reported since, while a run is Running (not over a read)."""
        running = any(r.status == Status.RUNNING for r in self.rows)
        busy = any(w.is_running for w in self.workers if w.group == "plot")
        if running and not busy:
            self._read()

    def _read(self, fresh: bool = False, again: bool = True) -> None:
        """Plot in a worker: the runs and their new points (`again`: else only the lines
        made again from what is kept, for a new width or scale); `fresh`: from nothing."""
        traces = {} if fresh else dict(self.traces)
        self._load(self.key, self.rows, traces, self.chart.buckets, self.log_scale, again)

    @work(thread=True, exclusive=True, group="plot")
    def _load(
        self,
        key: MetricKey | None,
        rows: list[RunRow],
        traces: dict[RunId, Trace],
        buckets: int,
        log: bool,
        again: bool,
    ) -> None:
        source, worker = self.context.source, get_current_worker()
        try:
            if again or not rows:
                rows = source.runs(self.run_ids)
            if key is None:
                key = default_metric(self.specs, {k for r in rows for k in r.metrics})
            if key is None:
                self.post_message(Unplotted(rows))
                return
            if again:
                traces = {r.id: read(source, r.id, key, traces.get(r.id, EMPTY)) for r in rows}
        except SourceError as exc:
            self.post_message(Unplotted(rows, str(exc).splitlines()[0]))
            return
        lines = [line(run_label(r), traces.get(r.id, EMPTY), buckets, log) for r in rows]
        if not worker.is_cancelled:
            self.post_message(Plotted(key, rows, traces, lines, log))

    @on(Plotted)
    def _plotted(self, message: Plotted) -> None:
        if message.key != self.key and self.key is not None:
            return  # a read for the metric before the one picked since
        self.key, self.rows, self.traces = message.key, message.rows, message.traces
        self.lines, self.error = message.lines, ""
        self.chart.draw(message.lines, message.log)
        self._show()

    @on(Unplotted)
    def _unplotted(self, message: Unplotted) -> None:
        self.rows = message.rows
        if message.error:
            self.error = message.error
            self._show()
        elif not any(r.metrics for r in message.rows):
            self.notify("No metrics reported by the runs to plot", severity="warning")
            self.dismiss()
        else:
            self.action_pick_metric()

    def _show(self) -> None:
        title = Text("Plot  ", Style(bold=True))
        if self.key is not None:
            title.append_text(safe_text(metric_name(self.key), style=Style(bold=True)))
            title.append(f"  {plural(len(self.rows), 'run')}")
            if self.log_scale:
                title.append("  log scale", Style(italic=True))
            if any(r.status == Status.RUNNING for r in self.rows):
                title.append("  live", Style(color="green"))
        self.query_one("#plot-title", Static).update(title)
        self.query_one("#plot-status", Static).update(self._status())

    def _status(self) -> Text:
        if self.error:
            return safe_text(f"cannot read the metric: {self.error}", style="red")
        if self.key is None:
            return Text("loading…", Style(dim=True))
        points = sum(ln.points for ln in self.lines)
        drawn = sum(len(ln.x) for ln in self.lines)
        parts = [f"{points:,} points, {drawn:,} drawn"]
        if empty := sum(1 for ln in self.lines if not ln.points):
            parts.append(f"{plural(empty, 'run')} without points")
        if dropped := sum(ln.dropped for ln in self.lines):
            parts.append(f"{dropped:,} values <= 0 not on the log scale")
        if self.left_out:
            parts.append(f"{self.left_out:,} more marked runs not plotted")
        return Text(" · ".join(parts))

    def on_resize(self) -> None:
        """Thinned again for the new width, from what is kept, once the chart has it."""
        if self.key is not None:
            self.call_after_refresh(self._read, False, False)

    def action_toggle_log(self) -> None:
        self.log_scale = not self.log_scale
        self._show()
        self._read(again=False)

    def action_pick_metric(self) -> None:
        from runs_tui.ui.screens.metric_picker import MetricPicker

        available = sorted({k for r in self.rows for k in r.metrics})
        if not available:
            return

        def picked(key: MetricKey | None) -> None:
            if key is not None and key != self.key:
                self.key, self.lines = key, []
                self._read(fresh=True)
            elif self.key is None:
                self.dismiss()  # nothing plotted and nothing picked

        self.app.push_screen(MetricPicker(available, self.key), picked)


def open_plot(host: Host) -> None:
    """The marked runs (the first MAX_RUNS, in the table's order where loaded), else the
    cursor run; the metric chosen from the view's sort, then its columns."""
    table, marks = host.table, host.table.marks
    ids = [r for r in table.order if r in marks][:MAX_RUNS]
    if len(ids) < min(len(marks), MAX_RUNS):  # marked runs not loaded (select All)
        seen = set(ids)
        ids += islice((r for r in marks if r not in seen), MAX_RUNS - len(ids))
    if not ids and (run := table.cursor_run) is not None:
        ids = [run.id]
    if not ids:
        host.notify("No run to plot", severity="warning")
        return
    specs = [k.column for k in host.view.sort] + list(host.view.columns)
    left_out = max(len(marks) - MAX_RUNS, 0)
    host.app.push_screen(PlotScreen(host.context, ids, specs, left_out))
