"""What a set of marked runs allows: counts per action, and how many a filter hides.

Marks are run ids, possibly many (a whole pipeline); every question about them is
answered in SQL, in chunks, never by loading the runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import ColumnElement, Integer, and_, any_, bindparam, case, func, select, true

from runs_tui.core.db import Store
from runs_tui.core.models import PARAM, RUN, TAG
from runs_tui.core.query import where_clause
from runs_tui.core.records import MarkState, RunQuery, StateCounts

CHUNK = 20_000
ARRAY_CHUNK = 200_000  # ids per PostgreSQL array parameter


def state_counts(store: Store, ids: Iterable[int]) -> StateCounts:
    """How many of `ids` are in each (status, archived)."""
    counts: StateCounts = Counter()
    with store.connect() as session:
        for chunk in _chunks(store, ids):
            for status, archived, n in session.execute(
                select(RUN.c.status, RUN.c.archived, func.count())
                .where(_among(store, RUN.c.id, chunk))
                .group_by(RUN.c.status, RUN.c.archived)
            ):
                counts[(status, bool(archived))] += n
    return counts


def hidden(store: Store, q: RunQuery, ids: Iterable[int]) -> int:
    """How many of `ids` the query's filters (or the archive switch) leave out."""
    wanted = list(ids)
    shown = 0
    with store.connect() as session:
        for chunk in _chunks(store, wanted):
            shown += session.execute(
                select(func.count())
                .select_from(RUN)
                .where(and_(where_clause(q), _among(store, RUN.c.id, chunk)))
            ).scalar_one()
    return len(wanted) - shown


def mark_states(store: Store, q: RunQuery, ids: Iterable[int]) -> dict[int, MarkState]:
    """The state of each of `ids` that still exists: status, archived, shown by `q`."""
    shown = case((where_clause(q), True), else_=False)
    states: dict[int, MarkState] = {}
    same: dict[MarkState, MarkState] = {}  # one tuple per state, not a million to collect
    with store.connect() as session:
        for chunk in _chunks(store, ids):
            for run_id, status, archived, is_shown in session.execute(
                select(RUN.c.id, RUN.c.status, RUN.c.archived, shown).where(
                    _among(store, RUN.c.id, chunk)
                )
            ):
                state = (status, bool(archived), bool(is_shown))
                states[run_id] = same.setdefault(state, state)
    return states


def _chunks(store: Store, ids: Iterable[int]) -> Iterator[list[int]]:
    """`ids` in lists one query can take (`_among`), each taken from `ids` as it is
    needed. Not sorted, not listed whole first: one C call over a million ids holds the
    GIL (and so the UI) for a tenth of a second, and the database looks each id up by key
    anyway."""
    size, it = (CHUNK if store.is_sqlite else ARRAY_CHUNK), iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def _among(store: Store, column: ColumnElement[int], ids: list[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`: bound parameters on SQLite (up to its limit), on
    PostgreSQL one array parameter (`= ANY`), which it reads 2-3 times faster."""
    if store.is_sqlite:
        return column.in_(ids)
    from sqlalchemy.dialects.postgresql import ARRAY  # not on SQLite's start-up path

    return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))


def last_params(store: Store, pipeline_id: int) -> dict[str, str]:
    """The newest run's parameters as text (what the new-run form starts from)."""
    with store.connect() as session:
        newest = session.execute(
            select(RUN.c.id)
            .where(RUN.c.pipeline_id == pipeline_id)
            .order_by(RUN.c.number.desc())
            .limit(1)
        ).scalar()
        if newest is None:
            return {}
        return {
            key: value
            for key, value in session.execute(
                select(PARAM.c.key, PARAM.c.value).where(PARAM.c.run_id == newest)
            )
        }


def pipeline_tags(store: Store, pipeline_id: int | None) -> list[str]:
    """Every tag used in the pipeline (None: in any), most used first, for suggestions."""
    with store.connect() as session:
        rows = session.execute(
            select(TAG.c.tag, func.count().label("n"))
            .join(RUN, RUN.c.id == TAG.c.run_id)
            .where(true() if pipeline_id is None else RUN.c.pipeline_id == pipeline_id)
            .group_by(TAG.c.tag)
            .order_by(func.count().desc(), TAG.c.tag)
        )
        return [tag for tag, _ in rows]


def tags_of(store: Store, ids: Iterable[int]) -> Counter[str]:
    """The tags the runs carry, with how many of them carry each."""
    counts: Counter[str] = Counter()
    with store.connect() as session:
        for chunk in _chunks(store, ids):
            for tag, n in session.execute(
                select(TAG.c.tag, func.count())
                .where(_among(store, TAG.c.run_id, chunk))
                .group_by(TAG.c.tag)
            ):
                counts[tag] += n
    return counts
