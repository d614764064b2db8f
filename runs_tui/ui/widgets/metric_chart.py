"""A line chart of metric lines (`core.metric_plot.Line`), on textual-plot's PlotWidget.

Each run has a colour and a marker: the line is drawn in Braille dots in its colour,
with its marker (an ASCII character) every few cells along it and in the legend, so
the runs can be told apart without colour too (NO_COLOR, a monochrome terminal).
Labels are untrusted (run names): they arrive made safe (`metric_plot.run_label`) and
only reach the legend, which shows them as text; the axis labels are ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor, log10

import numpy as np
from textual_plot import HiResMode, LegendLocation, NumericAxisFormatter, PlotWidget

from runs_tui.core.metric_plot import Line

COLOURS = ("#3d9df3", "#f39c3d", "#4cc864", "#e8507a", "#b07cf0", "#e6d23c", "#3cd2c8", "#b4b4b4")
MARKERS = ("*", "+", "x", "o", "#", "@", "%", "=")
MARKS_PER_LINE = 9
MAX_LABEL = 9  # a y tick label's cells: the left margin less the axis


class ValueAxis(NumericAxisFormatter):
    """Tick labels that fit the margin; on a log scale the values are log10 of the
    metric and the labels say the metric's own values (0.001, 1e+04)."""

    def __init__(self, log: bool = False) -> None:
        self.log = log

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        if not self.log:
            return super().get_ticks(min_, max_, max_ticks)
        if max_ - min_ >= 2:  # whole powers of ten, thinned to fit
            first, last = ceil(min_), floor(max_)
            every = max(1, ceil((last - first + 1) / max_ticks))
            return [float(t) for t in range(first, last + 1, every)]
        values = super().get_ticks(10**min_, 10**max_, max_ticks)  # round values
        return [log10(v) for v in values if v > 0]

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        if self.log:
            return [compact(10**t) for t in ticks]
        labels = super().get_labels_for_ticks(ticks)
        if any(len(label) > MAX_LABEL for label in labels):
            labels = [compact(t) for t in ticks]
        return labels


class StepAxis(NumericAxisFormatter):
    """Steps as whole numbers where the ticks are."""

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        if all(float(t).is_integer() for t in ticks):
            return [f"{int(t)}" for t in ticks]
        return super().get_labels_for_ticks(ticks)


def compact(value: float) -> str:
    """A tick value in at most MAX_LABEL cells."""
    for digits in (4, 3, 2, 1):
        text = f"{value:.{digits}g}"
        if len(text) <= MAX_LABEL:
            return text
    return text


class MetricChart(PlotWidget, can_focus=False, inherit_bindings=False):
    """The lines of one metric, x the step; no keys of its own (the screen's keys stay
    as they are) and no zooming: it is redrawn as points come in."""

    DEFAULT_CSS = """
    MetricChart {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, *, legend: bool = True, id: str | None = None) -> None:
        """`legend` False: one line, named elsewhere (no legend, no axis title: the
        details' chart, where every row counts)."""
        super().__init__(id=id, allow_pan_and_zoom=False)
        self.legend = legend

    def on_mount(self) -> None:
        self.margin_top = 1
        self.margin_bottom = 3 if self.legend else 2
        self.set_x_formatter(StepAxis())
        self.set_y_formatter(ValueAxis())
        if self.legend:
            self.set_xlabel("step")

    @property
    def buckets(self) -> int:
        """The plot's width in cells: what lines are thinned to (two dots a cell)."""
        return max(self.size.width - self.margin_left - 2, 1)

    def draw(self, lines: Sequence[Line], log: bool = False) -> None:
        """Show `lines` (already thinned to `buckets`), in colour and marker order."""
        self.clear()
        self.set_y_formatter(ValueAxis(log))
        for i, ln in enumerate(lines):
            colour, marker = COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]
            if not len(ln.x):
                continue
            self.plot(ln.x, ln.y, line_style=colour, hires_mode=HiResMode.BRAILLE)
            at = _marked(len(ln.x), i, len(lines))
            self.scatter(ln.x[at], ln.y[at], marker=marker, marker_style=colour, label=ln.label)
        drawn = [ln for ln in lines if len(ln.x)]
        if self.legend and drawn:
            self.show_legend(self._emptiest_corner(drawn))
        else:
            self.show_legend(is_visible=False)

    def _emptiest_corner(self, lines: Sequence[Line]) -> LegendLocation:
        """The corner where the legend hides the fewest points (x ascending: only the
        points under its width, at either end, are looked at)."""
        x = np.concatenate([ln.x for ln in lines])
        y = np.concatenate([ln.y for ln in lines])
        plot_w = max(self.size.width - self.margin_left, 1)
        plot_h = max(self.size.height - self.margin_top - self.margin_bottom, 1)
        wide = (max(len(ln.label) for ln in lines) + 8) / plot_w  # marker, space, border
        high = (len(lines) + 3) / plot_h
        x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
        sx, sy = (x - x0) / ((x1 - x0) or 1), (y - y0) / ((y1 - y0) or 1)
        left, right, low, top = sx <= wide, sx >= 1 - wide, sy <= high, sy >= 1 - high
        hidden = {
            LegendLocation.TOPRIGHT: np.count_nonzero(right & top),
            LegendLocation.TOPLEFT: np.count_nonzero(left & top),
            LegendLocation.BOTTOMRIGHT: np.count_nonzero(right & low),
            LegendLocation.BOTTOMLEFT: np.count_nonzero(left & low),
        }
        return min(hidden, key=lambda corner: hidden[corner])  # ties: in that order


def _marked(n: int, index: int, of: int) -> np.ndarray:
    """Where a line's markers go: evenly along it, each line's a little further on, so
    that lines lying on each other still show every marker."""
    if n <= MARKS_PER_LINE:
        return np.arange(n)
    shift = (index / max(of, 1)) * (n - 1) / MARKS_PER_LINE
    spots = np.linspace(0, n - 1, MARKS_PER_LINE) + shift
    return np.unique(np.minimum(spots.round().astype(np.int64), n - 1))
