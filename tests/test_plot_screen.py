"""`g`: the metric chart of the cursor run or of the marked runs, on the real store; the
details' Metrics tab charts the selected metric. Assertions are on what is drawn (the
legend, the axes' labels, the title) as a screenshot's text shows it.

MetricChart lays out its lines' dots with numpy in place of textual-plot's per-dot
Python, through textual-plot's private `_render_line_plot` and the canvas's private
`_canvas_region` and `_buffer`: the canary below draws the same lines both ways and
wants the same cells, so a textual-plot release that draws otherwise fails here first."""

from __future__ import annotations

import html
import math
import re
import time

import numpy as np
from screens_support import laid_out
from sqlalchemy import update
from textual.app import App, ComposeResult
from textual.widgets import Static
from textual_hires_canvas import Canvas
from textual_plot import PlotWidget
from ui_support import make_app, settle

from runs_tui.agent.buffer import OutputBuffer
from runs_tui.agent.protocol import MetricReport
from runs_tui.core import ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store
from runs_tui.core.metric_plot import Line, Trace, line
from runs_tui.core.models import RUN
from runs_tui.core.status import Status
from runs_tui.ui.screens.metric_picker import MetricPicker
from runs_tui.ui.screens.plot import PlotScreen
from runs_tui.ui.widgets.metric_chart import MetricChart, braille_cells, line_dots
from runs_tui.ui.widgets.metrics_tab import MetricsTab

COLUMNS = parse_columns("run,status,m:loss/val:last")


def drawn(app) -> str:  # type: ignore[no-untyped-def]
    """The screen's text as drawn (a screenshot's), spaces dropped."""
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", app.export_screenshot())
    return re.sub(r"\s", "", html.unescape("".join(parts)))


async def plotted(pilot, *keys: str) -> PlotScreen:  # type: ignore[no-untyped-def]
    """Press `keys`, then wait until the plot has drawn its lines."""
    await pilot.press(*keys)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await settle(pilot)
        screen = pilot.app.screen
        if isinstance(screen, PlotScreen) and screen.lines:
            await pilot.pause()
            return screen
        await pilot.pause(0.05)
    raise AssertionError(f"no plot drawn: {pilot.app.screen}")


