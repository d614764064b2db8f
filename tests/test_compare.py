"""The comparison model (`core.compare`) made from a real SQLite store's details: what
differs, metrics' lowest and highest per row, steps with exit codes across pipeline
versions, and the runs in the order asked."""

from __future__ import annotations

import math

import pytest
from compare_runs import HOSTILE, seed

from runs_tui.core import compare
from runs_tui.core.compare import ends
from runs_tui.sources.sql import SqlSource

AT = 2_000_000_000.0


@pytest.fixture
def runs(store, tmp_path) -> dict[str, int]:
    return seed(store, tmp_path)


def _compared(store, ids: list[int]) -> compare.Comparison:
    return compare.build(compare.load(SqlSource(store), ids), AT)


def test_runs_in_the_order_asked_with_their_info(store, runs):
    c = _compared(store, [runs["B"], runs["A"], runs["C"]])
    assert [r.id for r in c.runs] == [runs["B"], runs["A"], runs["C"]]
    assert compare.labels(c) == ["#2", "#1", "#3"]
    info = {line.key: line.values for line in c.info}
    assert info["status"] == ("Completed", "Failed", "Pending")
    assert info["exit_code"] == ("0", "3", None)
    assert info["reason"] == (None, "step 'fit' exited with code 3", None)
    assert info["tags"] == ("best, sweep", "sweep", None)
    assert info["run_time"][2] is None  # never started
    assert all(isinstance(t, str) and t for t in info["run_time"][:2])
    # What is the same in every run is left out by default, the essentials are kept.
    assert [line.key for line in c.shown_info(False)] == [
        "name",
        "status",
        "reason",
        "exit_code",
        "run_time",
        "tags",
    ]
    assert [line.key for line in c.shown_info(True)] == [line.key for line in c.info]


def test_only_the_parameters_that_differ_unless_all(store, runs):
    c = _compared(store, [runs["A"], runs["C"]])
    params = {line.label: line.values for line in c.params}
    assert params == {"args/lr": ("0.5", "0.5"), "args/note": (HOSTILE, "base")}
    assert [line.label for line in c.shown_params(False)] == ["args/note"]
    assert [line.label for line in c.shown_params(True)] == ["args/lr", "args/note"]
    assert (c.params_differing, len(c.params)) == (1, 2)


def test_metrics_mark_the_lowest_and_highest_of_each_row(store, runs):
    c = _compared(store, [runs["A"], runs["B"], runs["C"]])
    rows = {(m.name, m.agg): m for m in c.metrics}
    assert [(m.name, m.agg) for m in c.metrics][:3] == [
        (f"acc{HOSTILE}", "last"),
        (f"acc{HOSTILE}", "min"),
        (f"acc{HOSTILE}", "max"),
    ]
    last = rows[("loss/val", "last")]
    assert last.values == (0.25, 0.5, None)  # C reported nothing
    assert (last.low, last.high) == ({0}, {1})
    low = rows[("loss/val", "min")]
    assert low.values == (0.125, 0.5, None) and (low.low, low.high) == ({0}, {1})
    high = rows[("loss/val", "max")]
    assert high.values == (2.5, 1.0, None) and (high.low, high.high) == ({1}, {0})
    # One run has the metric: nothing to set apart.
    only = rows[(f"acc{HOSTILE}", "last")]
    assert only.values == (0.75, None, None) and not only.low and not only.high


def test_steps_with_exit_codes_and_steps_a_version_lacks(store, runs):
    c = _compared(store, [runs["A"], runs["B"], runs["D"]])
    steps = {s.name: s.values for s in c.steps}
    assert list(steps) == ["prepare", "fit", "report", "export"]
    assert steps["prepare"] == ("Completed 0", "Completed 0", "not run")
    assert steps["fit"] == ("Failed 3", "Completed 0", "not run")
    assert steps["report"] == ("not run", "Completed 0", "not run")
    assert steps["export"] == (None, None, "not run")  # not in version 1
    assert [s.name for s in c.shown_steps(False)] == ["prepare", "fit", "report", "export"]
    same = _compared(store, [runs["C"], runs["D"]])
    assert [s.name for s in same.shown_steps(False)] == ["export"]
    assert [s.name for s in same.shown_steps(True)] == ["prepare", "fit", "report", "export"]
    assert (same.steps_differing, len(same.steps)) == (1, 4)


def test_load_keeps_one_of_each_and_leaves_out_unknown_runs(store, runs):
    got = compare.load(SqlSource(store), [runs["B"], 999_999, runs["A"], runs["B"]])
    assert [d.row.id for d in got] == [runs["B"], runs["A"]]


def test_runs_of_several_pipelines_are_named_with_their_pipeline(store, runs, simple):
    from runs_tui.core import ops

    other = ops.new_run(store, simple).id
    c = _compared(store, [runs["A"], other])
    assert compare.labels(c) == ["train#1", "simple#1"]
    assert next(line for line in c.info if line.key == "pipeline").differs


def test_ends_ignore_missing_and_non_finite_values_and_keep_ties():
    assert ends([1.0, None, 3.0, 1.0]) == ({0, 3}, {2})
    assert ends([math.nan, 2.0, math.inf, -math.inf, 5.0]) == ({1}, {4})
    assert ends([2.0, 2.0, None]) == (set(), set())
    assert ends([None, None]) == (set(), set())


def test_how_many_runs_compare_takes():
    assert compare.count_error(1) == "compare takes 2 to 8 runs; got 1"
    assert compare.count_error(9) == "compare takes 2 to 8 runs; got 9"
    assert compare.count_error(2) == compare.count_error(8) == ""
