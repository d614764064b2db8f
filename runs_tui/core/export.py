"""Writing every run of a query (not only a loaded window) as CSV or JSON."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from runs_tui.core.columns import Column
from runs_tui.core.fmt import export_value
from runs_tui.core.records import RunQuery, RunRow
from runs_tui.core.source import RunSource

FORMATS = ("csv", "json")
PAGE = 1000


def all_rows(source: RunSource, q: RunQuery) -> Iterator[RunRow]:
    """Every matching run in the query's order, a page at a time."""
    offset = 0
    while True:
        rows = source.window(q, offset, PAGE)
        yield from rows
        if len(rows) < PAGE:
            return
        offset += PAGE


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
        writer.writerow(heads)
        for row in all_rows(source, q):
            writer.writerow(["; ".join(v) if isinstance(v, list) else v for v in record(row)])
            n += 1
        return n
    out.write("[")
    for row in all_rows(source, q):
        out.write(",\n " if n else "\n ")
        out.write(json.dumps(dict(zip(heads, record(row), strict=True))))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n
