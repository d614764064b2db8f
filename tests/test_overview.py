"""The overview of every pipeline (`O`, `ls --all-pipelines`) and the PIPELINE column,
on the demo's three pipelines: what it shows is checked against every run's own fields."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from ui_support import FIXED_NOW, make_app, settle, title_bar, visible_rows

from runs_tui.core.db import Store
from runs_tui.core.overview import WINDOW
from runs_tui.core.records import RunQuery, RunRow, SortKey, ValueFilter
from runs_tui.core.status import Status
from runs_tui.sources.sql import SqlSource

CLI = Callable[..., tuple[int, str, str]]


def every_run(store: Store) -> list[RunRow]:
    return list(SqlSource(store).rows(RunQuery(None)))


def triage(rows: list[RunRow], at: float) -> list[RunRow]:
    """What the overview opens on, decided from each run's fields."""
    wanted = (Status.RUNNING.value, Status.FAILED.value)
    return [r for r in rows if r.status in wanted and r.updated >= at - WINDOW]


def test_the_pipeline_column_sorts_filters_and_counts_by_name(demo: Store):
    source = SqlSource(demo)
    rows = every_run(demo)
    names = sorted({r.pipeline for r in rows})
    assert len(names) == 3
    by_name = source.window(RunQuery(None, sort=(SortKey("pipeline"),)), 0, len(rows))
    assert [r.pipeline for r in by_name] == sorted(r.pipeline for r in rows)
    one = RunQuery(None, filters=(ValueFilter("pipeline", frozenset({names[1]})),))
    assert source.count(one) == sum(r.pipeline == names[1] for r in rows) > 0
    counts = {v.value: v.count for v in source.distinct_values(RunQuery(None), "pipeline")}
    assert counts == {n: sum(r.pipeline == n for r in rows) for n in names}


def test_choices_and_tags_of_every_pipeline_are_the_union_of_each(demo: Store):
    source = SqlSource(demo)
    pipelines = source.pipelines()
    every = source.column_choices(None)
    for p in pipelines:
        one = source.column_choices(p.id)
        assert set(one.series) <= set(every.series)
        assert set(one.params) <= set(every.params)
        assert set(source.pipeline_tags(p.id)) <= set(source.pipeline_tags(None))


def test_ls_all_pipelines_lists_what_the_overview_opens_on(demo: Store, cli: CLI):
    import time

    code, out, err = cli("ls", "--all-pipelines", "--format", "csv")
    assert code == 0, err
    records = list(csv.DictReader(io.StringIO(out)))
    expected = triage(every_run(demo), time.time())
    assert {(r["pipeline"], r["run"]) for r in records} == {
        (r.pipeline, str(r.number)) for r in expected
    }
    assert "pipeline" in out.splitlines()[0].split(",")
    assert out.splitlines()[0].split(",").count("pipeline") == 1


def test_ls_all_pipelines_status_replaces_the_overview_states(demo: Store, cli: CLI):
    code, out, err = cli("ls", "--all-pipelines", "--status", "completed", "--format", "csv")
    assert code == 0, err
    assert {r["status"] for r in csv.DictReader(io.StringIO(out))} <= {"Completed"}


def test_ls_all_pipelines_with_a_pipeline_is_refused(demo: Store, cli: CLI):
    name = every_run(demo)[0].pipeline
    code, out, err = cli("ls", "--all-pipelines", name)
    assert code == 2 and out == ""
    assert "--all-pipelines" in err and name in err and len(err.strip().splitlines()) == 1


async def test_o_opens_every_pipeline_and_goes_back(demo: Store):
    rows = every_run(demo)
    expected = triage(rows, FIXED_NOW)
    assert {r.pipeline for r in expected} and len(expected) < len(rows)
    app = make_app(demo, pipeline=rows[0].pipeline)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        before = title_bar(pilot)
        assert rows[0].pipeline in before
        await pilot.press("O")
        await settle(pilot)
        assert "Every pipeline" in title_bar(pilot) and "OVERVIEW" in title_bar(pilot)
        shown = visible_rows(pilot)
        runs = {(r.pipeline, f"#{r.number}") for r in expected}
        assert {(cells[1], cells[2]) for cells in shown} == runs  # after the mark column
        header = [str(c.label) for c in app.screen.query_one("RunsTable").columns.values()]
        assert any("PIPELINE" in h for h in header)
        await pilot.press("O")
        await settle(pilot)
        assert title_bar(pilot) == before


async def test_an_action_in_the_overview_acts_on_another_pipelines_run(demo: Store):
    rows = every_run(demo)
    first = rows[0].pipeline
    running = [
        r for r in triage(rows, FIXED_NOW) if r.status == Status.RUNNING and r.pipeline != first
    ]
    assert running
    app = make_app(demo, pipeline=first)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        table = app.screen.query_one("RunsTable")
        row = [str(i) for i in table.order].index(str(running[0].id))
        table.move_cursor(row=row)
        await pilot.pause()
        assert table.cursor_run.id == running[0].id
        await pilot.press("a")  # abort: one run, no question
        await settle(pilot)
    after = SqlSource(demo).runs([running[0].id])[0]
    assert after.status == Status.ABORTED.value


async def test_select_all_in_the_overview_marks_every_pipelines_runs(demo: Store):
    from textual.widgets import OptionList

    rows = [r for r in every_run(demo) if not r.archived]
    app = make_app(demo, pipeline=rows[0].pipeline)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        await pilot.press("asterisk")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        first = str(options.get_option_at_index(0).prompt)
        assert first == f"All in every pipeline ({len(rows)} runs)"
        await pilot.press("enter")
        await settle(pilot)
        assert len(app.screen.query_one("RunsTable").marks) == len(rows)


async def test_the_overview_follows_changes_in_every_pipeline(demo: Store):
    from runs_tui.core.status import Action

    rows = every_run(demo)
    first = rows[0].pipeline
    running = [
        r for r in triage(rows, FIXED_NOW) if r.status == Status.RUNNING and r.pipeline != first
    ]
    app = make_app(demo, pipeline=first, refresh=3600)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        table = app.screen.query_one("RunsTable")
        assert running[0].id in table.order
        SqlSource(demo).transition(Action.ABORT, [running[0].id])  # by someone else
        app.screen.reload(force=False)  # type: ignore[attr-defined]  # what a tick does
        await settle(pilot)
        assert running[0].id not in table.order
        assert len(table.order) == len(triage(rows, FIXED_NOW)) - 1
