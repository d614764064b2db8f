"""How values read to a person: elapsed times, durations, rounded floats, dates."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from runs_tui.core.columns import Column
from runs_tui.core.records import RunRow
from runs_tui.core.status import Status
from runs_tui.core.text import one_line


def ago(t: float | None, at: float) -> str:
    """ "3m ago"; "" when there is no time."""
    if t is None:
        return ""
    secs = max(at - t, 0.0)
    if secs < 60:
        return f"{int(secs)}s ago"
    if secs < 3600:
        return f"{int(secs // 60)}m ago"
    if secs < 86400:
        return f"{int(secs // 3600)}h ago"
    return f"{int(secs // 86400)}d ago"


def plural(n: int, noun: str) -> str:
    """ "1 run", "2 runs", "1,204 runs": a count with its noun agreeing."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def duration(secs: float | None) -> str:
    """ "42s", "3m 05s", "2h 04m", "3d 02h"."""
    if secs is None:
        return ""
    s = int(max(secs, 0.0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def number(value: float, precise: bool = False) -> str:
    """Rounded to 4 significant digits unless `precise` (the full repr)."""
    if isinstance(value, int):
        return str(value)
    if precise or not math.isfinite(value):
        return repr(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def at_step(value: float, step: int | None, precise: bool = False) -> str:
    """ "0.231 at step 4,200": a series' minimum or maximum and where it was first reached
    (the value alone where that is not known)."""
    text = number(value, precise)
    return text if step is None else f"{text} at step {step:,}"


def timestamp(t: float | None) -> str:
    """The exact local date-time, to the second."""
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def shown_value(row: RunRow, column: Column, at: float) -> Any:
    """The value a column shows: `row.value`, but RUN of a run without a number (an
    MLflow run) shows its name or id (and sorts as a run with no number)."""
    value = row.value(column, at)
    return row.ref if value is None and column.spec == "run" else value


def cell(row: RunRow, column: Column, at: float, precise: bool = False) -> str:
    """A column's value as the table and `ls` show it, on one safe line."""
    value = shown_value(row, column, at)
    if value is None:
        return ""
    if column.source == "builtin":
        return _builtin_cell(row, column.name, value, at)
    if isinstance(value, float):
        return number(value, precise)
    if column.is_param:
        return one_line(param_text(value, precise))
    return one_line(str(value))


def _builtin_cell(row: RunRow, name: str, value: Any, at: float) -> str:
    if name == "run":
        return f"#{value}" if isinstance(value, int) else one_line(str(value))
    if name in ("started", "updated"):
        return ago(value, at)
    if name == "run_time":
        return duration(value)
    if name == "status":
        label = Status(value).label
        if value == Status.RUNNING and row.progress is not None:
            label += f" {int(row.progress * 100)}%"
        return label
    if name == "tags":
        return one_line(", ".join(value))
    return one_line(str(value))


def param_text(value: str, precise: bool = False) -> str:
    """A parameter's stored text, rounded like other numbers when it is a float."""
    try:
        as_float = float(value)
    except ValueError:
        return value
    if precise or ("." not in value and "e" not in value.lower()):
        return value
    return number(as_float)


LABELS = {s.value: s.label for s in Status}


def record_value(column: Column, at: float) -> Callable[[RunRow], Any]:
    """A column's value in an export record, as a function of a row (chosen once per
    column, not per cell): numbers as numbers, times as ISO 8601, the state's label (an
    unknown state as stored), tags as a tuple, a parameter's text; None when missing.
    `export` makes CSV and JSON of it; `cells` makes the same values in SQL."""
    if column.is_metric:
        key, part = (column.title, column.series), column.metric_field
        return lambda row: None if (m := row.metrics.get(key)) is None else m.get(part)
    name = column.name
    if column.is_param:
        return lambda row: row.params.get(name)
    if name == "run":
        return lambda row: shown_value(row, column, at)
    if name == "run_time":
        return lambda row: row.run_time(at)
    if name == "status":
        return lambda row: LABELS.get(row.status, row.status)
    field = attrgetter(name)
    if name in ("started", "updated"):
        return lambda row: None if (t := field(row)) is None else iso(t)
    return field  # tags (a tuple), version, user, queue


def param_number(text: str) -> Any:
    """A hyperparameter's text as a number when it is one written plainly ("0.01", "64"),
    else the text: JSON gets numbers, and "007" or "1e3" stay as written."""
    try:
        as_int = int(text)
    except ValueError:
        try:
            as_float = float(text)
        except ValueError:
            return text
        return as_float if repr(as_float) == text and math.isfinite(as_float) else text
    return as_int if str(as_int) == text else text
