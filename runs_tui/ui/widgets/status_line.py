"""The line under the table: how many runs, when they last changed, paused, and the cursor
cell. It is drawn again only when its text changes, so an idle SSH session gets no bytes."""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.table import Table
from rich.text import Span, Text
from textual.widgets import Static

from runs_tui.core.columns import Column
from runs_tui.core.fmt import number, param_text, timestamp
from runs_tui.core.records import RunRow
from runs_tui.core.status import Status
from runs_tui.core.text import one_line


def cell_detail(row: RunRow | None, column: Column | None, at: float) -> str:
    """The cursor cell's exact value: a date-time, a precise float, the full text."""
    if row is None or column is None:
        return ""
    value = row.value(column, at)
    label = column.header
    if value is None:
        return f"{label}: —"
    if column.source == "builtin" and column.name in ("started", "updated"):
        return f"{label}: {timestamp(value)}"
    if column.source == "builtin" and column.name == "status":
        return f"{label}: {Status(value).label}"
    if column.source == "builtin" and column.name == "tags":
        return f"{label}: {', '.join(value)}"
    if isinstance(value, float):
        return f"{label}: {number(value, precise=True)}"
    if column.is_param:
        return f"{label}: {param_text(value, precise=True)}"
    return f"{label}: {value}"


class StatusLine(Static):
    """`plain` keeps the text shown, for tests and screen readers of the log."""

    plain = ""
    _spans: list[Span] = []

    def show(
        self,
        *,
        loaded: int,
        total: int | None,
        everything: int | None,
        updated: float | None,
        paused: bool,
        detail: str,
        extra: str = "",
    ) -> None:
        left = Text()
        if total is None or everything is None:  # the rows are in, their count is not
            left.append(f"{loaded:,} of … runs", Style(bold=True))
            left.append(" · counting…", Style(dim=True))
        else:
            left.append(f"{loaded:,} of {total:,} runs", Style(bold=True))
        if total is not None and everything is not None and everything != total:
            left.append(f" · {total:,} of {everything:,} match", Style(color="yellow"))
        if extra:
            left.append(f" · {extra}")
        if updated is not None:
            left.append(f" · updated {datetime.fromtimestamp(updated):%H:%M:%S}")
        if paused:
            left.append(" · ")
            left.append("⏸ PAUSED", Style(color="black", bgcolor="yellow", bold=True))
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True)
        grid.add_column(justify="right", no_wrap=True, max_width=80)
        right = Text(one_line(detail, limit=80), style=Style(dim=True))
        grid.add_row(left, right)
        plain = f"{left.plain} | {right.plain}"
        if plain == self.plain and left.spans == self._spans:
            return
        self.plain, self._spans = plain, left.spans
        self.update(grid, layout=False)  # one line, always: no layout pass, no scrollbar repaint
