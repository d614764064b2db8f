"""RunQuery: filters, sort, search, archived and a window, turned into SQL.

Everything is decided in SQL over the whole pipeline; Python only loads the rows
of one window. Missing values (no such metric or parameter, not started) sort
last in either direction; ties fall back to the newest run first.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    select,
    union_all,
)

from runs_tui.core.clauses import builtin_sql, filter_clause, tag_clause
from runs_tui.core.columns import Column, parse_column
from runs_tui.core.db import Store, now
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN
from runs_tui.core.records import RunQuery, RunRow, SortKey
from runs_tui.core.rows import load_rows
from runs_tui.core.search_index import SEP, Kind, kind
from runs_tui.core.textsql import (
    NO_INDEX,
    SearchWay,
    ascii_lower,
    matching_ids,
    search_clause,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection


def where_clause(
    q: RunQuery, run_index: bool = True, *, way: SearchWay = NO_INDEX
) -> ColumnElement[bool]:
    """The condition a run must meet to be in the query's result. Without `run_index`
    the pipeline term cannot walk a `run` index (`pipeline_id + 0`): SQLite then reads
    runs by id from another table's sorted index, as a sort on a metric wants, instead
    of sorting the whole pipeline (which it prefers once ANALYZE has counted it), or
    from the search index (`search_way`). The search runs as `way` says; the default
    scans tags and parameters (right for a handful of runs, as selection.hidden asks)."""
    at = q.at if q.at is not None else now()
    parts: list[ColumnElement[bool]] = [RUN.c.archived.is_(q.archived)]
    if q.pipeline_id is not None:
        pipeline = RUN.c.pipeline_id if run_index else RUN.c.pipeline_id + 0
        parts.append(pipeline == q.pipeline_id)
    parts.extend(filter_clause(f, at) for f in q.filters)
    if q.tags is not None:
        parts.append(tag_clause(q.tags))
    if q.search.strip():
        parts.append(search_clause(q.search, way, q.pipeline_id))
    return and_(*parts)


WALK_ABOVE = 10_000  # a window walks its order when more runs than this hold the needle
FEW = 5_000  # a sorted window of fewer filtered runs reads them first (SQLite)


def search_way(store: Store, q: RunQuery) -> SearchWay:
    """The query's search through what the store has: the matching runs read first."""
    return SearchWay(kind(store)) if q.search.strip() else SearchWay()


def window_way(session: Connection, store: Store, q: RunQuery) -> SearchWay:
    """A window's search. On SQLite, when WALK_ABOVE runs or more hold the needle, it
    walks the window's order testing each run, and a page fills after a few thousand;
    when fewer do, it reads them from the index and sorts them (the probe reads at most
    WALK_ABOVE index entries: about 10 ms). PostgreSQL's planner makes this choice
    itself, from pg_trgm's estimates."""
    way = search_way(store, q)
    folded = ascii_lower(q.search.strip())
    if not store.is_sqlite:
        return way
    if way.kind is not Kind.NONE and SEP not in folded:
        probe = matching_ids(folded, way.kind).limit(WALK_ABOVE).subquery()
        held = int(session.execute(select(func.count()).select_from(probe)).scalar_one())
        way = replace(way, walk=held >= WALK_ABOVE)
    if q.filters or q.tags:
        # Few runs pass the filters (20 Running of a million): walking the sort's index
        # would test every run of the pipeline (seconds); read them first and sort them.
        probe = select(RUN.c.id).where(where_clause(q, way=way)).limit(FEW).subquery()
        held = int(session.execute(select(func.count()).select_from(probe)).scalar_one())
        way = replace(way, few=held < FEW)
    return way


def _run_index(store: Store, q: RunQuery, way: SearchWay) -> bool:
    """Whether the pipeline term may walk a run index: not on SQLite when the search's
    matching runs lead (it would walk the whole pipeline and look each run up in them)."""
    needle = ascii_lower(q.search.strip())
    leads = bool(needle) and way.kind is not Kind.NONE and not way.walk and SEP not in needle
    return not (store.is_sqlite and leads)


NOT_NULL = ("run", "version", "status", "user", "queue", "updated")
TEXT = ("version", "user", "queue", "status", "tags")


@dataclass(frozen=True)
class Term:
    """One expression of a query's order, `desc` or not; when `nullable`, its missing
    values (NULL) come after every value whatever the direction."""

    expr: ColumnElement[Any]
    desc: bool = False
    nullable: bool = False

    def order_by(self) -> list[Any]:
        by = self.expr.desc() if self.desc else self.expr.asc()
        return [self.expr.is_(None), by] if self.nullable else [by]


def order_clauses(terms: Sequence[Term]) -> list[Any]:
    """The ORDER BY clauses of `terms`."""
    return [clause for term in terms for clause in term.order_by()]


