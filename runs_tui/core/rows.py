"""Loading runs as the table, the CLI and exports show them (`records.RunRow`): one
row with tags, metric summaries and parameters, for a known list of ids."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)

from runs_tui.core.columns import Column
from runs_tui.core.db import Store
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.records import MetricValue, RunRow

# RunRow's own fields, in its order: rows are made positionally (a lookup by name per
# field cost more than the query).
FIELDS = (
    RUN.c.id,
    PIPELINE.c.name,
    RUN.c.number,
    RUN.c.name,
    RUN.c.version,
    RUN.c.status,
    RUN.c.user,
    RUN.c.queue,
    RUN.c.created,
    RUN.c.started,
    RUN.c.updated,
    RUN.c.finished,
    RUN.c.archived,
    RUN.c.attempt,
    RUN.c.agent,
    RUN.c.progress,
    RUN.c.status_message,
    RUN.c.exit_code,
    RUN.c.ran,
)
METRIC_FIELDS = ("last", "min", "max", "last_step", "min_step", "max_step")


def load_rows(
    store: Store, run_ids: Sequence[int], columns: Sequence[Column] | None = None
) -> list[RunRow]:
    """Rows for `run_ids`, in that order; ids that no longer exist are left out. With
    `columns`, a row carries besides the run's own fields only what they show (its tags
    when a column shows them, the metric summaries and parameters they name), read with
    the run in one query; without, every tag, metric and parameter."""
    if not run_ids:
        return []
    order = list(run_ids)
    wanted = bound_ids(store, order)
    ids = id_in(store)
    shape = Shape(columns)
    with store.connect() as session:
        stmt = shape.select(select(*FIELDS).join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id))
        rows = {
            row.id: row
            for row in map(shape.row, session.execute(stmt.where(ids(RUN.c.id)), wanted).all())
        }
        if shape.tags:
            tags: dict[int, list[str]] = {}
            tag_stmt = select(TAG.c.run_id, TAG.c.tag).where(ids(TAG.c.run_id))
            for run_id, tag in session.execute(tag_stmt, wanted).all():
                tags.setdefault(run_id, []).append(tag)
            for run_id, tag_list in tags.items():
                rows[run_id].tags = tuple(sorted(tag_list))
        if columns is None:
            metric_stmt = select(METRIC).where(ids(METRIC.c.run_id))
            for m in session.execute(metric_stmt, wanted).mappings().all():
                rows[m["run_id"]].metrics[(m["title"], m["series"])] = MetricValue(
                    *(m[f] for f in METRIC_FIELDS)
                )
            param_stmt = select(PARAM.c.run_id, PARAM.c.key, PARAM.c.value).where(
                ids(PARAM.c.run_id)
            )
            for run_id, key, value in session.execute(param_stmt, wanted).all():
                rows[run_id].params[key] = value
    return [rows[i] for i in order if i in rows]


def id_in(store: Store) -> Callable[[ColumnElement[int]], ColumnElement[bool]]:
    """A column is one of the ids `bound_ids` binds: one parameter for them all (a JSON
    array on SQLite, an array on PostgreSQL), where `in_()` had SQLAlchemy render and
    bind each of a thousand ids in Python, which cost more than the query. A SQLite
    without JSON functions gets the ids bound one by one."""
    if not store.is_sqlite:
        array = bindparam("ids", type_=ARRAY(Integer))
        return lambda column: column == any_(array)
    if not _json_each():
        expanding: BindParameter[Any] = bindparam("ids", expanding=True)
        return lambda column: column.in_(expanding)
    values: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam("ids"))
    )
    return lambda column: column.in_(values)


def bound_ids(store: Store, ids: Sequence[int]) -> dict[str, Any]:
    """The parameters of `id_in`."""
    as_json = store.is_sqlite and _json_each()
    return {"ids": json.dumps(list(ids)) if as_json else list(ids)}


@functools.cache
def _json_each() -> bool:
    """Whether this process's SQLite has json_each (built in since 3.38, an option before)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        try:
            conn.execute("SELECT value FROM json_each('[1]')")
        except sqlite3.OperationalError:
            return False
    return True


class Shape:
    """What a row needs besides the run's own fields for some columns (None: all): its
    tags, and the metric summaries and parameters the columns name, joined to the run's
    row (each by its primary key), so that no other metric or parameter is read."""

    def __init__(self, columns: Sequence[Column] | None) -> None:
        self.tags = columns is None or any(c.spec == "tags" for c in columns)
        cols = columns or ()
        self.series = sorted({(c.title, c.series) for c in cols if c.is_metric})
        self.params = sorted({c.name for c in cols if c.is_param})

    def select(self, stmt: Select[Any]) -> Select[Any]:
        """`stmt` (the run's fields) with the named metric summaries and parameters."""
        for i, (title, series) in enumerate(self.series):
            m = METRIC.alias(f"mc{i}")
            on = and_(m.c.run_id == RUN.c.id, m.c.title == title, m.c.series == series)
            stmt = stmt.outerjoin(m, on).add_columns(*(m.c[f] for f in METRIC_FIELDS))
        for i, key in enumerate(self.params):
            p = PARAM.alias(f"pc{i}")
            on = and_(p.c.run_id == RUN.c.id, p.c.key == key)
            stmt = stmt.outerjoin(p, on).add_columns(p.c.value)
        return stmt

    def row(self, values: Sequence[Any]) -> RunRow:
        """The RunRow of one result of `select`."""
        n = len(FIELDS)
        row = RunRow(*values[:n])
        for title, series in self.series:
            if values[n] is not None:
                row.metrics[(title, series)] = MetricValue(*values[n : n + len(METRIC_FIELDS)])
            n += len(METRIC_FIELDS)
        for key in self.params:
            if values[n] is not None:
                row.params[key] = values[n]
            n += 1
        return row
