"""Customizing the table: sort, filters, search, columns, widths, precise floats, the
shareable view string and export. Every change goes through `Host.apply_view`, which
re-queries and saves the view for the pipeline. Modal screens are imported when they are
asked for: the first frame does not wait for them."""

from __future__ import annotations

import asyncio
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runs_tui.core import export
from runs_tui.core.columns import AGGS, BUILTIN, REASON, Column, Kind, metric_spec, parse_column
from runs_tui.core.fmt import plural
from runs_tui.core.records import RangeFilter, RunQuery, SortKey, ValueFilter
from runs_tui.core.source import RunSource, SourceError
from runs_tui.core.text import one_line
from runs_tui.ui.flows.host import Host, ask, failed, off_thread, scope, shown_pipeline

if TYPE_CHECKING:
    from runs_tui.ui.screens.filters import Chosen, FilterScreen

WIDTH_STEP = 2


def cursor_spec(host: Host) -> str | None:
    column = host.table.cursor_spec
    return column.spec if column is not None else None


def sort_by(host: Host, spec: str, secondary: bool) -> None:
    """`s`: asc, desc, off as the first sort key (another column becomes the only key);
    `S`: the same as one more sort key."""
    caps = host.context.source.capabilities
    if not caps.can_sort(parse_column(spec)):
        host.notify(
            f"Sort by {one_line(spec)}: not supported by this source",
            severity="warning",
            markup=False,
        )
        return
    keys = list(host.view.sort)
    current = next((k for k in keys if k.column == spec), None)
    if not secondary:
        if current is None or keys[0].column != spec:
            keys = [SortKey(spec)]
        elif not current.desc:
            keys[0] = SortKey(spec, True)
        else:
            keys = keys[1:]
    elif current is None:
        keys.append(SortKey(spec))
    elif not current.desc:
        keys[keys.index(current)] = SortKey(spec, True)
    else:
        keys.remove(current)
    host.apply_view(host.view.with_(sort=tuple(keys)))


async def filter_column(host: Host) -> None:
    """`f`: the filter that fits the cursor column's kind, with the values it has."""
    from runs_tui.ui.screens.filters import RangeFilterScreen, TagFilterScreen, ValueFilterScreen

    pipeline = shown_pipeline(host, "Filter")
    spec = cursor_spec(host)
    if pipeline is None:
        return
    if spec is None:
        _no_column(host, "Filter")
        return
    source = host.context.source
    column = parse_column(spec)
    q = host.view.query(scope(host))
    kind = column.kind
    if column.is_param:
        numeric = await off_thread(host, source.is_numeric_param, scope(host), spec)
        if numeric is None:
            return
        kind = Kind.RANGE if numeric else kind
    if not source.capabilities.can_filter(kind, column):
        host.notify(
            f"Filter by {one_line(spec)}: not supported by this source",
            severity="warning",
            markup=False,
        )
        return
    values = []
    if kind in (Kind.VALUES, Kind.TAGS):
        got = await off_thread(host, source.distinct_values, q, spec)
        if got is None:
            return
        values = got
    header = column.header.upper() if column.source == "builtin" else column.header
    current = next((f for f in host.view.filters if f.column == spec), None)
    screen: FilterScreen[Any]
    if kind is Kind.TAGS:
        screen = TagFilterScreen(values, host.view.tags)
    elif kind is Kind.VALUES:
        selected = current.values if isinstance(current, ValueFilter) else frozenset()
        screen = ValueFilterScreen(spec, header, values, selected)
    else:
        screen = RangeFilterScreen(
            spec,
            header,
            current if isinstance(current, RangeFilter) else None,
            dates=kind is Kind.DATES,
            now=host.context.clock(),
            seconds=spec == "run_time",
        )
    chosen: Chosen[Any] | None = await ask(host.app, screen)
    if chosen is not None:
        host.apply_view(host.view.with_filter(spec, chosen.value))


def _no_column(host: Host, what: str) -> None:
    """Say why `what` has no column to act on."""
    if host.table.order:
        why = "move the cursor onto a column"
    elif host.view.active:
        why = "no run is shown; F clears the filters and search"
    else:
        why = "no runs yet"
    host.notify(f"{what}: {why}", severity="warning", markup=False)


def clear_filters(host: Host) -> None:
    if host.view.active:
        host.apply_view(host.view.with_(filters=(), tags=None, search=""))
        host.notify("Filters and search cleared")


