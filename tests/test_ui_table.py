"""The runs table driven with keys: columns, floats, window, refresh, pause, pipelines."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from ui_support import (
    FIXED_NOW,
    SIZE,
    make_app,
    settle,
    status_line,
    table,
    title_bar,
    visible_rows,
)

from runs_tui.core import config, ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store
from runs_tui.core.mark_set import MarkSet
from runs_tui.core.models import LOG, METRIC, PIPELINE, RUN
from runs_tui.core.status import Status
from runs_tui.ui.widgets.details import DetailsPanel


def _ids(store: Store, pipeline: str) -> list[int]:
    with store.read() as s:
        return list(
            s.execute(
                select(RUN.c.id)
                .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
                .where(PIPELINE.c.name == pipeline)
                .order_by(RUN.c.number.desc())
            ).scalars()
        )


async def test_opens_on_the_last_used_pipeline_and_p_picks_another(demo: Store):
    settings = config.Settings(last_pipeline="tune-bert")
    config.save(settings)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert title_bar(pilot).startswith("tune-bert ")
        assert len(visible_rows(pilot)) == 24
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("up", "enter")
        await settle(pilot)
        assert title_bar(pilot).startswith("train-resnet ")
        assert status_line(pilot).startswith("24 of 24 runs")
    assert config.load().settings.last_pipeline == "train-resnet"


async def test_every_default_column_and_metric_and_param_columns(demo: Store):
    columns = parse_columns(
        "run,version,tags,status,user,started,updated,run_time,queue,"
        "m:loss/val:last,m:loss/val:min,p:args/lr"
    )
    app = make_app(demo, pipeline="train-resnet", columns=columns)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        headers = [str(c.label) for c in t.columns.values()][1:]
        assert headers == [
            "RUN",
            "VERSION",
            "TAGS",
            "STATUS",
            "USER",
            "STARTED",
            "UPDATED",
            "RUN TIME",
            "QUEUE",
            "loss/val (last)",
            "loss/val (min)",
            "args/lr",
        ]
        top = demo_row(demo, "train-resnet", 24)
        first = visible_rows(pilot)[0]
        assert first[1] == "#24" and first[2] == "1.2.0" and first[9] == "default"
        assert first[4].startswith(Status(top["status"]).label)
        with demo.read() as s:
            last = s.execute(
                select(METRIC.c.last).where(
                    METRIC.c.run_id == top["id"], METRIC.c.title == "loss", METRIC.c.series == "val"
                )
            ).scalar()
        assert first[10] == (f"{last:.4g}" if last is not None else "")


def demo_row(store: Store, pipeline: str, number: int) -> dict[str, object]:
    with store.read() as s:
        return dict(
            s.execute(
                select(RUN)
                .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
                .where(PIPELINE.c.name == pipeline, RUN.c.number == number)
            )
            .mappings()
            .one()
        )


async def test_rounded_floats_precise_in_status_line_and_with_dot(demo: Store):
    columns = parse_columns("run,m:loss/val:last")
    app = make_app(demo, pipeline="train-resnet", columns=columns)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        row_index = next(i for i, r in enumerate(visible_rows(pilot)) if r[2])
        t.move_cursor(row=row_index, column=2)
        await pilot.pause()
        run = t.cursor_run
        assert run is not None
        exact = run.metrics[("loss", "val")].last
        assert visible_rows(pilot)[row_index][2] == f"{exact:.4g}"
        assert status_line(pilot).endswith(f"loss/val (last): {exact!r}")
        await pilot.press("full_stop")
        await pilot.pause()
        assert visible_rows(pilot)[row_index][2] == repr(exact)
        await pilot.press("full_stop")
        await pilot.pause()
        assert visible_rows(pilot)[row_index][2] == f"{exact:.4g}"


async def test_started_cell_shows_elapsed_and_the_exact_time_in_the_status_line(demo: Store):
    app = make_app(demo, pipeline="train-resnet")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        index = next(i for i, r in enumerate(visible_rows(pilot)) if r[6])
        t.move_cursor(row=index, column=6)
        await pilot.pause()
        assert visible_rows(pilot)[index][6].endswith(" ago")
        assert "STARTED: 20" in status_line(pilot)


def _bulk_runs(store: Store, pipeline_id: int, n: int, start: int = 1) -> None:
    with store.write() as s:
        s.execute(
            insert(RUN),
            [
                {
                    "pipeline_id": pipeline_id,
                    "number": i,
                    "name": f"bulk #{i}",
                    "version": "1",
                    "status": "completed",
                    "user": "u",
                    "queue": "default",
                    "created": FIXED_NOW - i,
                    "updated": FIXED_NOW - i,
                    "archived": False,
                    "attempt": 1,
                    "status_message": "",
                }
                for i in range(start, start + n)
            ],
        )


async def test_window_loads_more_as_the_cursor_nears_its_end(store: Store, simple: str):
    with store.read() as s:
        pid = s.execute(select(PIPELINE.c.id)).scalar_one()
    _bulk_runs(store, pid, 450)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(table(pilot).order) == 200
        assert status_line(pilot).startswith("200 of 450 runs")
        for _ in range(6):
            await pilot.press("pagedown")
        await settle(pilot)
        assert len(table(pilot).order) == 400
        assert status_line(pilot).startswith("400 of 450 runs")
        cursor = table(pilot).cursor_run
        assert cursor is not None and cursor.number < 300


async def test_refresh_applies_changes_keeps_cursor_and_marks_and_pause_stops_it(
    store: Store, simple: str
):
    runs = [ops.new_run(store, simple).id for _ in range(5)]
    app = make_app(store, refresh=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        t.move_cursor(row=2)
        await pilot.pause()
        cursor_run = t.cursor_run
        assert cursor_run is not None
        t.marks = MarkSet({runs[0]})
        t.refresh_marks()
        ops.abort(store, [runs[0]])
        new = ops.new_run(store, simple).id
        await pilot.pause(1.0)
        await settle(pilot)
        assert t.order[0] == new, "the new run is shown at the top"
        assert t.cursor_run is not None and t.cursor_run.id == cursor_run.id
        assert t.cursor_row == 3
        row = visible_rows(pilot)[t.order.index(runs[0])]
        assert row[0] == "●" and row[4] == "Aborted"
        await pilot.press("p")
        await pilot.pause()
        assert "PAUSED" in status_line(pilot)
        ops.abort(store, [runs[1]])
        await pilot.pause(1.2)
        await settle(pilot)
        assert visible_rows(pilot)[t.order.index(runs[1])][4] == "Pending"
        await pilot.press("r")
        await settle(pilot)
        assert visible_rows(pilot)[t.order.index(runs[1])][4] == "Aborted"


async def test_a_refresh_with_nothing_changed_repaints_nothing(demo: Store):
    app = make_app(demo, pipeline="train-resnet")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        before = t._update_count
        rows = list(t.rows_by_id.values())
        assert t.apply(rows, FIXED_NOW) is False
        await pilot.press("r")
        await settle(pilot)
        assert t._update_count == before


async def test_details_pane_and_details_view_follow_the_console(demo: Store):
    app = make_app(demo, pipeline="train-resnet", refresh=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        index = next(i for i, r in enumerate(visible_rows(pilot)) if r[4] == "Completed")
        t.move_cursor(row=index)
        await pilot.press("enter")
        await settle(pilot)
        panel = app.screen.query_one(DetailsPanel)
        assert panel.display and app.screen.has_class("-pane")
        run = t.cursor_run
        assert run is not None and panel.run_id == run.id
        await pilot.press("v")
        await settle(pilot)
        assert app.screen.has_class("-view")
        assert [str(c.label) for c in t.columns.values()][1:] == ["RUN", "STATUS"]
        console = panel.query_one("#console")
        lines_before = len(console.lines)  # type: ignore[attr-defined]
        with demo.write() as s:
            s.execute(
                insert(LOG),
                [
                    {
                        "run_id": run.id,
                        "attempt": 1,
                        "step": "train",
                        "stream": "stdout",
                        "time": FIXED_NOW,
                        "line": "fresh!",
                    }
                ],
            )
            s.execute(update(RUN).where(RUN.c.id == run.id).values(updated=FIXED_NOW))
        await pilot.pause(1.0)
        await settle(pilot)
        assert len(console.lines) == lines_before + 1  # type: ignore[attr-defined]
        assert console.lines[-1] == "[train] fresh!"  # type: ignore[attr-defined]
        await pilot.press("v")
        await settle(pilot)
        assert not app.screen.has_class("-view")
        assert len(t.columns) == 9
