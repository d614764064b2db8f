"""Writing every run of a query (not only a loaded window) as CSV or JSON.

Both are safe to print: JSON escapes control characters, CSV cells have them made
visible, and a CSV cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
starts with `'` instead."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from typing import IO, Any

from runs_tui.core.columns import Column
from runs_tui.core.fmt import export_value
from runs_tui.core.records import RunQuery, RunRow
from runs_tui.core.source import RunSource
from runs_tui.core.text import lines

FORMATS = ("csv", "json")
PAGE = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: lists joined, text made safe and never a formula."""
    if isinstance(value, list):
        value = "; ".join(value)
    if isinstance(value, str):
        value = lines(value)
        if value.startswith(FORMULA_STARTS):
            value = "'" + value
    return value


def write(
    source: RunSource,
    q: RunQuery,
    columns: Sequence[Column],
    fmt: str,
    out: IO[str],
    *,
    with_pipeline: bool = False,
) -> int:
    """Write the query's runs to `out`; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    at = q.at if q.at is not None else time.time()
    q = q.with_(at=at)
    heads = (["pipeline"] if with_pipeline else []) + ["id"] + [c.spec for c in columns]

    def record(row: RunRow) -> list[Any]:
        head: list[Any] = [row.pipeline] if with_pipeline else []
        return [*head, row.id, *(export_value(row, c, at) for c in columns)]

    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([csv_cell(h) for h in heads])
        for row in source.rows(q, PAGE):
            writer.writerow([csv_cell(v) for v in record(row)])
            n += 1
        return n
    out.write("[")
    for row in source.rows(q, PAGE):
        out.write(",\n " if n else "\n ")
        out.write(json.dumps(dict(zip(heads, record(row), strict=True))))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n
