"""`runs-tui ls`: the table's query from the shell, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Sequence
from itertools import islice

from runs_tui.core import export
from runs_tui.core.columns import REASON, Column, parse_column, parse_columns
from runs_tui.core.fmt import cell
from runs_tui.core.overview import overview_view
from runs_tui.core.records import RunQuery, RunRow, SortKey, TagFilter, ValueFilter
from runs_tui.core.source import RunSource
from runs_tui.core.status import Status
from runs_tui.core.text import clip, one_line
from runs_tui.core.view import TableView

CELL_LIMIT = 40


def add_ls_arguments(ls: argparse.ArgumentParser) -> None:
    ls.add_argument("pipeline", nargs="?", help="a pipeline name (default: every pipeline)")
    ls.add_argument(
        "--all-pipelines",
        action="store_true",
        help="the app's overview (O): every pipeline's Running and Failed runs of the last "
        "24 h, newest change first (other options narrow or replace it)",
    )
    ls.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="S",
        help="only runs in this state (repeatable)",
    )
    ls.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="T",
        help="only runs with this tag (repeatable: any of them)",
    )
    ls.add_argument("--all-tags", action="store_true", help="require every --tag, not any")
    ls.add_argument(
        "--not-tag",
        action="append",
        default=[],
        metavar="T",
        help="only runs without this tag (repeatable)",
    )
    ls.add_argument("--search", default="", help="search number, tags, user, parameters")
    ls.add_argument(
        "--sort",
        action="append",
        default=[],
        metavar="SPEC",
        help="sort by a column spec; --sort=-SPEC sorts descending (repeatable)",
    )
    ls.add_argument("--columns", metavar="SPECS", help="comma-separated column specs")
    ls.add_argument(
        "--view",
        metavar="STR",
        help="a view string from the app (`Y`): its columns, sort and filters",
    )
    ls.add_argument("--archived", action="store_true", help="list the archive instead")
    ls.add_argument("--limit", type=int, default=None, help="at most this many runs (table)")
    ls.add_argument("--format", choices=("table", "json", "csv"), default="table")


def build_query(source: RunSource, args: argparse.Namespace) -> tuple[RunQuery, list[Column]]:
    """The query and columns the arguments describe (on top of `--view`, when given);
    errors name the bad value."""
    if args.all_pipelines and args.pipeline:
        raise ValueError(f"--all-pipelines lists every pipeline, not {args.pipeline!r}")
    base = overview_view(time.time()) if args.all_pipelines else TableView()
    view = TableView.from_string(args.view) if args.view else base
    pipeline_id = source.pipeline(args.pipeline).id if args.pipeline else None
    filters = list(view.filters)
    if args.status:  # in place of the view's own
        filters = [f for f in filters if f.column != "status"]
        filters.append(ValueFilter("status", frozenset(Status.parse(s).value for s in args.status)))
    tags = view.tags
    if args.tag or args.not_tag:
        tags = TagFilter(
            frozenset(args.tag), frozenset(args.not_tag), "all" if args.all_tags else "any"
        )
    sort = [
        SortKey(parse_column(spec.removeprefix("-").removeprefix("+")).spec, spec.startswith("-"))
        for spec in args.sort
    ]
    q = RunQuery(
        pipeline_id,
        tuple(filters),
        tags,
        args.search or view.search,
        tuple(sort) or view.sort,
        args.archived or view.archived,
        time.time(),
    )
    columns = (
        parse_columns(args.columns)
        if args.columns is not None
        else [parse_column(c) for c in view.columns]
    )
    return q, columns


def cmd_ls(source: RunSource, args: argparse.Namespace) -> int:
    q, columns = build_query(source, args)
    # Every pipeline's runs say whose they are, unless a column already does.
    with_pipeline = args.pipeline is None and all(c.spec != "pipeline" for c in columns)
    if args.format != "table":
        # What the process holds so far lives until it exits: out of the collector's way,
        # whose passes over the rows of a large export would scan it again and again.
        gc.freeze()
        # Why a run failed comes with every run, after the columns (which keep their places).
        fields = [*columns, REASON]
        export.write(source, q, fields, args.format, sys.stdout, with_pipeline=with_pipeline)
        return 0
    if args.limit is not None and args.limit < 0:
        raise ValueError(f"invalid --limit {args.limit}: must be 0 or more")
    total = source.count(q)
    limit = total if args.limit is None else min(args.limit, total)
    page = min(max(limit, 1), export.PAGE)
    rows = list(islice(source.rows(q, page, columns), limit))
    _print_table(rows, columns, q.at or time.time(), with_pipeline)
    if len(rows) < total:
        print(f"({len(rows)} of {total} runs)")
    return 0


def _print_table(rows: list[RunRow], columns: list[Column], at: float, with_pipeline: bool) -> None:
    heads = (["PIPELINE"] if with_pipeline else []) + [cell_text(c.header.upper()) for c in columns]
    table = [heads]
    for row in rows:
        head = [cell_text(row.pipeline)] if with_pipeline else []
        table.append(head + [cell_text(cell(row, c, at)) for c in columns])
    print_columns(table)


def print_columns(table: Sequence[Sequence[str]], indent: str = "") -> None:
    """Rows of safe cells as left-aligned columns, two spaces apart."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print(indent + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def cell_text(text: str) -> str:
    return clip(one_line(text), CELL_LIMIT)
