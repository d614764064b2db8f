"""RunQuery: filters, sort, search, archived and a window, turned into SQL.

Everything is decided in SQL over the whole pipeline; Python only loads the rows
of one window. Missing values (no such metric or parameter, not started) sort
last in either direction; ties fall back to the newest run first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.sql.expression import ColumnElement as ColumnExpr

from runs_tui.core.columns import Column, parse_column
from runs_tui.core.db import Store, now
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.status import Status


@dataclass(frozen=True)
class ValueFilter:
    """Runs whose `column` is one of `values` (text as shown; statuses as stored)."""

    column: str
    values: frozenset[str]


@dataclass(frozen=True)
class RangeFilter:
    """Runs whose `column` lies in [lo, hi]; either bound may be open. Dates are epoch seconds."""

    column: str
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class TagFilter:
    """ANY or ALL of `include`, and NOT any of `exclude`."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    mode: str = "any"


Filter = ValueFilter | RangeFilter


@dataclass(frozen=True)
class SortKey:
    column: str
    desc: bool = False


@dataclass(frozen=True)
class RunQuery:
    """What the table shows; `pipeline_id` None means every pipeline."""

    pipeline_id: int | None
    filters: tuple[Filter, ...] = ()
    tags: TagFilter | None = None
    search: str = ""
    sort: tuple[SortKey, ...] = ()
    archived: bool = False
    at: float | None = None

    def with_(self, **changes: Any) -> RunQuery:
        return replace(self, **changes)


@dataclass
class MetricValue:
    last: float
    min: float
    max: float
    last_step: int | None = None

    def get(self, agg: str) -> float:
        return float(getattr(self, agg))


@dataclass
class RunRow:
    """One run as the table, the CLI and exports show it."""

    id: int
    pipeline: str
    number: int
    name: str
    version: str
    status: str
    user: str
    queue: str
    created: float
    started: float | None
    updated: float
    finished: float | None
    archived: bool
    attempt: int
    agent: str | None
    progress: float | None
    status_message: str
    exit_code: int | None
    tags: tuple[str, ...] = ()
    metrics: dict[tuple[str, str], MetricValue] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.pipeline}#{self.number}"

    def run_time(self, at: float) -> float | None:
        if self.started is None:
            return None
        return (self.finished if self.finished is not None else at) - self.started

    def value(self, column: Column, at: float) -> Any:
        """The raw value of a column for this run (None when it has none)."""
        if column.is_metric:
            metric = self.metrics.get((column.title, column.series))
            return metric.get(column.agg) if metric else None
        if column.is_param:
            return self.params.get(column.name)
        if column.name == "run":
            return self.number
        if column.name == "tags":
            return self.tags
        if column.name == "run_time":
            return self.run_time(at)
        return getattr(self, column.name)


def _run_time(at: float) -> ColumnElement[Any]:
    return case(
        (RUN.c.started.is_(None), None),
        else_=func.coalesce(RUN.c.finished, literal(at)) - RUN.c.started,
    )


def _builtin(name: str, at: float) -> ColumnElement[Any]:
    if name == "run":
        return RUN.c.number
    if name == "run_time":
        return _run_time(at)
    if name == "tags":
        return (
            select(func.min(TAG.c.tag))
            .where(TAG.c.run_id == RUN.c.id)
            .correlate(RUN)
            .scalar_subquery()
        )
    return RUN.c[name]


def _metric_exists(column: Column, cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        METRIC.c.run_id == RUN.c.id,
        METRIC.c.title == column.title,
        METRIC.c.series == column.series,
        cond,
    )


