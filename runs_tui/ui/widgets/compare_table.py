"""The compare screen's table: one row per value (info, parameters, metrics, steps), one
narrow column per run, the labels pinned while it scrolls sideways.

Every string is made safe (`core.text`) and cut with "…" to its column. Metric rows mark
the lowest value with ▼ and the highest with ▲, each in a colour of its own (the marks
read without colour too); a row whose runs all agree is dim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runs_tui.core.compare import ABSENT, Comparison, Line, MetricLine, StepLine, labels
from runs_tui.core.fmt import LABELS, number
from runs_tui.core.status import Status
from runs_tui.core.text import clip, one_line
from runs_tui.ui.render import STATUS_STYLES, tags_text

LOW, HIGH = "▼", "▲"
LOW_STYLE = Style(color="cyan", bold=True)
HIGH_STYLE = Style(color="magenta", bold=True)
SAME = Style(dim=True)
PLAIN = Style()
BOLD = Style(bold=True)
SECTION = Style(bold=True, underline=True)
MIN_RUN, MAX_RUN = 10, 24  # a run column's width
MIN_LABEL = 12
PAD = 2  # a space either side of each cell
SCROLLBAR = 2  # the vertical scrollbar's width

Row = tuple[str, list[Text]]


def widths(c: Comparison, every: bool, width: int) -> tuple[int, int]:
    """The label column's width and each run column's: labels whole where they fit in a
    quarter of the screen (22 cells at least), runs sharing the rest, 10 to 24 cells each
    (at 80 columns four or five runs show; the rest are a scroll away)."""
    longest = max(map(len, _labels(c, every)), default=MIN_LABEL)
    label = max(MIN_LABEL, min(longest, max(22, width // 4)))
    room = width - SCROLLBAR - label - PAD
    run = max(MIN_RUN, min(MAX_RUN, room // max(len(c.runs), 1) - PAD))
    return label, run


def _labels(c: Comparison, every: bool) -> list[str]:
    out = [line.label for line in c.shown_info(every)]
    out += [line.label for line in c.shown_params(every)]
    out += [f"{m.name} {m.agg}" for m in c.metrics]
    out += [s.name for s in c.shown_steps(every)]
    return out


def rows(c: Comparison, every: bool, label_width: int, run_width: int) -> list[Row]:
    """(key, cells) of each row: the label first, then one cell per run."""

    def label(text: str) -> Text:
        return Text(one_line(text, limit=label_width), style=BOLD)

    def section(key: str, title: str, lines: Sequence[object], total: int) -> list[Row]:
        head = (f"h:{key}", [Text(title.upper(), style=SECTION), *blank])
        if lines or not total:
            return [head]
        note = Text(one_line(f"all {total} the same", limit=label_width), style=SAME)
        return [head, (f"n:{key}", [note, *blank])]

    blank = [Text("") for _ in c.runs]
    out: list[Row] = [
        (line.key, [label(line.label), *_info(c, line, run_width)]) for line in c.shown_info(every)
    ]
    params = c.shown_params(every)
    out += section("params", "Parameters", params, len(c.params))
    out += [(line.key, [label(line.label), *_values(line, run_width)]) for line in params]
    out += section("metrics", "Metrics", c.metrics, 0)
    for m in c.metrics:
        name = one_line(m.name, limit=max(label_width - len(m.agg) - 1, 1))
        out.append((m.key, [label(f"{name} {m.agg}"), *_metric(m, run_width)]))
    steps = c.shown_steps(every)
    out += section("steps", "Steps", steps, len(c.steps))
    out += [(s.key, [label(s.name), *_steps(s, run_width)]) for s in steps]
    return out


def _absent() -> Text:
    return Text(ABSENT, style=SAME)


def _values(line: Line, width: int) -> list[Text]:
    dim = PLAIN if line.differs else SAME
    return [
        _absent() if v is None else Text(one_line(v, limit=width), style=dim) for v in line.values
    ]


def _info(c: Comparison, line: Line, width: int) -> list[Text]:
    if line.key == "status":
        return [_status(r.status, r.progress, width) for r in c.runs]
    if line.key == "tags":
        return [tags_text(r.tags, width) if r.tags else _absent() for r in c.runs]
    return _values(line, width)


def _state_style(status: str | None) -> Style:
    """A state's colour (a step not run yet, or a state this runs-tui does not know: none)."""
    try:
        return STATUS_STYLES[Status(status or "")]
    except ValueError:
        return PLAIN


def _status(status: str, progress: float | None, width: int) -> Text:
    label = LABELS.get(status, status)
    if status == Status.RUNNING and progress is not None:
        label += f" {int(progress * 100)}%"
    return Text(one_line(label, limit=width), style=_state_style(status))


def _metric(m: MetricLine, width: int) -> list[Text]:
    """The cells of a metric row: the numbers are short (`fmt.number`), cut only when the
    column is narrower still."""
    out = []
    others = PLAIN if m.differs else SAME
    for i, value in enumerate(m.values):
        if value is None:
            out.append(_absent())
        elif i in m.low:
            out.append(Text(clip(LOW + number(value), width), style=LOW_STYLE))
        elif i in m.high:
            out.append(Text(clip(HIGH + number(value), width), style=HIGH_STYLE))
        else:
            out.append(Text(clip(number(value), width), style=others))
    return out


