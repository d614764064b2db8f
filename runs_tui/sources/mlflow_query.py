"""A `RunQuery` for an MLflow server: what its search grammar can say is pushed down
(a `filter` string and `order_by`), the rest is evaluated here.

Pushed down: one value of the status, the user, a parameter or the version, a tag or
ALL of several, the last value of a metric in a range, the start time in a range;
order by start time and by metrics' last values.
Evaluated here, over a bounded scan of the runs the pushed-down part keeps (`local`):
several values of a column (the grammar has no OR; IN only takes run ids), ANY of
several tags, NOT tags, ranges of parameters, run time and updated, search, and sorts
by anything else. `keeps` and `order` evaluate the whole query the way the SQL store
does (missing values last, numbers before text for a parameter, ties newest first), so
a pushed-down part only ever narrows what they see.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runs_tui.core.columns import Column, parse_column
from runs_tui.core.records import RangeFilter, RunQuery, RunRow, TagFilter, ValueFilter
from runs_tui.sources.mlflow_model import (
    COMMIT,
    MLFLOW_STATUS,
    PARENT,
    is_number,
    metric_key,
    param_key,
    tag_parts,
)

ACTIVE, DELETED = "ACTIVE_ONLY", "DELETED_ONLY"
TOP_LEVEL = f"tags.`{PARENT}` IS NULL"  # nested runs are steps of their parent


@dataclass(frozen=True)
class Plan:
    """What one search asks the server, and whether the rest is evaluated here."""

    filter: str
    order_by: tuple[str, ...]
    view: str
    local_filter: bool
    local_sort: bool

    @property
    def local(self) -> bool:
        return self.local_filter or self.local_sort


def _quote(value: str) -> str | None:
    """A string literal, or None when the grammar cannot hold it (a quote)."""
    return None if "'" in value or "\\" in value else f"'{value}'"


def _ident(kind: str, key: str) -> str | None:
    return None if "`" in key else f"{kind}.`{key}`"


def _value_clause(column: Column, values: frozenset[str]) -> str | None:
    """One value of a column the grammar compares (IN takes only run ids: OR across
    values is evaluated here)."""
    if len(values) != 1:
        return None
    (value,) = values
    literal = _quote(value)
    if literal is None:
        return None
    if column.name == "status" and not column.is_param:
        return f"attributes.status = '{MLFLOW_STATUS[value]}'" if value in MLFLOW_STATUS else None
    if column.name == "user" and not column.is_param:
        return f"attributes.user_id = {literal}" if value else None
    if column.is_param:
        ident = _ident("params", param_key(column.name))
    elif column.name == "version":
        ident = _ident("tags", COMMIT)
        if value == "":
            return f"{ident} IS NULL"
    else:
        return None
    return None if ident is None else f"{ident} = {literal}"


def _range_clause(column: Column, flt: RangeFilter) -> list[str] | None:
    if column.is_metric and column.agg == "last":
        ident = _ident("metrics", metric_key(column.title, column.series))
        if ident is None:
            return None
        return [
            f"{ident} {op} {b!r}" for op, b in ((">=", flt.lo), ("<=", flt.hi)) if b is not None
        ]
    if column.name == "started" and not column.is_param:
        out = []
        if flt.lo is not None:
            out.append(f"attributes.start_time >= {math.ceil(flt.lo * 1000)}")
        if flt.hi is not None:
            out.append(f"attributes.start_time <= {math.floor(flt.hi * 1000)}")
        return out
    return None


def _tag_clauses(tags: TagFilter) -> list[str] | None:
    if tags.exclude or (tags.mode != "all" and len(tags.include) > 1):
        return None
    out = []
    for tag in sorted(tags.include):
        key, value = tag_parts(tag)
        ident, literal = _ident("tags", key), _quote(value)
        if ident is None or literal is None:
            return None
        out.append(f"{ident} = {literal}")
    return out


def _order_term(column: Column, desc: bool) -> str | None:
    way = " DESC" if desc else " ASC"
    if column.is_metric and column.agg == "last":
        ident = _ident("metrics", metric_key(column.title, column.series))
        return None if ident is None else ident + way
    if column.name == "started" and not column.is_param and not column.is_metric:
        return "attributes.start_time" + way
    return None


def plan(q: RunQuery) -> Plan:
    clauses = [TOP_LEVEL]
    local_filter = bool(q.search.strip())
    for flt in q.filters:
        column = parse_column(flt.column)
        if isinstance(flt, ValueFilter):
            one = _value_clause(column, flt.values)
            got = None if one is None else [one]
        else:
            got = _range_clause(column, flt)
        if got is None:
            local_filter = True
        else:
            clauses += got
    if q.tags is not None:
        got = _tag_clauses(q.tags)
        if got is None:
            local_filter = True
        else:
            clauses += got
    terms = [_order_term(parse_column(k.column), k.desc) for k in q.sort]
    local_sort = any(t is None for t in terms)
    order_by = () if local_sort else tuple(t for t in terms if t is not None)
    view = DELETED if q.archived else ACTIVE
    return Plan(" AND ".join(clauses), order_by, view, local_filter, local_sort)


# ---------------------------------------------------------------- evaluated here


def fold(text: str) -> str:
    """ASCII letters lower-cased, nothing else (as the SQL store's search folds)."""
    return text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def _in(value: Any, lo: float | None, hi: float | None) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return (lo is None or lo <= value) and (hi is None or value <= hi)


def _passes(row: RunRow, flt: ValueFilter | RangeFilter, at: float) -> bool:
    column = parse_column(flt.column)
    if isinstance(flt, ValueFilter):
        if column.is_param:
            return row.params.get(column.name) in flt.values
        if column.name == "tags":
            return bool(set(row.tags) & flt.values)
        value = row.value(column, at)
        return value is not None and str(value) in flt.values
    if column.is_param:
        text = row.params.get(column.name)
        return text is not None and is_number(text) and _in(float(text), flt.lo, flt.hi)
    return _in(row.value(column, at), flt.lo, flt.hi)


def _tagged(row: RunRow, tags: TagFilter) -> bool:
    have = set(row.tags)
    if tags.include:
        wanted = tags.include <= have if tags.mode == "all" else tags.include & have
        if not wanted:
            return False
    return not tags.exclude & have


def _found(row: RunRow, needle: str) -> bool:
    """A substring (ASCII case folded) of the user, the run's name, a tag or a
    parameter's value, or the start of the run's id."""
    n = fold(needle.strip())
    if not n:
        return True
    texts = (row.user, row.name, *row.tags, *row.params.values())
    return any(n in fold(t) for t in texts) or str(row.id).startswith(n)


def keeps(q: RunQuery, row: RunRow, at: float) -> bool:
    """Whether the whole query keeps `row` (the archive switch is the search's view)."""
    return (
        all(_passes(row, f, at) for f in q.filters)
        and (q.tags is None or _tagged(row, q.tags))
        and _found(row, q.search)
    )


def _key(column: Column, at: float) -> Callable[[RunRow], Any]:
    if column.name == "tags" and column.source == "builtin":
        return lambda r: min(r.tags) if r.tags else None
    if column.is_metric:

        def metric(r: RunRow) -> Any:
            value = r.value(column, at)
            return (
                None if value is None else (math.isnan(value), 0.0 if math.isnan(value) else value)
            )

        return metric
    return lambda r: r.value(column, at)


def _number(name: str) -> Callable[[RunRow], Any]:
    return lambda r: (float(r.params[name]), r.params[name])


def _text(name: str) -> Callable[[RunRow], Any]:
    return lambda r: r.params.get(name)


def _by(rows: list[RunRow], value: Callable[[RunRow], Any], desc: bool) -> list[RunRow]:
    """A stable sort on one key: values in order, missing ones last either way."""
    present = [(value(r), r) for r in rows]
    have = [p for p in present if p[0] is not None]
    have.sort(key=lambda p: p[0], reverse=desc)
    return [r for _, r in have] + [r for v, r in present if v is None]


def order(rows: Sequence[RunRow], q: RunQuery, at: float) -> list[RunRow]:
    """`rows` in the query's order: each key a stable sort from the last to the first,
    over the newest first (start time, then id, as MLflow breaks ties)."""
    out = sorted(rows, key=lambda r: str(r.id))
    out.sort(key=lambda r: r.started or 0.0, reverse=True)
    for key in reversed(q.sort):
        column = parse_column(key.column)
        if column.is_param:
            name = column.name
            numbers = [r for r in out if is_number(r.params.get(name) or "x")]
            texts = [r for r in out if not is_number(r.params.get(name) or "x")]
            out = _by(numbers, _number(name), key.desc) + _by(texts, _text(name), key.desc)
        else:
            out = _by(out, _key(column, at), key.desc)
    return out
