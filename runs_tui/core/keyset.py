"""Keyset pages: the runs of a query that come after a given run, in the query's order,
without OFFSET.

A run's place in a sorted result is its `Key`: the segment of the order it falls in
(`query.segments`: runs with a value of the first sort key, then runs without) and the
values of that segment's order terms, which end with the run number and the id (so a
key is unique). `after(terms, values)` is the condition "after that place"; a page is
a segment's query with that condition and a LIMIT, so it starts its index walk where
the last page stopped: a page costs its own rows, not the rows before it.

Pages read inside one `Store.snapshot()` show each run exactly once while runs are
added and changed. Without one (a table scrolling over minutes), a run whose sort value
changed between two pages is shown where it was or where it is, or missed, but no run
that kept its place is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from runs_tui.core.db import Store, now
from runs_tui.core.models import RUN
from runs_tui.core.query import Term, order_clauses, segments
from runs_tui.core.records import RunQuery

GROWTH = 64  # `walk`'s pages grow to this many times the first


@dataclass(frozen=True)
class Key:
    """Where a run stands in a query's order: its segment and the values of the terms of
    that segment's order (`query.segments`), the last being its id."""

    segment: int
    values: tuple[Any, ...]


def after(terms: Sequence[Term], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the row whose terms have `values`, in the order `terms` make
    (the last term must be unique, as the run id is): after it on the first term, or
    equal there and after it on the rest. A range on the first term is added so that the
    database can start an index walk at the place."""
    if len(terms) != len(values) or not terms:
        raise ValueError(f"{len(values)} values for {len(terms)} order terms")
    clause = _beyond(terms[-1], values[-1])
    for term, value in zip(reversed(terms[:-1]), reversed(values[:-1]), strict=True):
        clause = or_(_beyond(term, value), and_(_equal(term, value), clause))
    return and_(_from(terms[0], values[0]), clause)


def _beyond(term: Term, value: Any) -> ColumnElement[bool]:
    """Strictly after `value` on this term (missing values come after every value)."""
    if value is None:
        return false()
    beyond = term.expr < value if term.desc else term.expr > value
    return or_(term.expr.is_(None), beyond) if term.nullable else beyond


def _equal(term: Term, value: Any) -> ColumnElement[bool]:
    return term.expr.is_(None) if value is None else term.expr == value


def _from(term: Term, value: Any) -> ColumnElement[bool]:
    """At `value` or after it on this term: what an index range can start from."""
    if value is None:
        return term.expr.is_(None)
    reach = term.expr <= value if term.desc else term.expr >= value
    return or_(term.expr.is_(None), reach) if term.nullable else reach


def page(store: Store, q: RunQuery, start: Key | None, limit: int) -> tuple[list[int], Key | None]:
    """Up to `limit` ids of the query's runs after `start` (from the first without it), in
    the query's order, and the key of the last of them (None when there are none). Pass
    a query with `at` set for pages that agree on times (run_time, the clock)."""
    at = q.at if q.at is not None else now()
    q = q.with_(at=at)
    parts = segments(q, store, at)
    first = start.segment if start is not None else 0
    ids: list[int] = []
    last: Key | None = None
    with store.connect() as session:
        for n in range(first, len(parts)):
            if len(ids) >= limit:
                break
            stmt, terms = parts[n]
            if start is not None and n == start.segment:
                stmt = stmt.where(after(terms, start.values))
            stmt = stmt.with_only_columns(*(t.expr for t in terms)).order_by(*order_clauses(terms))
            rows = session.execute(stmt.limit(limit - len(ids))).all()
            ids.extend(row[-1] for row in rows)
            if rows:
                last = Key(n, tuple(rows[-1]))
    return ids, last


def key_of(store: Store, q: RunQuery, run_id: int) -> Key | None:
    """The run's key in the query's order (to read the page after it), or None when the
    query leaves it out. Pass the same `at` as the pages it is used with."""
    at = q.at if q.at is not None else now()
    q = q.with_(at=at)
    with store.connect() as session:
        for n, (stmt, terms) in enumerate(segments(q, store, at)):
            found = session.execute(
                stmt.where(RUN.c.id == run_id).with_only_columns(*(t.expr for t in terms))
            ).first()
            if found is not None:
                return Key(n, tuple(found))
    return None


def walk(store: Store, q: RunQuery, size: int) -> Iterator[list[int]]:
    """Every id of the query's result in order, by keyset pages as they are read: the
    first of `size` ids, each next one 4 times the last, up to GROWTH times `size`. Ids
    are small, and a page in an order no index gives (every pipeline's runs by number)
    costs a scan, so fewer pages cost less; a caller loading runs in an order other than
    their ids' loads fewer table pages for more ids at a time. Inside
    `Store.snapshot()`, each run exactly once."""
    if size < 1:
        raise ValueError(f"invalid page size {size}: must be 1 or more")
    q = q.with_(at=q.at if q.at is not None else now())
    start: Key | None = None
    limit = size
    while True:
        ids, start = page(store, q, start, limit)
        if ids:
            yield ids
        if len(ids) < limit:
            return
        limit = min(limit * 4, size * GROWTH)
