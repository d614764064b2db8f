"""The step of the best value (issue 14): a series' summary keeps the steps where it first
reached its minimum and maximum. The agent keeps them while it writes (checked against
brute force over random points, flushed at random moments), an older database gets them
from its stored points, and `m:…:min@step` / `max@step` columns sort, filter, list and
export them; the table adds one from the columns modal and the status line says where
the minimum was reached."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
import test_plans as plans
from cli_runs import claimed
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy import create_engine, insert, inspect, select
from support import props
from test_ui_view import go_to_column, headers, options, press
from textual.widgets import Static
from ui_support import SIZE, make_app, settle, status_line, table

from runs_tui.agent.protocol import MetricReport
from runs_tui.core import ops, query
from runs_tui.core.columns import parse_column
from runs_tui.core.db import Store, now, open_store
from runs_tui.core.migrations.upgrade import downgrade
from runs_tui.core.models import METRIC
from runs_tui.core.records import RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.ui.screens.columns import ColumnsScreen

Point = tuple[float, int | None]  # value, step
SERIES = ("val", "train")
MIN_STEP = "m:loss/val:min@step"


def brute_force(points: Sequence[Point]) -> tuple[float, int | None, float, int | None]:
    """(min, its first step, max, its first step) of the points in the order reported."""
    values = [v for v, _ in points]
    lo, hi = min(values), max(values)
    return lo, points[values.index(lo)][1], hi, points[values.index(hi)][1]


def summaries(store: Store, run_id: int) -> dict[str, tuple[float, int | None, float, int | None]]:
    with store.read() as s:
        rows = s.execute(
            select(
                METRIC.c.series, METRIC.c.min, METRIC.c.min_step, METRIC.c.max, METRIC.c.max_step
            ).where(METRIC.c.run_id == run_id)
        ).all()
    return {series: (lo, lo_step, hi, hi_step) for series, lo, lo_step, hi, hi_step in rows}


def write(store: Store, pipeline: str, reported: Sequence[tuple[str, Point, bool]]) -> int:
    """A run whose agent reports `reported` (series, point, flush after it); its id."""
    writer = claimed(store, pipeline)
    for series, (value, step), flush in reported:
        writer.metric(MetricReport("loss", series, value, step))
        if flush:
            assert writer.flush()
    assert writer.flush()
    return writer.claim.run_id


def expected(reported: Sequence[tuple[str, Point, bool]]) -> dict[str, tuple]:
    by_series: dict[str, list[Point]] = {}
    for series, point, _flush in reported:
        by_series.setdefault(series, []).append(point)
    return {series: brute_force(points) for series, points in by_series.items()}


values = st.sampled_from([0.0, 1.0, -1.0, 2.5, 1e300]) | st.floats(-1e3, 1e3, allow_nan=False)
steps = st.none() | st.integers(-5, 50) | st.sampled_from([-(2**31), 2**31 - 1])
reports = st.lists(
    st.tuples(st.sampled_from(SERIES), st.tuples(values, steps), st.booleans()),
    min_size=1,
    max_size=30,
)


@props(90)
@given(reported=reports)
def test_the_agent_keeps_the_first_step_of_each_extreme(
    store: Store, simple: str, reported: list[tuple[str, Point, bool]]
) -> None:
    run_id = write(store, simple, reported)
    assert summaries(store, run_id) == expected(reported)


@pytest.mark.postgres
@props(30)
@given(reported=reports)
def test_the_agent_keeps_the_first_step_of_each_extreme_on_postgres(
    pg_url: str, pipeline_file: Path, reported: list[tuple[str, Point, bool]]
) -> None:
    store = open_store(pg_url)
    try:
        run_id = write(store, register(store, pipeline_file).name, reported)
        assert summaries(store, run_id) == expected(reported)
    finally:
        store.dispose()


TIES: list[tuple[str, Point, bool]] = [
    ("val", (3.0, 10), False),
    ("val", (1.0, 20), True),
    ("val", (1.0, 30), False),  # the minimum again: step 20 stays
    ("val", (3.0, 40), True),  # the maximum again: step 10 stays
    ("train", (5.0, None), False),  # reached without a step
    ("train", (7.0, 1), True),
    ("train", (5.0, 2), False),
]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_an_older_database_gets_the_steps_from_its_points(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pipeline_file: Path
) -> None:
    """A database at revision 0003 (no steps) is upgraded: each summary's steps are those
    of its first points at the extremes, as the agent would have kept them; a summary
    whose points are gone (dropped during an outage) gets none."""
    url = (
        f"sqlite:///{tmp_path / 'runs.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = open_store(url)
    try:
        pipeline = register(store, pipeline_file).name
        run_id = write(store, pipeline, TIES)
        other = write(store, pipeline, [("val", (2.0, 5), False), ("val", (-2.0, 6), False)])
        kept = {run_id: summaries(store, run_id), other: summaries(store, other)}
        lonely = ops.new_run(store, pipeline).id
        with store.write() as s:
            s.execute(
                insert(METRIC).values(
                    run_id=lonely, title="loss", series="val", last=1.0, min=0.5, max=2.0,
                    last_step=9, updated=0.0,
                )
            )  # fmt: skip
    finally:
        store.dispose()
    assert kept[run_id] == {"val": (1.0, 20, 3.0, 10), "train": (5.0, None, 7.0, 1)}

    engine = create_engine(url)
    with engine.begin() as conn:
        downgrade(conn, "0003")
    with engine.connect() as conn:
        assert "min_step" not in {c["name"] for c in inspect(conn).get_columns("metric")}
    engine.dispose()

    store = open_store(url)  # upgrades 0003 -> head
    try:
        assert summaries(store, run_id) == kept[run_id]
        assert summaries(store, other) == kept[other] == {"val": (-2.0, 6, 2.0, 5)}
        assert summaries(store, lonely) == {"val": (0.5, None, 2.0, None)}
    finally:
        store.dispose()


# --- columns: sort, filter, ls, export, the table -------------------------------------------


def test_a_step_sort_walks_its_index_with_statistics(store: Store, simple: str, db_path: Path):
    """As a sort on a value (test_plans): the window walks `ix_metric_min_step` from the
    first run with a step and stops after the window, with a 1M-run database's statistics."""
    pid = plans._fill(store, 3000)
    with sqlite3.connect(db_path) as conn:
        conn.execute("ANALYZE")
        conn.executemany(
            "UPDATE sqlite_stat1 SET stat = ? WHERE idx = ?",
            [(stat, idx) for idx, stat in plans.MILLION.items()],
        )
    q = RunQuery(pid, sort=(SortKey(MIN_STEP, True),), at=now())
    first = query._segments(q, store, now())[0].limit(200)
    sql = str(first.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(db_path) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    assert any("ix_metric_min_step" in step for step in plan), plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # ties only: RIGHT PART


def three_runs(store: Store, pipeline: str) -> dict[int, int]:
    """Runs #1..#3 whose loss/val minimum was reached at steps 4200, None and 300; their
    ids by number."""
    runs = {
        1: [("val", (0.5, 100), False), ("val", (0.231, 4200), False)],
        2: [("val", (0.1, None), False), ("val", (0.9, 7), False)],
        3: [("val", (0.7, 300), False), ("val", (0.8, 400), False)],
    }
    return {number: write(store, pipeline, reported) for number, reported in runs.items()}


def test_ls_sorts_filters_and_exports_step_columns(cli, store: Store, simple: str) -> None:
    three_runs(store, simple)
    columns = f"run,m:loss/val:min,{MIN_STEP},m:loss/val:max@step"
    code, out, err = cli("ls", simple, "--columns", columns, "--sort", MIN_STEP)
    assert (code, err) == (0, "")
    lines = [line.split() for line in out.lower().splitlines()]
    assert lines[0] == [
        "run",
        "loss/val",
        "(min)",
        "loss/val",
        "(min@step)",
        "loss/val",
        "(max@step)",
    ]
    assert lines[1:] == [
        ["#3", "0.7", "300", "400"],
        ["#1", "0.231", "4200", "100"],
        ["#2", "0.1", "7"],
    ]

    code, out, _ = cli(
        "ls", simple, "--columns", columns, f"--sort=-{MIN_STEP}", "--format", "json"
    )
    assert code == 0
    got = json.loads(out)
    assert [(r["run"], r[MIN_STEP], r["m:loss/val:max@step"]) for r in got] == [
        (1, 4200, 100),
        (3, 300, 400),
        (2, None, 7),
    ]  # missing last either way

    view = f"c=run&c={MIN_STEP}&s=-{MIN_STEP}&fr.{MIN_STEP}=1000.."
    code, out, _ = cli("ls", simple, "--view", view, "--format", "csv")
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["id", "run", MIN_STEP, "reason"],
        ["1", "1", "4200", ""],
    ]
    code, _, err = cli("ls", simple, "--columns", "m:loss/val:best@step")
    assert code == 2 and "min@step|max@step" in err