async def test_g_plots_the_cursor_runs_metric_of_the_column_shown(demo: Store):
    app = make_app(demo, pipeline="train-resnet", columns=COLUMNS, refresh=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        await pilot.press(*["down"] * 4)  # #20, Completed
        screen = await plotted(pilot, "g")
        text = drawn(app)
        assert "Plotloss/val1run" in text  # the title: the metric, the runs
        assert "*train-resnet#20" in text  # the legend: its marker, the run
        assert "step" in text and "1000" in text and "1500" in text  # the x axis
        assert re.search(r"0\.[2-9]┫", text)  # a y tick label by its tick
        assert "20points,20drawn" in text
        assert [ln.label for ln in screen.lines] == ["train-resnet #20"]
        await pilot.press("escape")
        assert not isinstance(app.screen, PlotScreen)


async def test_three_marked_runs_have_three_entries_in_the_legend(demo: Store):
    app = make_app(demo, pipeline="train-resnet", columns=COLUMNS, refresh=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        await pilot.press(*["down"] * 4, "space", "space", "space")  # #20, #19, #18
        screen = await plotted(pilot, "g")
        text = drawn(app)
        for marker, number in zip("*+x", (20, 19, 18), strict=True):
            assert f"{marker}train-resnet#{number}" in text, text
        assert len(screen.lines) == 3 and "Plotloss/val3runs" in text


async def test_l_switches_the_log_scale_and_m_another_metric(demo: Store):
    app = make_app(demo, pipeline="train-resnet", columns=COLUMNS, refresh=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        await pilot.press(*["down"] * 4)
        screen = await plotted(pilot, "g")
        linear = list(screen.lines[0].y)
        assert "logscale" not in drawn(app)
        await pilot.press("l")
        await plotted(pilot)
        assert "Plotloss/val1runlogscale" in drawn(app)
        assert [round(10**v, 9) for v in screen.lines[0].y] == [round(v, 9) for v in linear]
        await pilot.press("l")
        await plotted(pilot)
        assert "logscale" not in drawn(app).split("Logscale")[0]
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MetricPicker)
        await pilot.press("up", "enter")  # loss/train, above loss/val
        await settle(pilot)
        await plotted(pilot)
        assert "Plotloss/train1run" in drawn(app)


async def test_no_metric_to_go_by_asks_which_one(demo: Store):
    app = make_app(demo, pipeline="train-resnet", columns=parse_columns("run,status"))
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        await pilot.press(*["down"] * 4, "g")
        await settle(pilot)
        assert isinstance(app.screen, MetricPicker)
        assert "accuracy/val" in drawn(app) and "loss/train" in drawn(app)
        await plotted(pilot, "enter")
        assert "Plotaccuracy/val1run" in drawn(app)


def report(store: Store, run_id: int, points: list[tuple[int, float]]) -> None:
    """What an agent writes for the points a step reports."""
    buffer = OutputBuffer(run_id, 1)
    for step, value in points:
        buffer.metric(MetricReport("loss", "val", value, step))
    with store.write() as session:
        buffer.write(session, sqlite=True)


async def test_a_running_runs_plot_takes_new_points_as_they_come(store: Store, simple: str):
    run_id = ops.new_run(store, simple).id
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id == run_id).values(status=Status.RUNNING.value))
    report(store, run_id, [(0, 2.0), (1, 1.0)])
    app = make_app(store, pipeline=simple, columns=COLUMNS, refresh=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        screen = await plotted(pilot, "g")
        assert screen.lines[0].points == 2 and "live" in drawn(app)
        report(store, run_id, [(2, 0.5), (3, 0.25), (4, 0.125)])
        deadline = time.monotonic() + 60
        while screen.lines[0].points < 5 and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await settle(pilot)
        assert screen.lines[0].points == 5 and "5points,5drawn" in drawn(app)
        assert screen.lines[0].y.tolist() == [2.0, 1.0, 0.5, 0.25, 0.125]


async def test_hostile_names_reach_the_legend_as_text(store: Store, simple: str):
    run_id = ops.new_run(store, simple).id
    name = "[bold]x[/] oops[/y] \x1b[31m a\\"
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id == run_id).values(name=name))
    report(store, run_id, [(0, 2.0), (1, 1.0)])
    app = make_app(store, pipeline=simple, columns=COLUMNS, refresh=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        await plotted(pilot, "g")
        assert "[bold]x[/]oops[/y]␛[31ma\\" in drawn(app)


async def test_the_metrics_tab_charts_the_selected_metric(demo: Store):
    app = make_app(demo, pipeline="train-resnet", refresh=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await laid_out(pilot)
        await pilot.press(*["down"] * 4, "v", "tab", "right", "right")
        await settle(pilot)
        tab = app.screen.query_one(MetricsTab)
        deadline = time.monotonic() + 60
        while not app.screen.query(MetricChart) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await settle(pilot)
        chart = app.screen.query_one(MetricChart)
        title = app.screen.query_one("#metric-chart-title", Static)
        assert str(title.content).startswith("accuracy/val")
        assert "1500" in drawn(app)  # the chart's x axis, under the metrics
        tab.focus()
        await pilot.press("down")
        await settle(pilot)
        assert str(title.content).startswith("loss/train") and chart.display
        await pilot.press("l")
        await settle(pilot)
        assert "log scale ·" in str(title.content)


class TextualPlotChart(MetricChart):
    """MetricChart with its lines drawn by textual-plot itself: the reference."""

    render = PlotWidget.render  # type: ignore[assignment]
    _render_line_plot = PlotWidget._render_line_plot


class OneChart(App[None]):
    def __init__(self, chart: MetricChart) -> None:
        super().__init__()
        self.chart = chart

    def compose(self) -> ComposeResult:
        yield self.chart


async def cells(chart: MetricChart, lines: list[Line], log: bool, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    """The plot canvas's characters and styles once `lines` are drawn at `size`."""
    async with OneChart(chart).run_test(size=size) as pilot:
        await pilot.pause()
        chart.draw(lines, log)
        await pilot.pause()
        canvas = chart.query_one("#plot", Canvas)
        return [list(r) for r in canvas._buffer], [list(r) for r in canvas._styles]


def runs(points: int, seed: int) -> list[Trace]:
    """Three noisy decaying runs, each with one spike up and one down to 0."""
    rng = np.random.default_rng(seed)
    x = np.arange(points, dtype=np.float64)
    traces = []
    for n in range(3):
        y = (1 + n) * np.exp(-x / (points / 5)) + 0.05 * rng.random(points)
        y[points * (n + 2) // 6] = 5.0
        y[points * (n + 1) // 7] = 1e-4
        traces.append(Trace(x, y))
    return traces


async def test_canary_the_chart_draws_the_cells_textual_plot_draws():
    for size, points, log in (((200, 50), 100_000, False), ((80, 24), 5_000, True)):
        chart = MetricChart()
        async with OneChart(chart).run_test(size=size) as pilot:
            await pilot.pause()
            buckets = chart.buckets
        lines = [line(f"run {i}", t, buckets, log) for i, t in enumerate(runs(points, 14))]
        ours = await cells(MetricChart(), lines, log, size)
        theirs = await cells(TextualPlotChart(), lines, log, size)
        assert sum(c >= "\u2800" for row in ours[0] for c in row) > 3 * buckets // 2
        assert ours == theirs, size


def test_line_dots_are_the_canvas_bresenham_dots():
    rng = np.random.default_rng(7)
    ends = [(0, 0), (5, 0), (0, 5), (7, 7), (200, 3), (3, 190), (-9, 4), (120, -190)]
    ends += [tuple(v) for v in rng.integers(-250, 250, size=(300, 2)).tolist()]
    for dx, dy in ends:
        x, y = np.array([10, 10 + dx]), np.array([300, 300 + dy])
        want = set(Canvas._get_line_coordinates(None, 10, 300, 10 + dx, 300 + dy))  # type: ignore[arg-type]
        got = line_dots(x, y)
        assert set(zip(got[0].tolist(), got[1].tolist(), strict=True)) == want, (dx, dy)


def test_braille_cells_or_the_dots_of_a_cell():
    x, y = np.array([0, 1, 1, 0, 3, 99]), np.array([0, 3, 3, 2, 4, 0])
    assert braille_cells(x, y, width=4, height=2) == [(0, 0, "⢅"), (1, 1, "⠈")]


async def test_a_single_point_spike_in_100000_points_reaches_its_row_and_column():
    """The drawing is thinned twice (points to buckets, dots to cells): a one-point
    spike up (linear) and down (log scale) still reaches the plot's top or bottom row,
    in its own column."""
    x = np.arange(100_000, dtype=np.float64)
    y = 1.0 + 0.01 * np.sin(x / 700)
    y[61_234], y[7_777] = 50.0, 1e-3
    chart = MetricChart()
    async with OneChart(chart).run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        for log, at, row in ((False, 61_234, 1), (True, 7_777, -2)):
            chart.draw([line("spiky", Trace(x, y), chart.buckets, log)], log)
            await pilot.pause()
            canvas = chart.query_one("#plot", Canvas)
            width = canvas.size.width
            column = math.floor((1 + at / 99_999 * (width - 2)) * 2) // 2
            drawn = [i for i, c in enumerate(canvas._buffer[row]) if c >= "\u2800"]
            assert drawn and all(abs(i - column) <= 1 for i in drawn), (log, drawn, column)
