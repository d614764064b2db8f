"""Cells as the table shows them: colored statuses with progress, stable tag colors.

Every string here is made safe by core.fmt / core.text and goes into `Text`,
never into markup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache

from rich.color import Color
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
# Tableau's 20, less its greys and one olive: 17 hues and shades told apart at a glance
# (a prime count spreads hashes evenly); the text on each is black or white, whichever
# reads better.
TAG_COLORS = (
    "#1f77b4",
    "#aec7e8",
    "#ff7f0e",
    "#ffbb78",
    "#2ca02c",
    "#98df8a",
    "#d62728",
    "#ff9896",
    "#9467bd",
    "#c5b0d5",
    "#8c564b",
    "#c49c94",
    "#e377c2",
    "#f7b6d2",
    "#bcbd22",
    "#17becf",
    "#9edae5",
)
_chosen: dict[str, str] = {}  # the config's [tag_colors]: one app per process sets it
PROGRESS_WIDTH = 12
MARK = "●"
CELL_LIMIT = 60


def use_tag_colors(chosen: Mapping[str, str]) -> None:
    """The colours the user gave tags (`[tag_colors]`, checked when the config was read)."""
    _chosen.clear()
    _chosen.update(chosen)


def tag_color(tag: str, chosen: Mapping[str, str] | None = None) -> str:
    """The user's colour for `tag`, else one of the palette by a hash of its text: the
    same in every run, session and process (Python's hash() differs by process)."""
    given = (_chosen if chosen is None else chosen).get(tag)
    if given:
        return given
    digest = hashlib.blake2b(tag.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return TAG_COLORS[int.from_bytes(digest, "big") % len(TAG_COLORS)]


def tag_style(tag: str, chosen: Mapping[str, str] | None = None) -> Style:
    """A tag's colour with readable text on it."""
    return _on(tag_color(tag, chosen))


@cache
def _on(background: str) -> Style:
    """Black or white text on `background`, whichever contrasts more (WCAG luminance)."""
    r, g, b = (_linear(c) for c in Color.parse(background).get_truecolor())
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    dark = (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05)
    return Style(color="black" if dark else "white", bgcolor=background)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def tags_text(tags: tuple[str, ...], limit: int = CELL_LIMIT) -> Text:
    """Each tag on its colour; cut with "…" when longer than `limit` or than a narrowed
    column."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, tag in enumerate(tags):
        if i:
            text.append(" ")
        label = one_line(tag, limit=24)
        text.append(f" {label} ", tag_style(tag))
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
