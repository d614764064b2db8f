"""Cells as the table shows them: colored statuses with progress, stable tag colors.

Every string here is made safe by core.fmt / core.text and goes into `Text`,
never into markup.
"""

from __future__ import annotations

import zlib

from rich.style import Style
from rich.text import Text

from runs_tui.core.columns import Column
from runs_tui.core.fmt import cell
from runs_tui.core.records import RunRow
from runs_tui.core.status import Status
from runs_tui.core.text import one_line

STATUS_STYLES = {
    Status.PENDING: Style(color="bright_black", bold=True),
    Status.RUNNING: Style(color="dodger_blue1", bold=True),
    Status.COMPLETED: Style(color="green3"),
    Status.FAILED: Style(color="red1", bold=True),
    Status.ABORTED: Style(color="orange3"),
}
TAG_COLORS = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#d62728",
    "#ff7f0e",
    "#7f7f7f",
    "#5254a3",
    "#637939",
)
PROGRESS_WIDTH = 12
MARK = "●"
CELL_LIMIT = 60


def tag_color(tag: str) -> str:
    """The same tag always gets the same color, in every run and every session."""
    return TAG_COLORS[zlib.crc32(tag.encode("utf-8", "surrogatepass")) % len(TAG_COLORS)]


def tags_text(tags: tuple[str, ...], limit: int = CELL_LIMIT) -> Text:
    text = Text()
    for i, tag in enumerate(tags):
        if i:
            text.append(" ")
        label = one_line(tag, limit=24)
        text.append(f" {label} ", Style(color="white", bgcolor=tag_color(tag)))
        if len(text) > limit:
            text.truncate(limit, overflow="ellipsis")
            break
    return text


def status_text(status: str, progress: float | None) -> Text:
    st = Status(status)
    label = st.label
    if st is Status.RUNNING and progress is not None:
        label = f"{label} {int(progress * 100)}%"
        padded = label.ljust(PROGRESS_WIDTH)
        done = round(max(0.0, min(progress, 1.0)) * PROGRESS_WIDTH)
        text = Text(padded, STATUS_STYLES[st])
        text.stylize(Style(bgcolor="grey23"), 0, done)
        return text
    return Text(label, STATUS_STYLES[st])


def render_cell(row: RunRow, column: Column, at: float, precise: bool = False) -> Text:
    """One cell of the runs table."""
    if column.source == "builtin" and column.name == "status":
        return status_text(row.status, row.progress)
    if column.source == "builtin" and column.name == "tags":
        return tags_text(row.tags)
    value = cell(row, column, at, precise)
    text = Text(value if precise else one_line(value, limit=CELL_LIMIT))
    if column.is_metric or column.name in ("run_time",):
        text.justify = "right"
    return text
