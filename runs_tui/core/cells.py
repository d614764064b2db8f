"""Export values made by the database: the records `SqlSource.records` gives an export,
each run's values as `fmt.record_value` makes them from a RunRow, but computed in the
query (ISO times, state labels, run times, one metric summary or parameter each), so
that Python only carries them to the writer.

`tests/test_cells.py` holds them equal to `fmt.record_value` on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, String, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from runs_tui.core.columns import Column
from runs_tui.core.db import Store
from runs_tui.core.fmt import LABELS
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.rows import bound_ids, id_in


class IsoTime(FunctionElement[str]):
    """Epoch seconds as `fmt.iso` writes them: ISO 8601 in UTC, to the second. The second
    is the one `datetime.fromtimestamp` finds: the fraction (t - trunc(t), exact) times a
    million, rounded half-even, carries into the next second from 999999.5 on and takes
    one off below -0.5; the same double arithmetic in the database gives the same second.
    Then the database writes that whole second."""

    type = String()
    name = "iso_time"
    inherit_cache = True


def _second(t: str, trunc: str, as_int: str) -> str:
    frac = f"(({t}) - {trunc}) * 1000000.0"
    return f"({trunc} + {as_int.format(f'{frac} >= 999999.5')} - {as_int.format(f'{frac} < -0.5')})"


@compiles(IsoTime)
def _iso_sqlite(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    t = compiler.process(element.clauses, **kw)
    second = _second(t, f"CAST(({t}) AS INTEGER)", "({})")
    return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {second}, 'unixepoch')"


@compiles(IsoTime, "postgresql")
def _iso_pg(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    t = compiler.process(element.clauses, **kw)
    second = _second(t, f"trunc(({t})::float8)", "({})::int")
    return (
        f"to_char(to_timestamp({second}) AT TIME ZONE 'UTC', "
        """'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""
    )


def load_records(
    store: Store, run_ids: Sequence[int], columns: Sequence[Column], at: float
) -> list[list[Any]]:
    """The runs' records, in the order of `run_ids` (ids gone are left out): the pipeline's
    name, the id, then each column's value (`fmt.record_value`). One query reads the run
    and what the columns name; a second its tags, when a column shows them."""
    if not run_ids:
        return []
    stmt = select(PIPELINE.c.name, RUN.c.id).join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
    joined: dict[Any, Any] = {}
    cells: list[ColumnElement[Any]] = []
    for column in columns:
        cell, stmt = _cell(column, store, at, stmt, joined)
        cells.append(cell)
    wanted = bound_ids(store, run_ids)
    ids = id_in(store)
    with store.read() as session:
        got = session.execute(stmt.add_columns(*cells).where(ids(RUN.c.id)), wanted).all()
        by_id = {row[1]: list(row) for row in got}
        tag_cells = [i for i, c in enumerate(columns, 2) if c.spec == "tags"]
        if tag_cells:
            tags: dict[int, list[str]] = {}
            tag_stmt = select(TAG.c.run_id, TAG.c.tag).where(ids(TAG.c.run_id))
            for run_id, tag in session.execute(tag_stmt, wanted).all():
                tags.setdefault(run_id, []).append(tag)
            sorted_tags = {run_id: tuple(sorted(found)) for run_id, found in tags.items()}
            for record in by_id.values():
                value = sorted_tags.get(record[1], ())
                for i in tag_cells:
                    record[i] = value
    return [by_id[i] for i in run_ids if i in by_id]


def _cell(
    column: Column, store: Store, at: float, stmt: Any, joined: dict[Any, Any]
) -> tuple[ColumnElement[Any], Any]:
    """The column's value as SQL, and `stmt` with what it needs joined (once a series or
    parameter, however many columns show it)."""
    if column.is_metric:
        key = (column.title, column.series)
        if key not in joined:
            m = METRIC.alias(f"mr{len(joined)}")
            on = and_(m.c.run_id == RUN.c.id, m.c.title == key[0], m.c.series == key[1])
            stmt, joined[key] = stmt.outerjoin(m, on), m
        return joined[key].c[column.agg], stmt
    if column.is_param:
        if column.name not in joined:
            p = PARAM.alias(f"pr{len(joined)}")
            on = and_(p.c.run_id == RUN.c.id, p.c.key == column.name)
            stmt, joined[column.name] = stmt.outerjoin(p, on), p
        return joined[column.name].c.value, stmt
    return _builtin(column.name, at), stmt


def _builtin(name: str, at: float) -> ColumnElement[Any]:
    if name == "run":
        return RUN.c.number
    if name in ("started", "updated"):
        return IsoTime(RUN.c[name])
    if name == "status":
        return case(LABELS, value=RUN.c.status, else_=RUN.c.status)
    if name == "run_time":  # as RunRow.run_time: (finished, else the clock) - started
        end = func.coalesce(RUN.c.finished, literal(at, Float))
        return case((RUN.c.started.is_(None), None), else_=end - RUN.c.started)
    if name == "tags":
        return literal(None, Integer)  # filled from the tags query
    return RUN.c[name]