async def choose_columns(host: Host) -> None:
    """`C`: show, hide and order columns, among the metrics and parameters the runs have."""
    from runs_tui.ui.screens.columns import ColumnsScreen

    pipeline = shown_pipeline(host, "Columns")
    if pipeline is None:
        return
    choices = await off_thread(host, host.context.source.column_choices, scope(host))
    if choices is None:
        return
    available = [*BUILTIN]
    steps = host.context.source.capabilities.steps
    aggs = [agg for agg in AGGS if steps or not agg.endswith("@step")]
    available += [metric_spec(t, s, agg) for t, s in choices.series for agg in aggs]
    available += [f"p:{key}" for key in choices.params]
    specs = await ask(host.app, ColumnsScreen(list(host.view.columns), available))
    if specs:
        host.apply_view(host.view.with_(columns=tuple(specs)))


def hide_column(host: Host) -> None:
    spec = cursor_spec(host)
    if spec is None or len(host.view.columns) <= 1:
        return
    host.apply_view(host.view.with_(columns=tuple(c for c in host.view.columns if c != spec)))


def move_column(host: Host, step: int) -> None:
    spec = cursor_spec(host)
    columns = list(host.view.columns)
    if spec is None or spec not in columns:
        return
    i = columns.index(spec)
    if not 0 <= i + step < len(columns):
        return
    columns[i], columns[i + step] = columns[i + step], columns[i]
    host.apply_view(host.view.with_(columns=tuple(columns)))


def width(host: Host, delta: int) -> None:
    spec = cursor_spec(host)
    if spec is None:
        return
    if delta == 0:
        host.apply_view(host.view.with_width(spec, None))
        return
    current = host.view.width_map.get(spec) or host.table.column_width(spec)
    host.apply_view(host.view.with_width(spec, current + delta * WIDTH_STEP))


def precise(host: Host) -> None:
    spec = cursor_spec(host)
    if spec is not None:
        host.apply_view(host.view.with_(precise=host.view.precise ^ {spec}))
        on_off = "precise" if spec in host.view.precise else "rounded"
        host.notify(f"{one_line(parse_column(spec).header)}: {on_off} values", markup=False)


def command_line(host: Host) -> str:
    shown = shlex.quote(host.view.to_string())
    if host.overview:
        return f"runs-tui ls --all-pipelines --view {shown}"
    name = host.pipeline.name if host.pipeline else ""
    return f"runs-tui --pipeline {shlex.quote(name)} --view {shown}"


def copy_view(host: Host) -> None:
    line = command_line(host)
    host.app.copy_to_clipboard(line)
    host.notify(f"Copied: {line}", title="View as a command line", markup=False, timeout=15)


async def export_runs(host: Host) -> None:
    """`e`: every run the view matches (not only the loaded window) to a new file."""
    from runs_tui.ui.screens.columns import ExportScreen

    pipeline = shown_pipeline(host, "Export")
    if pipeline is None:
        return
    q = host.view.query(scope(host))
    source = host.context.source
    matching = await off_thread(host, source.count, q)
    if matching is None:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(host.context.clock()))
    name = "every-pipeline" if host.overview else pipeline.name
    default = Path.cwd() / f"runs-{name}-{stamp}.csv"
    chosen = await ask(host.app, ExportScreen(default, matching))
    if chosen is None:
        return
    path, fmt = chosen
    columns = [parse_column(c) for c in host.view.columns]
    try:
        n = await asyncio.to_thread(
            _write, source, q.with_(at=host.context.clock()), columns, fmt, path
        )
    except OSError as exc:
        host.notify(f"Cannot write {path}: {exc.strerror or exc}", severity="error", markup=False)
        return
    except SourceError as exc:
        failed(host, exc)
        return
    host.notify(f"Exported {plural(n, 'run')} to {path}", markup=False)


def _write(source: RunSource, q: RunQuery, columns: list[Column], fmt: str, path: Path) -> int:
    """Write the export; a file left by a failed export is removed."""
    with path.open("x", encoding="utf-8", newline="") as out:
        try:
            # Why a run failed comes after the columns, as `ls` writes it.
            return export.write(source, q, [*columns, REASON], fmt, out)
        except SourceError:
            out.close()
            path.unlink(missing_ok=True)
            raise
