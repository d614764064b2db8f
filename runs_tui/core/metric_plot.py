"""A metric of some runs as chart lines, free of any widget: each run's history kept
whole as arrays (x the step) and extended by what was reported since, then thinned to
the chart's width (`downsample.minmax`), on a log scale when asked. Run in workers: the
UI thread only draws the lines."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from runs_tui.core.columns import parse_column
from runs_tui.core.downsample import Floats, minmax
from runs_tui.core.records import MetricHistory, RunId, RunRow
from runs_tui.core.source import RunSource
from runs_tui.core.text import one_line

MetricKey = tuple[str, str]  # (title, series)


def metric_name(key: MetricKey) -> str:
    """`loss/val`, or `accuracy` for a series named as its title."""
    title, series = key
    return title if title == series else f"{title}/{series}"


def run_label(row: RunRow, limit: int = 32) -> str:
    """A run in a legend, safe to show: `#12 name` (the name alone where it says the
    number already, or runs have no numbers)."""
    number = f"#{row.number}" if row.number is not None else ""
    text = row.name if number in row.name else f"{number} {row.name}"
    return one_line(text.strip(), limit=limit)


@dataclass(frozen=True)
class Trace:
    """One run's whole history of a metric, x ascending. x is the step, or the point's
    place in the series where it came without one; points of several attempts at one
    step are all kept. `until`: where the next read starts."""

    x: Floats
    y: Floats
    until: int = 0

    def __len__(self) -> int:
        return len(self.x)


EMPTY = Trace(np.empty(0), np.empty(0))


def extended(trace: Trace, history: MetricHistory) -> Trace:
    """`trace` with the points of `history` (read after `trace.until`) added."""
    if not history.values:
        return Trace(trace.x, trace.y, max(trace.until, history.until))
    known = len(trace.x)
    steps = history.steps
    if None in steps:  # a point without a step: its place in the series instead
        steps = [known + i if s is None else s for i, s in enumerate(steps)]
    new_x = np.array(steps, dtype=np.float64)
    x = np.concatenate((trace.x, new_x))
    y = np.concatenate((trace.y, np.array(history.values, dtype=np.float64)))
    tail = x[max(known - 1, 0) :]  # the new points, and the last one before them
    if bool(np.any(tail[1:] < tail[:-1])):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return Trace(x, y, history.until)


def read(source: RunSource, run_id: RunId, key: MetricKey, trace: Trace = EMPTY) -> Trace:
    """`trace` extended by what the source has of the metric after it (may block)."""
    return extended(trace, source.metric_history(run_id, key[0], key[1], after=trace.until))


@dataclass(frozen=True)
class Line:
    """What a chart draws of one run: at most about `2 * buckets` points; on a log scale
    y is log10 of the value and `dropped` counts the values <= 0 left out."""

    label: str
    x: Floats
    y: Floats
    points: int  # in the whole history
    dropped: int = 0


def line(label: str, trace: Trace, buckets: int, log: bool = False) -> Line:
    """The chart line of `trace` for a plot `buckets` cells wide. On a log scale the
    log is taken of the points kept, not of the whole history (log10 rises with the
    value, so a bucket's extremes are the same points; 1 ms a run of 100,000 saved),
    and only a history with values <= 0 is copied without them (1 ms more)."""
    x, y, dropped = trace.x, trace.y, 0
    if log:
        positive = y > 0
        dropped = int(len(y) - np.count_nonzero(positive))
        if dropped:
            x, y = x[positive], y[positive]
    x, y = minmax(x, y, max(buckets, 1))
    if log:
        y = np.log10(y)
    return Line(label, x, y, len(trace), dropped)


def default_metric(specs: Iterable[str], available: Collection[MetricKey]) -> MetricKey | None:
    """The first metric among column specs (the sort's, then the columns shown) that a
    plotted run has; else the only metric there is; None: the user picks."""
    for spec in specs:
        try:
            column = parse_column(spec)
        except ValueError:
            continue
        if column.is_metric and (column.title, column.series) in available:
            return (column.title, column.series)
    return next(iter(available)) if len(available) == 1 else None