def order_terms(
    stmt: Select[Any],
    keys: Sequence[SortKey],
    store: Store,
    at: float,
    first_alias: int = 0,
    joins: dict[Any, Any] | None = None,
) -> tuple[Select[Any], list[Term]]:
    """`stmt` joined to what `keys` sort on, and the terms of the order they make (missing
    values last), then the newest run first: the run number, then the id (unique).
    A hyperparameter is two terms, its number then its text: numbers come before text,
    and a run without it has neither. `joins`, when given, receives the alias joined
    for each metric series ((title, series)) and parameter (its name), for a caller that
    selects their values too (`cells`): one join each, not a second for the sort."""
    terms: list[Term] = []
    joins = {} if joins is None else joins
    for i, key in enumerate(keys, first_alias):
        column = parse_column(key.column)
        if column.is_metric:
            m = METRIC.alias(f"m{i}")
            stmt = stmt.outerjoin(m, _metric_on(m, column))
            joins.setdefault((column.title, column.series), m)
            exprs: list[ColumnElement[Any]] = [m.c[column.metric_field]]
        elif column.is_param:
            p = PARAM.alias(f"p{i}")
            stmt = stmt.outerjoin(p, and_(p.c.run_id == RUN.c.id, p.c.key == column.name))
            joins.setdefault(column.name, p)
            exprs = [p.c.num, _text(p.c.value, store)]
        else:
            expr = builtin_sql(column.name, at)
            exprs = [_text(expr, store) if column.name in TEXT else expr]
        nullable = column.source != "builtin" or column.name not in NOT_NULL
        terms.extend(Term(expr, key.desc, nullable) for expr in exprs)
    terms.extend((Term(RUN.c.number, True), Term(RUN.c.id, True)))
    return stmt, terms


def _metric_on(m: Any, column: Column, by_run: bool = False) -> ColumnElement[bool]:
    """The run's row of the metric. With `by_run` it is reached from the run only: title
    and series are hidden from indexes (`|| ''`), so that SQLite reads the search's few
    runs first rather than walking the metric's sorted index and testing every run."""
    title, series = (m.c.title + "", m.c.series + "") if by_run else (m.c.title, m.c.series)
    return and_(m.c.run_id == RUN.c.id, title == column.title, series == column.series)


def segments(
    q: RunQuery, store: Store, at: float, way: SearchWay | None = None
) -> list[tuple[Select[Any], list[Term]]]:
    """The result split by the first sort key into parts that each sort on an index:
    runs with a value (numbers before text for a hyperparameter), then runs without;
    each with the terms of its whole order (unordered: one part, the newest run first).
    Together, in order, they are exactly the single sorted query. The search runs as
    `way` says (default: `search_way`)."""
    way = search_way(store, q) if way is None else way
    base = select(RUN.c.id).select_from(RUN).where(store_where(store, q, way))
    if not q.sort:
        return [order_terms(base, (), store, at)]
    key, rest = q.sort[0], q.sort[1:]
    column = parse_column(key.column)
    run_first = not store.is_sqlite or way.few  # else the sort's index is walked
    by_other = select(RUN.c.id).select_from(RUN).where(where_clause(q, run_first, way=way))
    # The search's runs lead, or the few filtered runs: join to them by run.
    by_run = not _run_index(store, q, way) or way.few

    def lead(expr: ColumnElement[Any]) -> Term:
        return Term(expr, key.desc)

    parts: list[tuple[Select[Any], list[Term]]] = []
    if column.is_metric:
        m = METRIC.alias("m_first")
        value = m.c[column.metric_field]
        joined = by_other.join(m, _metric_on(m, column, by_run))
        missing = ~exists().where(_metric_on(METRIC, column))
        if column.is_step:  # a step may be missing where the series is not (a point had none)
            joined = joined.where(value.is_not(None))
            stored = METRIC.c[column.metric_field].is_not(None)
            missing = ~exists().where(_metric_on(METRIC, column), stored)
        parts.append((joined, [lead(value)]))
        parts.append((base.where(missing), []))
    elif column.is_param:
        p = PARAM.alias("p_first")
        p_key = p.c.key + "" if by_run else p.c.key
        joined = by_other.join(p, and_(p.c.run_id == RUN.c.id, p_key == column.name))
        parts.append(
            (joined.where(p.c.num.is_not(None)), [lead(p.c.num), lead(_text(p.c.value, store))])
        )
        parts.append((joined.where(p.c.num.is_(None)), [lead(_text(p.c.value, store))]))
        missing = ~exists().where(PARAM.c.run_id == RUN.c.id, PARAM.c.key == column.name)
        parts.append((base.where(missing), []))
    else:
        expr = builtin_sql(column.name, at)
        ordered = _text(expr, store) if column.name in TEXT else expr
        if column.name in NOT_NULL:
            parts.append((base, [lead(ordered)]))
        else:
            parts.append((base.where(expr.is_not(None)), [lead(ordered)]))
            parts.append((base.where(expr.is_(None)), []))
    out = []
    for stmt, leading in parts:
        joined_rest, rest_terms = order_terms(stmt, rest, store, at, first_alias=1)
        out.append((joined_rest, leading + rest_terms))
    return out


