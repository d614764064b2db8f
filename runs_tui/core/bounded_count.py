"""A count that stops at a bound: what the status line shows at once ("1,000+ runs")
while the exact count of a search a million runs hold reads every match (a second).

Up to the bound it is the exact count. A search reads its matches from the search
index first and looks each run up, so it stops after `limit` matches; in the order the
planner would otherwise pick (walking the pipeline's runs, testing each one's text),
a needle one run in twelve holds tests twelve runs for each match.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, func, select

from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.query import search_way, store_where, where_clause
from runs_tui.core.records import RunQuery
from runs_tui.core.search_index import SEP, Kind
from runs_tui.core.textsql import ascii_lower, holds, matching_ids, numbered, run_number


def count_at_most(store: Store, q: RunQuery, limit: int) -> int:
    """How many runs the query matches, or `limit` or a little more when it matches at
    least that many."""
    with store.connect() as session:
        return int(session.execute(_statement(store, q, limit)).scalar_one())


def _statement(store: Store, q: RunQuery, limit: int) -> Select[int]:
    needle = q.search.strip()
    folded = ascii_lower(needle)
    way = search_way(store, q)
    if way.kind is Kind.NONE or not needle or SEP in folded:
        runs = select(RUN.c.id).where(store_where(store, q, way)).limit(limit)
        return select(func.count()).select_from(runs.subquery())
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
    total: ColumnElement[int] = counted.scalar_subquery()
    number = run_number(needle.removeprefix("#"))
    if number is not None:  # the run numbered so, when its text does not hold the needle
        by_number = where_clause(unsearched, way=way)  # the run index: (pipeline, number)
        only_numbered = select(func.count()).where(
            by_number, numbered(RUN.c.number, number), ~holds(folded)
        )
        total = total + only_numbered.scalar_subquery()
    return select(total)
