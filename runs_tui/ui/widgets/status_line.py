"""The line under the table: how many runs, when they last changed, paused, and the cursor
cell. It is drawn again only when its text changes, so an idle SSH session gets no bytes."""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.table import Table
from rich.text import Span, Text
from textual.widgets import Static

from runs_tui.core.columns import Column
from runs_tui.core.fmt import (
    at_step,
    duration,
    number,
    param_text,
    plural,
    shown_value,
    timestamp,
)
from runs_tui.core.records import RunRow
from runs_tui.core.status import Status
from runs_tui.core.text import one_line


def cell_detail(row: RunRow | None, column: Column | None, at: float) -> str:
    """The cursor cell after its header: its exact value, a run time also as the table
    shows it ("RUN TIME: 1h 07m (4032.05… s)"): raw seconds alone read as noise, and a
    series' minimum or maximum (or its step) with where it was reached ("0.231 at step
    4,200")."""
    if row is None or column is None:
        return ""
    metric = row.metrics.get((column.title, column.series)) if column.is_metric else None
    if metric is not None and column.agg != "last":  # min, max and their steps
        extreme = column.agg.removesuffix("@step")
        value, step = getattr(metric, extreme), getattr(metric, f"{extreme}_step")
        return f"{column.header}: {at_step(value, step, precise=True)}"
    exact = cell_value(row, column, at)
    value = row.value(column, at)
    if column.source == "builtin" and column.name == "run_time" and value is not None:
        return f"{column.header}: {duration(value)} ({exact} s)"
    return f"{column.header}: {exact}"


def cell_value(row: RunRow, column: Column, at: float) -> str:
    """A cell's exact value, what `y` copies: a date-time, a precise float, the full text."""
    value = shown_value(row, column, at)
    if value is None:
        return "—"
    if column.source == "builtin" and column.name in ("started", "updated"):
        return timestamp(value)
    if column.source == "builtin" and column.name == "status":
        return Status(value).label
    if column.source == "builtin" and column.name == "tags":
        return ", ".join(value)
    if isinstance(value, float):
        return number(value, precise=True)
    if column.is_param:
        return param_text(value, precise=True)
    return str(value)


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
        loading: bool = False,
        at_least: int | None = None,
    ) -> None:
        """`loading`: a new query's rows are being read (a server may take seconds);
        `at_least`: while `total` is None, a bound on it ("1,000+")."""
        left = Text()
        if paused:  # first: however narrow the line, the badge is not cut
            left.append("⏸ PAUSED", Style(color="black", bgcolor="yellow", bold=True))
            left.append(" · ")
        if loading:  # not "0 of 0 runs" while a slow source still reads
            left.append("loading runs…", Style(bold=True))
        elif total is None or everything is None:  # the rows are in, their count is not
            bound = "…" if at_least is None else f"{max(at_least, loaded):,}+"
            left.append(f"{loaded:,} of {bound} runs", Style(bold=True))
            if at_least is not None and everything is not None:
                left.append(f" · {bound} of {everything:,} match", Style(color="yellow"))
            left.append(" · counting…", Style(dim=True))
        else:
            left.append(f"{loaded:,} of {plural(total, 'run')}", Style(bold=True))
        if total is not None and everything is not None and everything != total:
            left.append(f" · {total:,} of {everything:,} match", Style(color="yellow"))
        if extra:
            left.append(f" · {extra}")
        if updated is not None:
            left.append(f" · updated {datetime.fromtimestamp(updated):%H:%M:%S}")
        # The counts keep their width; the cursor cell (name first) gets what is left.
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(no_wrap=True, min_width=left.cell_len)
        grid.add_column(justify="right", no_wrap=True, ratio=1, overflow="ellipsis")
        right = Text(one_line(detail, limit=80), style=Style(dim=True))
        grid.add_row(left, right)
        plain = f"{left.plain} | {right.plain}"
        if plain == self.plain and left.spans == self._spans:
            return
        self.plain, self._spans = plain, left.spans
        self.update(grid, layout=False)  # one line, always: no layout pass, no scrollbar repaint
