"""How many runs a query matches: exactly (the status line's total), or up to a bound
(what it shows at once, "1,000+ runs", while the exact count of a search a million runs
hold reads every match).

A search's exact count. The search index alone counts the runs whose text holds the
needle in 15-60 ms at a million (FTS5, pg_trgm); looking each one up in `run` for its
pipeline and archived flag takes five times that. So a count reads few runs (10,000 at
most) one by one, where it can:
- the query's part (its pipeline, archived or not) holds WALK_PART runs or fewer: each
  is read and its text tested, whatever the needle;
- OUTSIDE runs or fewer are outside that part (as with one big pipeline) and only the
  search narrows it: every match in the index less the outside runs that hold it;
- else each match is looked up.

The bound is the exact count up to it. A search reads its matches from the search index
first and looks each run up, so it stops after `limit` matches; in the order the planner
would otherwise pick (walking the pipeline's runs, testing each one's text), a needle
one run in twelve holds tests twelve runs for each match.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    func,
    literal,
    select,
    union_all,
)

from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.query import search_way, store_where, where_clause
from runs_tui.core.records import PipelineId, RunQuery
from runs_tui.core.search_index import SEP, Kind
from runs_tui.core.textsql import (
    SearchWay,
    ascii_lower,
    holds,
    matching_ids,
    numbered,
    run_number,
)

WALK_PART = 10_000  # a query's part of this many runs or fewer: each run tested
OUTSIDE = 10_000  # this many runs outside the part or fewer: counted by complement


def count(store: Store, q: RunQuery) -> int:
    """How many runs the query matches."""
    with store.connect() as session:
        return int(session.execute(_exact(session, store, q)).scalar_one())


def count_at_most(store: Store, q: RunQuery, limit: int) -> int:
    """How many runs the query matches, or `limit` or a little more when it matches at
    least that many."""
    with store.connect() as session:
        return int(session.execute(_bounded(store, q, limit)).scalar_one())


def _exact(session: Connection, store: Store, q: RunQuery) -> Select[Any]:
    """The count's statement: a search's by walking its part, or by complement, when few
    runs are there (a probe of the run indexes for each, of 10,001 entries at most; the
    second only when the part is many)."""
    indexed = _indexed(store, q)
    if indexed is not None and q.pipeline_id is not None:
        needle, folded, way = indexed
        part = select(RUN.c.id).where(RUN.c.pipeline_id == q.pipeline_id)
        if _at_most(session, part.where(RUN.c.archived.is_(q.archived)), WALK_PART):
            walk = where_clause(q, way=replace(way, walk=True))  # each run's text tested
            return select(func.count()).select_from(RUN).where(walk)
        outside = _outside(q.pipeline_id, q.archived)
        if not q.filters and q.tags is None and _at_most(session, outside, OUTSIDE):
            return _by_complement(q, needle, folded, way, outside)
    return select(func.count()).select_from(RUN).where(store_where(store, q))


def _at_most(session: Connection, rows: Select[Any] | CompoundSelect[Any], n: int) -> bool:
    """Whether `rows` are `n` or fewer (never when n < 0), reading n + 1 at most."""
    probe = select(func.count()).select_from(rows.limit(n + 1).subquery())
    return int(session.execute(probe).scalar_one()) <= n


def _indexed(store: Store, q: RunQuery) -> tuple[str, str, SearchWay] | None:
    """The query's needle, folded, and its search's way, when the search index answers
    it (a needle free of SEP, on a database that has the index); else None."""
    needle = q.search.strip()
    folded = ascii_lower(needle)
    way = search_way(store, q)
    if way.kind is Kind.NONE or not needle or SEP in folded:
        return None
    return needle, folded, way


def _by_complement(
    q: RunQuery, needle: str, folded: str, way: SearchWay, outside: CompoundSelect[Any]
) -> Select[Any]:
    """Every run whose text holds the needle (the index alone) less the runs `outside`
    the query's part that hold it, plus the part's run found by its number alone."""
    held = select(func.count()).select_from(matching_ids(folded, way.kind).subquery())
    others = outside.subquery("outside")
    held_outside = select(func.count()).select_from(others).where(holds(folded, others.c.id))
    total = held.scalar_subquery() - held_outside.scalar_subquery()
    return select(total + _numbered_only(q, needle, folded, way))


def _outside(pipeline_id: PipelineId, archived: bool) -> CompoundSelect[Any]:
    """The ids of the runs outside (pipeline, archived), as ranges of the run indexes
    (NOT (pipeline = p AND archived = a) would scan every run)."""
    return union_all(
        select(RUN.c.id).where(RUN.c.pipeline_id < pipeline_id),
        select(RUN.c.id).where(RUN.c.pipeline_id > pipeline_id),
        select(RUN.c.id).where(RUN.c.pipeline_id == pipeline_id, RUN.c.archived.is_(not archived)),
    )


def _numbered_only(q: RunQuery, needle: str, folded: str, way: SearchWay) -> ColumnElement[int]:
    """How many runs of the query's part the needle finds by their number alone (their
    text does not hold it): 1 or 0, and 0 when the needle is no run number."""
    number = run_number(needle.removeprefix("#"))
    if number is None:
        return literal(0)
    by_number = where_clause(q.with_(search=""), way=way)  # the run index: (pipeline, number)
    only = select(func.count()).where(by_number, numbered(RUN.c.number, number), ~holds(folded))
    return only.scalar_subquery()


def _bounded(store: Store, q: RunQuery, limit: int) -> Select[int]:
    indexed = _indexed(store, q)
    if indexed is None:
        runs = select(RUN.c.id).where(store_where(store, q)).limit(limit)
        return select(func.count()).select_from(runs.subquery())
    needle, folded, way = indexed
    # SQLite: the pipeline term must not walk a run index, or the runs lead and each
    # one asks the index whether it holds the needle (18 s at 1M runs).
    unsearched = q.with_(search="")
    rest = where_clause(unsearched, run_index=not store.is_sqlite, way=way)
    found = matching_ids(folded, way.kind).subquery("found")
    by_text = (
        select(RUN.c.id)
        .select_from(found.join(RUN, RUN.c.id == found.c[0]))
        .where(rest)
        .limit(limit)
    )
    counted = select(func.count()).select_from(by_text.subquery())
    return select(counted.scalar_subquery() + _numbered_only(q, needle, folded, way))
