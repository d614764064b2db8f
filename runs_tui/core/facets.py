"""What a pipeline's runs have, for filter and column pickers: distinct values with
counts, metric series, hyperparameter keys and whether they are numeric."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select

from runs_tui.core.clauses import true_clause
from runs_tui.core.columns import parse_column
from runs_tui.core.db import Store
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.query import store_where
from runs_tui.core.records import RunQuery, ValueCount

MAX_VALUES = 1000


def _without(q: RunQuery, spec: str) -> RunQuery:
    """The query with the column's own filter dropped: its picker shows every choice."""
    if spec == "tags":
        return q.with_(tags=None)
    return q.with_(filters=tuple(f for f in q.filters if f.column != spec))


def distinct_values(store: Store, q: RunQuery, spec: str) -> list[ValueCount]:
    """The values of a value-set column among the runs the other filters leave, most
    frequent first (at most MAX_VALUES)."""
    column = parse_column(spec)
    cond = store_where(store, _without(q, spec))
    # The joined table is an alias: the filters' own EXISTS over PARAM and TAG must not
    # be correlated with it (they would lose their FROM).
    if column.is_param:
        pv = PARAM.alias("pv")
        expr: ColumnElement[str] = pv.c.value
        stmt = (
            select(expr, func.count())
            .select_from(RUN)
            .join(pv, and_(pv.c.run_id == RUN.c.id, pv.c.key == column.name))
        )
    elif column.name == "tags":
        tg = TAG.alias("tg")
        expr = tg.c.tag
        stmt = select(expr, func.count()).select_from(RUN).join(tg, tg.c.run_id == RUN.c.id)
    elif column.name == "pipeline":
        expr = PIPELINE.c.name
        stmt = (
            select(expr, func.count())
            .select_from(RUN)
            .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
        )
    else:
        expr = RUN.c[column.name]
        stmt = select(expr, func.count()).select_from(RUN)
    stmt = stmt.where(cond).group_by(expr).order_by(func.count().desc(), expr).limit(MAX_VALUES)
    with store.connect() as session:
        return [ValueCount(str(v), n) for v, n in session.execute(stmt)]


def _of(pipeline_id: int | None) -> ColumnElement[bool]:
    """Runs of the pipeline; None: of every pipeline (the overview)."""
    return true_clause() if pipeline_id is None else RUN.c.pipeline_id == pipeline_id


def metric_series(store: Store, pipeline_id: int | None) -> list[tuple[str, str]]:
    """Every (title, series) a run of the pipeline reported."""
    stmt = (
        select(METRIC.c.title, METRIC.c.series)
        .distinct()
        .join(RUN, RUN.c.id == METRIC.c.run_id)
        .where(_of(pipeline_id))
        .order_by(METRIC.c.title, METRIC.c.series)
    )
    with store.connect() as session:
        return [(t, s) for t, s in session.execute(stmt)]


def param_keys(store: Store, pipeline_id: int | None) -> dict[str, bool]:
    """Every hyperparameter key of the pipeline's runs, and whether all its values are
    numbers (then it filters by range)."""
    stmt = (
        select(PARAM.c.key, func.count(), func.count(PARAM.c.num))
        .join(RUN, RUN.c.id == PARAM.c.run_id)
        .where(_of(pipeline_id))
        .group_by(PARAM.c.key)
        .order_by(PARAM.c.key)
    )
    with store.connect() as session:
        return {key: n == numeric for key, n, numeric in session.execute(stmt)}


def is_numeric_param(store: Store, pipeline_id: int | None, spec: str) -> bool:
    column = parse_column(spec)
    stmt = (
        select(func.count(), func.count(PARAM.c.num))
        .join(RUN, RUN.c.id == PARAM.c.run_id)
        .where(_of(pipeline_id), PARAM.c.key == column.name)
    )
    with store.connect() as session:
        n, numeric = session.execute(stmt).one()
    return bool(n) and n == numeric
