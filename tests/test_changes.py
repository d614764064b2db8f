"""Watching for changed runs by writers' clocks: a change is news once, a writer whose
clock runs ahead does not hide the others' changes, one that lags a little is seen."""

from __future__ import annotations

from runs_tui.core.changes import SKEW, Watch


def test_a_change_is_news_once_and_a_new_stamp_is_news_again():
    watch = Watch(100.0)
    fresh, watch = watch.after([(1, 100.5), (2, 101.0)])
    assert fresh == [1, 2] and watch.latest == 101.0
    fresh, watch = watch.after([(1, 100.5), (2, 101.0)])
    assert fresh == []
    fresh, watch = watch.after([(1, 100.5), (2, 101.0), (2, 102.0)])
    assert fresh == [2]


def test_a_writer_ahead_does_not_hide_the_others():
    watch = Watch(100.0)
    _, watch = watch.after([(1, 100.0 + 3600)])  # an agent whose clock is an hour ahead
    assert watch.since(now=105.0) == 105.0 - SKEW, "asked from the viewer's clock, not its"


def test_a_writer_lagging_within_the_margin_is_seen():
    watch = Watch(200.0)
    assert watch.since(now=1e12) == 200.0 - SKEW
    fresh, _ = watch.after([(7, 200.0 - SKEW / 2)])
    assert fresh == [7]
