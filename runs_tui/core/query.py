"""RunQuery: filters, sort, search, archived and a window, turned into SQL.

Everything is decided in SQL over the whole pipeline; Python only loads the rows
of one window. Missing values (no such metric or parameter, not started) sort
last in either direction; ties fall back to the newest run first.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    select,
)

from runs_tui.core.columns import Column, parse_column
from runs_tui.core.db import Store, now
from runs_tui.core.models import METRIC, PARAM, RUN, TAG
from runs_tui.core.records import Filter, RunQuery, RunRow, SortKey, TagFilter, ValueFilter
from runs_tui.core.rows import load_rows
from runs_tui.core.status import Status
from runs_tui.core.textsql import CodePoint, run_number, search_clause


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
            select(func.min(CodePoint(TAG.c.tag)))
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
            numbers = [run_number(v.lstrip("#")) for v in values]
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


def where_clause(q: RunQuery, run_index: bool = True) -> ColumnElement[bool]:
    """The condition a run must meet to be in the query's result. Without `run_index`
    the pipeline term cannot walk a `run` index (`pipeline_id + 0`): SQLite then reads
    runs by id from another table's sorted index, as a sort on a metric wants, instead
    of sorting the whole pipeline (which it prefers once ANALYZE has counted it)."""
    at = q.at if q.at is not None else now()
    parts: list[ColumnElement[bool]] = [RUN.c.archived.is_(q.archived)]
    if q.pipeline_id is not None:
        pipeline = RUN.c.pipeline_id if run_index else RUN.c.pipeline_id + 0
        parts.append(pipeline == q.pipeline_id)
    parts.extend(_filter_clause(f, at) for f in q.filters)
    if q.tags is not None:
        parts.append(_tag_clause(q.tags))
    if q.search.strip():
        parts.append(search_clause(q.search))
    return and_(*parts)


NOT_NULL = ("run", "version", "status", "user", "queue", "updated")
TEXT = ("version", "user", "queue", "status", "tags")


def _ordered(
    stmt: Select[Any], keys: Sequence[SortKey], store: Store, at: float, first_alias: int = 0
) -> Select[Any]:
    """`stmt` ordered by `keys` (missing values last), then the newest run first."""
    order: list[Any] = []
    for i, key in enumerate(keys, first_alias):
        column = parse_column(key.column)
        if column.is_metric:
            m = METRIC.alias(f"m{i}")
            stmt = stmt.outerjoin(m, _metric_on(m, column))
            exprs: list[ColumnElement[Any]] = [m.c[column.agg]]
        elif column.is_param:
            p = PARAM.alias(f"p{i}")
            stmt = stmt.outerjoin(p, and_(p.c.run_id == RUN.c.id, p.c.key == column.name))
            order.append(p.c.value.is_(None))
            exprs = [p.c.num, _text(p.c.value, store)]
        else:
            expr = _builtin(column.name, at)
            exprs = [_text(expr, store) if column.name in TEXT else expr]
        for expr in exprs:
            order.append(expr.is_(None))
            order.append(expr.desc() if key.desc else expr.asc())
    order.extend((RUN.c.number.desc(), RUN.c.id.desc()))
    return stmt.order_by(*order)


def _metric_on(m: Any, column: Column) -> ColumnElement[bool]:
    return and_(m.c.run_id == RUN.c.id, m.c.title == column.title, m.c.series == column.series)


def _segments(q: RunQuery, store: Store, at: float) -> list[Select[Any]]:
    """The result split by the first sort key into parts that each sort on an index:
    runs with a value (numbers before text for a hyperparameter), then runs without.
    Together, in order, they are exactly the single sorted query."""
    key, rest = q.sort[0], q.sort[1:]
    column = parse_column(key.column)
    base = select(RUN.c.id).select_from(RUN).where(where_clause(q))
    by_other = select(RUN.c.id).select_from(RUN).where(where_clause(q, not store.is_sqlite))

    def lead(expr: ColumnElement[Any]) -> Any:
        return expr.desc() if key.desc else expr.asc()

    parts: list[tuple[Select[Any], list[Any]]] = []
    if column.is_metric:
        m = METRIC.alias("m_first")
        parts.append((by_other.join(m, _metric_on(m, column)), [lead(m.c[column.agg])]))
        missing = ~exists().where(_metric_on(METRIC, column))
        parts.append((base.where(missing), []))
    elif column.is_param:
        p = PARAM.alias("p_first")
        joined = by_other.join(p, and_(p.c.run_id == RUN.c.id, p.c.key == column.name))
        parts.append(
            (joined.where(p.c.num.is_not(None)), [lead(p.c.num), lead(_text(p.c.value, store))])
        )
        parts.append((joined.where(p.c.num.is_(None)), [lead(_text(p.c.value, store))]))
        missing = ~exists().where(PARAM.c.run_id == RUN.c.id, PARAM.c.key == column.name)
        parts.append((base.where(missing), []))
    else:
        expr = _builtin(column.name, at)
        ordered = _text(expr, store) if column.name in TEXT else expr
        if column.name in NOT_NULL:
            parts.append((base, [lead(ordered)]))
        else:
            parts.append((base.where(expr.is_not(None)), [lead(ordered)]))
            parts.append((base.where(expr.is_(None)), []))
    return [
        _ordered(stmt.order_by(*leading), rest, store, at, first_alias=1) for stmt, leading in parts
    ]


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
    """The ids of one page of the sorted result. A sort runs as its segments in turn, so
    that each can walk an index and stop after `limit` rows."""
    at = q.at if q.at is not None else now()
    q = q.with_(at=at)  # one clock for the WHERE and the ORDER BY of every segment
    with store.read() as session:
        if not q.sort:
            stmt = _ordered(select(RUN.c.id).select_from(RUN).where(where_clause(q)), (), store, at)
            return list(session.execute(stmt.offset(offset).limit(limit)).scalars())
        out: list[int] = []
        for part in _segments(q, store, at):
            if len(out) >= limit:
                break
            got = list(session.execute(part.offset(offset).limit(limit - len(out))).scalars())
            if not got and offset:
                size = session.execute(
                    select(func.count()).select_from(part.order_by(None).subquery())
                ).scalar_one()
                offset -= int(size)
            else:
                offset = 0
            out.extend(got)
        return out


def window(store: Store, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
    """One page of the sorted result, with tags, metrics and parameters loaded."""
    return load_rows(store, window_ids(store, q, offset, limit))


def changed_since(store: Store, pipeline_id: int, since: float | None) -> list[tuple[int, float]]:
    """(run, updated) of the pipeline's runs (archived or not) updated at or after `since`;
    with `since` None, only the latest, to start watching from."""
    both = RUN.c.archived.in_([False, True])  # walks ix_run_updated from `since` on
    stmt = select(RUN.c.id, RUN.c.updated).where(RUN.c.pipeline_id == pipeline_id, both)
    if since is None:
        stmt = stmt.order_by(RUN.c.updated.desc()).limit(1)
    else:
        stmt = stmt.where(RUN.c.updated >= since)
    with store.read() as session:
        return [(run_id, updated) for run_id, updated in session.execute(stmt).all()]