def _segments(
    q: RunQuery, store: Store, at: float, way: SearchWay | None = None
) -> list[Select[Any]]:
    """The parts of a sorted result (`segments`), each ordered; when the filters leave
    few runs (`way.few`), in an order no index gives, so that SQLite reads them through
    the filters' index and sorts them rather than walk the order's index testing every
    run of the pipeline (0.7 s at 1M runs for the 20 Running ones)."""
    parts = segments(q, store, at, way)
    few = way is not None and way.few
    return [
        stmt.order_by(*order_clauses([_unindexed(t) for t in terms] if few else terms))
        for stmt, terms in parts
    ]


def _unindexed(term: Term) -> Term:
    """The same order, out of any index's reach (`x + 0`, `x || ''`: SQLite's idiom)."""
    text = isinstance(term.expr.type, String)
    return replace(term, expr=term.expr + ("" if text else 0))


def _text(expr: ColumnElement[Any], store: Store) -> ColumnElement[Any]:
    """Compare text by code point on every database (PostgreSQL would use the locale)."""
    return expr if store.is_sqlite else expr.collate("C")


def store_where(store: Store, q: RunQuery, way: SearchWay | None = None) -> ColumnElement[bool]:
    """where_clause with the search through the store's index (default: `search_way`)."""
    way = search_way(store, q) if way is None else way
    return where_clause(q, _run_index(store, q, way), way=way)


def ids(store: Store, q: RunQuery) -> list[int]:
    """Every matching run's id, for bulk selections ("All", "Filtered")."""
    with store.connect() as session:
        return list(session.execute(select(RUN.c.id).where(store_where(store, q))).scalars())


def window_ids(store: Store, q: RunQuery, offset: int = 0, limit: int = 200) -> list[int]:
    """The ids of one page of the sorted result. A sort runs as its segments in turn, so
    that each can walk an index and stop after `limit` rows."""
    at = q.at if q.at is not None else now()
    q = q.with_(at=at)  # one clock for the WHERE and the ORDER BY of every segment
    with store.connect() as session:
        way = window_way(session, store, q)
        out: list[int] = []
        for part in _segments(q, store, at, way):
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


def changed_since(
    store: Store, pipeline_id: int | None, since: float | None
) -> list[tuple[int, float]]:
    """(run, updated) of the pipeline's runs (every pipeline's: `pipeline_id` None, archived
    or not) updated at or after `since`; with `since` None, only the latest, to start
    watching from."""
    params: dict[str, int] = {}
    if since is None:
        stmt = _latest(every=pipeline_id is None)
        if pipeline_id is not None:
            params["pipeline_id"] = pipeline_id
    else:
        both = RUN.c.archived.in_([False, True])  # walks ix_run_updated from `since` on
        pipelines = (
            RUN.c.pipeline_id.in_(select(PIPELINE.c.id))  # each pipeline's part of the index
            if pipeline_id is None
            else RUN.c.pipeline_id == pipeline_id
        )
        stmt = select(RUN.c.id, RUN.c.updated).where(pipelines, both, RUN.c.updated >= since)
    with store.connect() as session:
        rows = session.execute(stmt, params).all()
        return [(run_id, updated) for run_id, updated in rows]


@functools.cache
def _latest(every: bool) -> Select[Any]:
    """The run updated last, of every pipeline or of the one bound as `pipeline_id`: the
    last entry of each (pipeline, archived) part of ix_run_updated, then the latest of
    those. Asked of a pipeline in one ORDER BY, PostgreSQL cannot merge its two parts in
    order: it sorted every run (230 ms at a million). Made once: the alias's columns
    alone cost a millisecond to make."""
    r = RUN.alias("r")
    parts = []
    for archived in (False, True):
        last = (
            select(r.c.id)
            .where(r.c.pipeline_id == PIPELINE.c.id, r.c.archived == archived)
            .order_by(r.c.updated.desc())
            .limit(1)
            .scalar_subquery()
        )
        part = select(last).select_from(PIPELINE)
        if not every:
            part = part.where(PIPELINE.c.id == bindparam("pipeline_id"))
        parts.append(part)
    return (
        select(RUN.c.id, RUN.c.updated)
        .where(RUN.c.id.in_(union_all(*parts)))
        .order_by(RUN.c.updated.desc())
        .limit(1)
    )
