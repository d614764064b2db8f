"""`g`: the metric chart of the cursor run or of the marked runs, on the real store; the
details' Metrics tab charts the selected metric. Assertions are on what is drawn (the
legend, the axes' labels, the title) as a screenshot's text shows it."""

from __future__ import annotations

import html
import re
import time

from screens_support import laid_out
from sqlalchemy import update
from textual.widgets import Static
from ui_support import make_app, settle

from runs_tui.agent.buffer import OutputBuffer
from runs_tui.agent.protocol import MetricReport
from runs_tui.core import ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.status import Status
from runs_tui.ui.screens.metric_picker import MetricPicker
from runs_tui.ui.screens.plot import PlotScreen
from runs_tui.ui.widgets.metric_chart import MetricChart
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
