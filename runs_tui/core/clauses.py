"""A column's value and a query's filters as SQL, over `run` (what `query` sorts and
filters on, and `cells` exports): run times, pipeline names, tags, ranges and value sets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, exists, func, literal, not_, select

from runs_tui.core.columns import Column, parse_column
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.records import Filter, TagFilter, ValueFilter
from runs_tui.core.status import Status
from runs_tui.core.textsql import CodePoint, numbered_in, run_number


def run_time_sql(at: float) -> ColumnElement[Any]:
    """`RunRow.run_time` in SQL: what sorts, filters and exports use."""
    return case(
        (RUN.c.started.is_(None), func.nullif(RUN.c.ran, 0.0)),
        else_=RUN.c.ran + func.coalesce(RUN.c.finished, literal(at, Float)) - RUN.c.started,
    )


def pipeline_name_sql() -> ColumnElement[str]:
    """The run's pipeline's name (the `pipeline` column)."""
    by_id = PIPELINE.c.id == RUN.c.pipeline_id
    return select(PIPELINE.c.name).where(by_id).correlate(RUN).scalar_subquery()


def builtin_sql(name: str, at: float) -> ColumnElement[Any]:
    """A built-in column's value (tags: the first in code point order, for sorting)."""
    if name == "run":
        return RUN.c.number
    if name == "pipeline":
        return pipeline_name_sql()
    if name == "run_time":
        return run_time_sql(at)
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


def filter_clause(flt: Filter, at: float) -> ColumnElement[bool]:
    """The condition of one filter; ValueError for one the column cannot take."""
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
            return numbered_in(RUN.c.number, [n for n in numbers if n is not None])
        if column.name == "status":
            values = [Status.parse(v).value for v in values]
        if column.name == "pipeline":
            return RUN.c.pipeline_id.in_(select(PIPELINE.c.id).where(PIPELINE.c.name.in_(values)))
        return RUN.c[column.name].in_(values)
    if column.is_metric:
        return _metric_exists(column, _between(METRIC.c[column.metric_field], flt.lo, flt.hi))
    if column.is_param:
        return _param_exists(column, _between(PARAM.c.num, flt.lo, flt.hi))
    if column.name not in ("run", "run_time", "started", "updated"):
        raise ValueError(f"column {flt.column!r} filters by values, not by range")
    return _between(builtin_sql(column.name, at), flt.lo, flt.hi)


def tag_clause(tags: TagFilter) -> ColumnElement[bool]:
    """ANY or ALL of the included tags, and none of the excluded."""

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
