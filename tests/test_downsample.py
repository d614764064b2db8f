"""Thinning a metric's history for a chart (core/downsample.py, core/metric_plot.py): the
count is bounded by the width, every bucket's extremes survive (a spike is never lost),
and histories grow by what was reported since."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from runs_tui.core.downsample import minmax
from runs_tui.core.metric_plot import EMPTY, default_metric, extended, line, run_label
from runs_tui.core.records import MetricHistory, RunRow

values = st.lists(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=3000
)


@settings(max_examples=examples(300), deadline=None)
@given(ys=values, gaps=st.data(), buckets=st.integers(1, 300))
def test_bounded_and_extremes_survive(ys: list[float], gaps: st.DataObject, buckets: int):
    steps = gaps.draw(st.lists(st.integers(0, 50), min_size=len(ys), max_size=len(ys)))
    x = np.cumsum(np.array(steps, dtype=np.float64))  # ascending, repeats allowed
    y = np.array(ys, dtype=np.float64)
    tx, ty = minmax(x, y, buckets)
    assert len(tx) <= max(2 * buckets + 2, 0) or len(tx) == len(x)
    assert len(tx) <= len(x)
    assert list(tx) == sorted(tx)  # still in x order
    assert ty.min() == y.min() and ty.max() == y.max()  # the extremes of all
    assert (tx[0], ty[0]) == (x[0], y[0]) and (tx[-1], ty[-1]) == (x[-1], y[-1])
    kept = set(zip(tx.tolist(), ty.tolist(), strict=True))
    assert kept <= set(zip(x.tolist(), y.tolist(), strict=True))  # points, not made up


def test_a_spike_in_100000_points_survives_at_any_width():
    x = np.arange(100_000, dtype=np.float64)
    y = np.sin(x / 5000)
    y[61_234] = 50.0
    y[7] = -50.0
    for buckets in (1, 37, 80, 200):
        tx, ty = minmax(x, y, buckets)
        assert len(tx) <= 2 * buckets + 2
        assert (61_234.0, 50.0) in zip(tx.tolist(), ty.tolist(), strict=True)
        assert (7.0, -50.0) in zip(tx.tolist(), ty.tolist(), strict=True)


def test_every_bucket_keeps_its_own_extremes():
    """Not only the global ones: a bump in each bucket is drawn."""
    x = np.arange(1000, dtype=np.float64)
    y = np.zeros(1000)
    y[50::100] = np.arange(1, 11)  # a peak in each of 10 buckets of 100
    _tx, ty = minmax(x, y, 10)
    assert sorted(v for v in ty.tolist() if v > 0) == list(range(1, 11))


def test_few_points_are_all_kept_and_bad_widths_refused():
    x, y = np.arange(5.0), np.arange(5.0)
    assert minmax(x, y, 3)[0].tolist() == x.tolist()
    with pytest.raises(ValueError, match="buckets must be at least 1, not 0"):
        minmax(x, y, 0)


def test_one_step_for_every_point_is_cut_by_position():
    x, y = np.zeros(1000), np.arange(1000.0)
    tx, ty = minmax(x, y, 10)
    assert len(tx) <= 22 and ty.min() == 0 and ty.max() == 999


def test_histories_grow_by_what_came_since_in_step_order():
    trace = extended(EMPTY, MetricHistory([0, 10, 20], [3.0, 2.0, 1.0], until=7))
    assert trace.until == 7 and trace.x.tolist() == [0, 10, 20]
    trace = extended(trace, MetricHistory([30, None], [0.5, 0.25], until=9))
    assert trace.x.tolist() == [0, 4, 10, 20, 30]  # a point without a step: its place
    assert trace.y.tolist() == [3.0, 0.25, 2.0, 1.0, 0.5] and trace.until == 9
    assert extended(trace, MetricHistory([], [], until=9)).until == 9
    again = extended(trace, MetricHistory([5], [9.0], until=12))  # an earlier step (a retry)
    assert again.x.tolist() == sorted(again.x.tolist()) and 9.0 in again.y.tolist()


def test_log_scale_leaves_out_values_not_above_zero():
    trace = extended(EMPTY, MetricHistory([0, 1, 2, 3], [100.0, 0.0, -1.0, 0.01]))
    drawn = line("run", trace, 80, log=True)
    assert drawn.y.tolist() == [2.0, -2.0] and drawn.dropped == 2 and drawn.points == 4
    assert line("run", trace, 80).y.tolist() == [100.0, 0.0, -1.0, 0.01]


def test_log_of_the_points_kept_is_the_points_kept_of_the_log():
    """`line` takes log10 after thinning (cheaper): the same points as thinning the logs,
    the one-point spikes up and down among them."""
    rng = np.random.default_rng(3)
    x = np.arange(100_000, dtype=np.float64)
    y = np.exp(-x / 20_000) + 0.05 * rng.random(100_000)
    y[61_234], y[7_777], y[99] = 50.0, 1e-6, 0.0
    trace = extended(EMPTY, MetricHistory(x.tolist(), y.tolist()))
    positive = y > 0
    for buckets in (37, 188):
        drawn = line("run", trace, buckets, log=True)
        tx, ty = minmax(x[positive], np.log10(y[positive]), buckets)
        assert drawn.x.tolist() == tx.tolist() and drawn.y.tolist() == ty.tolist()
        assert {61_234.0, 7_777.0} <= set(drawn.x.tolist()) and drawn.dropped == 1


def test_the_metric_is_the_sorts_then_the_first_column_shown_then_the_only_one():
    have = {("loss", "val"), ("acc", "acc")}
    specs = ["m:loss/train:last", "m:acc:max", "run", "m:loss/val:last"]
    assert default_metric(specs, have) == ("acc", "acc")
    assert default_metric(["run", "status", "m:loss/val:min@step"], have) == ("loss", "val")
    assert default_metric(["run", "bad:"], have) is None  # two: the user picks
    assert default_metric(["run"], {("rows", "rows")}) == ("rows", "rows")


def _row(number: int | None, name: str) -> RunRow:
    return RunRow(1, "p", number, name, "1", "running", "u", "q", 0.0, None, 0.0, None, False, 1,
                  None, None, "", None)  # fmt: skip


def test_legend_labels_are_one_safe_line():
    assert run_label(_row(12, "evil\x1b[31m\nname")) == "#12 evil␛[31m name"
    assert run_label(_row(3, "train #3")) == "train #3"
    assert run_label(_row(None, "x" * 50)).endswith("…")