def _param_exists(column: Column, cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(PARAM.c.run_id == RUN.c.id, PARAM.c.key == column.name, cond)


def _between(expr: ColumnElement[Any], lo: float | None, hi: float | None) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [expr.is_not(None)]
    if lo is not None:
        parts.append(expr >= lo)
    if hi is not None:
        parts.append(expr <= hi)
    return and_(*parts)


def _filter_clause(flt: Filter, at: float) -> ColumnElement[bool]:
    column = parse_column(flt.column)
    if isinstance(flt, ValueFilter):
        values = sorted(flt.values)
        if column.is_param:
            return _param_exists(column, PARAM.c.value.in_(values))
        if column.is_metric or column.name in ("started", "updated", "run_time"):
            raise ValueError(f"column {flt.column!r} filters by range, not by values")
        if column.name == "tags":
            return exists().where(TAG.c.run_id == RUN.c.id, TAG.c.tag.in_(values))
        if column.name == "run":
            numbers = [_run_number(v.lstrip("#")) for v in values]
            return RUN.c.number.in_([n for n in numbers if n is not None])
        if column.name == "status":
            values = [Status.parse(v).value for v in values]
        return RUN.c[column.name].in_(values)
    if column.is_metric:
        return _metric_exists(column, _between(METRIC.c[column.agg], flt.lo, flt.hi))
    if column.is_param:
        return _param_exists(column, _between(PARAM.c.num, flt.lo, flt.hi))
    if column.name not in ("run", "run_time", "started", "updated"):
        raise ValueError(f"column {flt.column!r} filters by values, not by range")
    return _between(_builtin(column.name, at), flt.lo, flt.hi)


def _tag_clause(tags: TagFilter) -> ColumnElement[bool]:
    def has(tag: str) -> ColumnElement[bool]:
        return exists().where(TAG.c.run_id == RUN.c.id, TAG.c.tag == tag)

    parts: list[ColumnElement[bool]] = []
    if tags.include:
        if tags.mode == "all":
            parts.extend(has(t) for t in sorted(tags.include))
        else:
            parts.append(
                exists().where(TAG.c.run_id == RUN.c.id, TAG.c.tag.in_(sorted(tags.include)))
            )
    if tags.exclude:
        parts.append(
            not_(exists().where(TAG.c.run_id == RUN.c.id, TAG.c.tag.in_(sorted(tags.exclude))))
        )
    return and_(true_clause(), *parts)


def true_clause() -> ColumnElement[bool]:
    return literal(True) == literal(True)


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as SQLite's lower() does."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _search_clause(text: str) -> ColumnElement[bool]:
    needle = text.strip()
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{ascii_lower(escaped)}%"

    def like(expr: ColumnExpr[Any]) -> ColumnElement[bool]:
        return func.lower(expr).like(pattern, escape="\\")

    parts = [
        like(RUN.c.name),
        like(RUN.c.user),
        exists().where(TAG.c.run_id == RUN.c.id, like(TAG.c.tag)),
        exists().where(PARAM.c.run_id == RUN.c.id, like(PARAM.c.value)),
    ]
    number = _run_number(needle.removeprefix("#"))
    if number is not None:
        parts.append(RUN.c.number == number)
    return or_(*parts)


def _run_number(digits: str) -> int | None:
    """`digits` as a run number: ASCII digits only (int() refuses "²"), and small enough
    for a 64-bit SQL integer (a larger one would fail to bind and is no run's number)."""
    if digits.isascii() and digits.isdigit() and int(digits) < 2**63:
        return int(digits)
    return None


def where_clause(q: RunQuery) -> ColumnElement[bool]:
    """The condition a run must meet to be in the query's result."""
    at = q.at if q.at is not None else now()
    parts: list[ColumnElement[bool]] = [RUN.c.archived.is_(q.archived)]
    if q.pipeline_id is not None:
        parts.append(RUN.c.pipeline_id == q.pipeline_id)
    parts.extend(_filter_clause(f, at) for f in q.filters)
    if q.tags is not None:
        parts.append(_tag_clause(q.tags))
    if q.search.strip():
        parts.append(_search_clause(q.search))
    return and_(*parts)


def _ordered(stmt: Select[Any], q: RunQuery, store: Store) -> Select[Any]:
    at = q.at if q.at is not None else now()
    order: list[Any] = []
    for i, key in enumerate(q.sort):
        column = parse_column(key.column)
        if column.is_metric:
            m = METRIC.alias(f"m{i}")
            stmt = stmt.outerjoin(
                m,
                and_(
                    m.c.run_id == RUN.c.id, m.c.title == column.title, m.c.series == column.series
                ),
            )
            exprs: list[ColumnElement[Any]] = [m.c[column.agg]]
        elif column.is_param:
            p = PARAM.alias(f"p{i}")
            stmt = stmt.outerjoin(p, and_(p.c.run_id == RUN.c.id, p.c.key == column.name))
            order.append(p.c.value.is_(None))
            exprs = [p.c.num, _text(p.c.value, store)]
        else:
            expr = _builtin(column.name, at)
            if column.name in ("version", "user", "queue", "status", "tags"):
                expr = _text(expr, store)
            exprs = [expr]
        for expr in exprs:
            order.append(expr.is_(None))
            order.append(expr.desc() if key.desc else expr.asc())
    order.extend((RUN.c.number.desc(), RUN.c.id.desc()))
    return stmt.order_by(*order)


def _text(expr: ColumnElement[Any], store: Store) -> ColumnElement[Any]:
    """Compare text by code point on every database (PostgreSQL would use the locale)."""
    return expr if store.is_sqlite else expr.collate("C")


def count(store: Store, q: RunQuery) -> int:
    with store.read() as session:
        return int(
            session.execute(
                select(func.count()).select_from(RUN).where(where_clause(q))
            ).scalar_one()
        )


def ids(store: Store, q: RunQuery) -> list[int]:
    """Every matching run's id, for bulk selections ("All", "Filtered")."""
    with store.read() as session:
        return list(session.execute(select(RUN.c.id).where(where_clause(q))).scalars())


def window_ids(store: Store, q: RunQuery, offset: int = 0, limit: int = 200) -> list[int]:
    stmt = _ordered(select(RUN.c.id).select_from(RUN).where(where_clause(q)), q, store)
    with store.read() as session:
        return list(session.execute(stmt.offset(offset).limit(limit)).scalars())


def window(store: Store, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
    """One page of the sorted result, with tags, metrics and parameters loaded."""
    return load_rows(store, window_ids(store, q, offset, limit))


def changed_ids(store: Store, pipeline_id: int, since: float) -> list[int]:
    """Runs of the pipeline updated at or after `since` (archived or not)."""
    stmt = select(RUN.c.id).where(RUN.c.pipeline_id == pipeline_id, RUN.c.updated >= since)
    with store.read() as session:
        return list(session.execute(stmt).scalars())


def load_rows(store: Store, run_ids: Sequence[int]) -> list[RunRow]:
    """Rows for `run_ids`, in that order; ids that no longer exist are left out."""
    if not run_ids:
        return []
    wanted = list(run_ids)
    with store.read() as session:
        stmt = (
            select(RUN, PIPELINE.c.name.label("pipeline_name"))
            .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
            .where(RUN.c.id.in_(wanted))
        )
        rows: dict[int, RunRow] = {}
        for r in session.execute(stmt).mappings():
            rows[r["id"]] = RunRow(
                id=r["id"],
                pipeline=r["pipeline_name"],
                number=r["number"],
                name=r["name"],
                version=r["version"],
                status=r["status"],
                user=r["user"],
                queue=r["queue"],
                created=r["created"],
                started=r["started"],
                updated=r["updated"],
                finished=r["finished"],
                archived=bool(r["archived"]),
                attempt=r["attempt"],
                agent=r["agent"],
                progress=r["progress"],
                status_message=r["status_message"],
                exit_code=r["exit_code"],
            )
        tags: dict[int, list[str]] = {}
        for run_id, tag in session.execute(
            select(TAG.c.run_id, TAG.c.tag).where(TAG.c.run_id.in_(wanted))
        ):
            tags.setdefault(run_id, []).append(tag)
        for run_id, tag_list in tags.items():
            rows[run_id].tags = tuple(sorted(tag_list))
        for m in session.execute(select(METRIC).where(METRIC.c.run_id.in_(wanted))).mappings():
            rows[m["run_id"]].metrics[(m["title"], m["series"])] = MetricValue(
                m["last"], m["min"], m["max"], m["last_step"]
            )
        for run_id, key, value in session.execute(
            select(PARAM.c.run_id, PARAM.c.key, PARAM.c.value).where(PARAM.c.run_id.in_(wanted))
        ):
            rows[run_id].params[key] = value
    return [rows[i] for i in wanted if i in rows]