async def test_the_columns_modal_adds_a_step_column_and_the_status_line_says_where(
    store: Store, simple: str
) -> None:
    three_runs(store, simple)
    shown = [parse_column(spec) for spec in ("run", "status", "m:loss/val:max")]
    app = make_app(store, pipeline=simple, columns=shown, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "C")
        assert isinstance(app.screen, ColumnsScreen)
        listed = options(app)
        wanted = listed.index("loss/val (min@step) · metric")
        assert listed[wanted + 1] == "loss/val (max@step) · metric"
        await pilot.press(*["down"] * wanted, "space")
        await press(pilot, "ctrl+s")
        assert headers(pilot)[-1] == "loss/val (min@step)"
        rows = [[c.plain for c in table(pilot).get_row_at(i)] for i in range(3)]
        assert [(r[1], r[-1]) for r in rows] == [("#3", "300"), ("#2", ""), ("#1", "4200")]

        await go_to_column(pilot, MIN_STEP)
        await pilot.press("down", "down")  # #1
        await settle(pilot)
        detail = status_line(pilot).split(" | ", 1)[1]
        assert detail == "loss/val (min@step): 0.231 at step 4,200", detail
        await go_to_column(pilot, "m:loss/val:max")  # the value's own cell says it too
        await settle(pilot)
        assert status_line(pilot).endswith("| loss/val (max): 0.5 at step 100")

        await press(pilot, "v")  # the details' metrics: min and max with their steps
        metrics = app.screen.query_one("#metrics", Static).content
        console = Console(width=SIZE[0], record=True, color_system=None)
        console.print(metrics)
        row = next(line for line in console.export_text().splitlines() if "loss/val" in line)
        assert row.split()[1:8] == ["0.231", "0.231", "at", "step", "4,200", "0.5", "at"], row
        await press(pilot, "v")

        await go_to_column(pilot, MIN_STEP)
        await press(pilot, "s")  # the sort takes it too
        assert [table(pilot).get_row_at(i)[1].plain for i in range(3)] == ["#3", "#1", "#2"]
