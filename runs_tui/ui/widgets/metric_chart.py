"""A line chart of metric lines (`core.metric_plot.Line`), on textual-plot's PlotWidget.

Each run has a colour and a marker: the line is drawn in Braille dots in its colour,
with its marker (an ASCII character) every few cells along it and in the legend, so
the runs can be told apart without colour too (NO_COLOR, a monochrome terminal).
Labels are untrusted (run names): they arrive made safe (`metric_plot.run_label`) and
only reach the legend, which shows them as text; the axis labels are ours.

The lines' dots are laid out with numpy (`line_dots`, `braille_cells`) where textual-plot
runs Bresenham and groups the dots into cells in Python, dot by dot, asking for a
refresh per cell: 3 runs at 200x50 are about 17,000 dots, 70 of the 105 ms a draw took
(issue 14: under 100 ms of CPU). The dots are the same (its Bresenham, in closed form),
so the chart is unchanged. This overrides textual-plot's private `_render_line_plot`
and reads its canvas (id "plot") and the canvas's private `_canvas_region` (pinned in
pyproject.toml; the canary in tests/test_plot_screen.py draws lines both ways and
wants the same cells).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor, log10
from typing import cast

import numpy as np
from numpy.typing import NDArray
from textual.app import RenderResult
from textual.css.query import NoMatches
from textual_hires_canvas import Canvas
from textual_hires_canvas.hires import pixels as hires_pixels
from textual_plot import HiResMode, LegendLocation, NumericAxisFormatter, PlotWidget
from textual_plot.plot_widget import LinePlot

from runs_tui.core.metric_plot import Line

COLOURS = ("#3d9df3", "#f39c3d", "#4cc864", "#e8507a", "#b07cf0", "#e6d23c", "#3cd2c8", "#b4b4b4")
MARKERS = ("*", "+", "x", "o", "#", "@", "%", "=")
MARKS_PER_LINE = 9
MAX_LABEL = 9  # a y tick label's cells: the left margin less the axis
Ints = NDArray[np.int64]


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

    def render(self) -> RenderResult:
        """The canvas is refreshed once for the whole chart, not once a cell drawn."""
        try:
            canvas = self.query_one("#plot", Canvas)
        except NoMatches:  # not composed yet
            return super().render()
        with canvas.batch_refresh():
            return super().render()

    def _render_line_plot(self, dataset: LinePlot) -> None:
        """A line's Braille dots as textual-plot draws them, laid out with numpy; a line
        it would clip (a point off the canvas: not with limits from the data) or in
        another mode, it draws itself."""
        canvas = self.query_one("#plot", Canvas)
        region = canvas._canvas_region
        to_dots = self.get_hires_pixel_from_coordinate  # a linear map: arrays map whole
        x, y = cast(tuple[np.ndarray, np.ndarray], to_dots(dataset.x, dataset.y))  # type: ignore[arg-type]
        inside = (x >= 0) & (x <= region.width - 1) & (y >= 0) & (y <= region.height - 1)
        if dataset.hires_mode is not HiResMode.BRAILLE or not inside.all():
            super()._render_line_plot(dataset)
            return
        if len(x) < 2:  # no segment: nothing drawn
            return
        dots = line_dots(np.floor(x * 2).astype(np.int64), np.floor(y * 4).astype(np.int64))
        with canvas.batch_refresh():
            for cx, cy, char in braille_cells(*dots, region.width, region.height):
                canvas.set_pixel(cx, cy, char, style=dataset.line_style)

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


def line_dots(x: Ints, y: Ints) -> tuple[Ints, Ints]:
    """The dots of the polyline through the dots (x, y), each segment's as the canvas's
    Bresenham gives them (`Canvas._get_line_coordinates`), in closed form: along the
    longer axis every dot, k = 0..n; along the other, (2 k short + long) // (2 long)
    (rounded half up). Repeats are left in (a dot is a dot)."""
    x0, y0, x1, y1 = x[:-1], y[:-1], x[1:], y[1:]
    wide, high = np.abs(x1 - x0), np.abs(y1 - y0)
    long, short = np.maximum(wide, high), np.minimum(wide, high)
    count = long + 1
    seg = np.repeat(np.arange(len(count)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    other = (2 * short[seg] * k + long[seg]) // np.maximum(2 * long[seg], 1)
    x_long = (wide >= high)[seg]
    along_x, along_y = np.where(x_long, k, other), np.where(x_long, other, k)
    return x0[seg] + np.sign(x1 - x0)[seg] * along_x, y0[seg] + np.sign(y1 - y0)[seg] * along_y


def braille_cells(x: Ints, y: Ints, width: int, height: int) -> list[tuple[int, int, str]]:
    """The cells (column, row, Braille character) the dots fall in, on a canvas of
    `width` x `height` cells (2 x 4 dots each; dots off it are left out)."""
    on = (x >= 0) & (x < 2 * width) & (y >= 0) & (y < 4 * height)
    x, y = x[on], y[on]
    codes = np.zeros(width * height, dtype=np.int64)
    np.bitwise_or.at(codes, (y >> 2) * width + (x >> 1), 1 << ((y & 3) * 2 + (x & 1)))
    cells = np.flatnonzero(codes)
    return [
        (int(c % width), int(c // width), BRAILLE[code])
        for c, code in zip(cells.tolist(), codes[cells].tolist(), strict=True)
    ]


def _braille() -> list[str]:
    """The character of each pattern of a cell's 8 dots, from textual-hires-canvas's own
    table (so the characters are its): bit j is the dot at place j of the cell's 4 x 2
    dots in row order, as its table's keys are."""
    chars = [""] * 256
    for dots, char in hires_pixels[HiResMode.BRAILLE].items():
        chars[sum(bit << j for j, bit in enumerate(dots))] = char or ""
    return chars


BRAILLE = _braille()