def _steps(s: StepLine, width: int) -> list[Text]:
    out = []
    for step, value in zip(s.steps, s.values, strict=True):
        if step is None or value is None:
            out.append(_absent())
            continue
        style = _state_style(step.status)
        out.append(Text(one_line(value, limit=width), style=style if s.differs else style + SAME))
    return out


class CompareTable(ScrollView, can_focus=True):
    """The comparison drawn line by line (the Line API: only the lines on screen are
    made, each from cells laid out once per `show`): a head line and the label column
    stay while the rest scrolls; a cursor row to read across."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1_000_000)", "First row", show=False),
        Binding("end", "cursor(1_000_000)", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "compare-table--header",
        "compare-table--label",
        "compare-table--cursor",
    }
    DEFAULT_CSS = """
    CompareTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .compare-table--header {
            text-style: bold;
            background: $panel;
        }
        & > .compare-table--label {
            background: $secondary-muted;
        }
        & > .compare-table--cursor {
            background: $block-cursor-blurred-background;
        }
        &:focus > .compare-table--cursor {
            background: $block-cursor-background;
        }
    }
    """

    cursor_row: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.laid_out: tuple[Comparison, int, int, bool] | None = None  # and widths, every
        self.heads: list[Text] = []
        self.rows: list[Row] = []
        self.label_width = self.run_width = 0
        self._lines: dict[int, tuple[Strip, Strip]] = {}  # a row's label and runs, drawn

    def show(self, c: Comparison, every: bool, width: int) -> None:
        """Lay out `c` for a screen `width` wide, keeping the cursor on its row."""
        label_width, run_width = widths(c, every, width)
        if self.laid_out == (c, label_width, run_width, every):
            return
        self.laid_out = (c, label_width, run_width, every)
        keep = self.rows[self.cursor_row][0] if self.rows else None
        self.label_width, self.run_width = label_width, run_width
        self.heads = [Text(one_line(h, limit=run_width), style=BOLD) for h in labels(c)]
        self.rows = rows(c, every, label_width, run_width)
        self._lines.clear()
        self.virtual_size = Size(
            label_width + PAD + len(self.heads) * (run_width + PAD), len(self.rows) + 1
        )
        keys = [key for key, _ in self.rows]
        self.cursor_row = keys.index(keep) if keep in keys else min(self.cursor_row, len(keys) - 1)
        self.refresh()

    def _cells(self, cells: Sequence[Text], width: int, style: Style) -> Strip:
        """Cells side by side, each cut or padded to `width` with a space either side
        (`Text.render` leaves out the text's own style: it goes under its spans')."""
        console = self.app.console
        segments: list[Segment] = []
        pad = Segment(" ", style)
        for cell in cells:
            text = cell.copy()
            text.truncate(width, overflow="ellipsis", pad=True)
            own = style + console.get_style(text.style) if text.style else style
            segments.append(pad)
            segments.extend(Segment(t, own + s if s else own) for t, s, _ in text.render(console))
            segments.append(pad)
        return Strip(segments, len(cells) * (width + PAD))

    def _line(self, index: int) -> tuple[Strip, Strip]:
        got = self._lines.get(index)
        if got is None:
            label, *cells = self.rows[index][1]
            base = self.rich_style
            got = (
                self._cells([label], self.label_width, base + self._component("label")),
                self._cells(cells, self.run_width, base),
            )
            self._lines[index] = got
        return got

    def notify_style_update(self) -> None:
        """A new theme or focus: the lines drawn in the old styles are made again."""
        self._lines.clear()
        super().notify_style_update()

    def _component(self, name: str) -> Style:
        return self.get_component_rich_style(f"compare-table--{name}")

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self._component("header")
            label = self._cells([Text("")], self.label_width, style)
            runs = self._cells(self.heads, self.run_width, style)
        else:
            index = y - 1 + int(self.scroll_y)
            if not 0 <= index < len(self.rows):
                return Strip.blank(width, base)
            label, runs = self._line(index)
            if index == self.cursor_row:
                cursor = Style(bgcolor=self._component("cursor").bgcolor)
                label, runs = _styled(label, cursor), _styled(runs, cursor)
        x = int(self.scroll_x)
        runs = runs.crop(x, x + max(width - label.cell_length, 0))
        return Strip.join([label, runs]).adjust_cell_length(width, base)

    def watch_cursor_row(self, old: int, new: int) -> None:
        top = int(self.scroll_y)
        shown = max(self.scrollable_content_region.height - 1, 1)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + shown:
            self.scroll_to(y=new - shown + 1, animate=False)
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self.cursor_row = max(0, min(self.cursor_row + step, len(self.rows) - 1))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.scrollable_content_region.height - 1, 1))

    def on_click(self, event: events.Click) -> None:
        if event.y > 0:
            self.action_cursor(event.y - 1 + int(self.scroll_y) - self.cursor_row)


def _styled(strip: Strip, style: Style) -> Strip:
    """`strip` with `style` over every segment (the cursor's background over the cells')."""
    return Strip([Segment(t, (s or PLAIN) + style, c) for t, s, c in strip], strip.cell_length)
