"""Everything the details panel shows about one run, loaded in one go."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from runs_tui.core.db import Store
from runs_tui.core.models import EVENT, LOG, PIPELINE, POINT, RUN, STEP, VERSION
from runs_tui.core.pipelines import PipelineDef
from runs_tui.core.records import EventInfo, LogInfo, MetricHistory, RunDetails, StepInfo
from runs_tui.core.rows import load_rows

if TYPE_CHECKING:
    from sqlalchemy import Connection

LOG_TAIL = 500
CHART_BUCKETS = 250  # a series' points kept for the details' chart: 2 per bucket at most


def load(store: Store, run_id: int, after_log: int = 0) -> RunDetails | None:
    """The run's details; only log lines with an id above `after_log` (for following)."""
    rows = load_rows(store, [run_id])
    if not rows:
        return None
    details = RunDetails(rows[0])
    with store.connect() as session:
        details.events = [
            EventInfo(*r)
            for r in session.execute(
                select(
                    EVENT.c.time,
                    EVENT.c.user,
                    EVENT.c.action,
                    EVENT.c.from_status,
                    EVENT.c.to_status,
                    EVENT.c.message,
                )
                .where(EVENT.c.run_id == run_id)
                .order_by(EVENT.c.id)
            )
        ]
        definition = session.execute(  # the steps of the definition the run executes
            select(func.coalesce(VERSION.c.definition, PIPELINE.c.definition))
            .join(RUN, RUN.c.pipeline_id == PIPELINE.c.id)
            .outerjoin(VERSION, VERSION.c.id == RUN.c.definition_id)
            .where(RUN.c.id == run_id)
        ).scalar_one()
        latest: dict[str, StepInfo] = {}
        for r in session.execute(
            select(
                STEP.c.name,
                STEP.c.status,
                STEP.c.attempt,
                STEP.c.started,
                STEP.c.finished,
                STEP.c.exit_code,
                STEP.c.executor,
                STEP.c.external_id,
                STEP.c.message,
            )
            .where(STEP.c.run_id == run_id)
            .order_by(STEP.c.attempt, STEP.c.id)
        ).mappings():
            latest[r["name"]] = StepInfo(
                r["name"],
                (),
                r["status"],
                r["attempt"],
                r["started"],
                r["finished"],
                r["exit_code"],
                r["executor"],
                r["external_id"],
                r["message"],
            )
        for step in PipelineDef.from_json(definition).order():
            got = latest.get(step.name)
            details.steps.append(
                replace(got, parents=tuple(step.parents))
                if got
                else StepInfo(step.name, tuple(step.parents))
            )
        details.points = _charted(session, run_id)
        details.logs = _log_lines(session, run_id, after_log, LOG_TAIL, None, last=True)
    return details


def _charted(session: Connection, run_id: int) -> dict[tuple[str, str], MetricHistory]:
    """Each series of the run thinned for a chart (x the step), read in one statement."""
    from runs_tui.core.metric_plot import EMPTY, extended, line

    found: dict[tuple[str, str], tuple[list[int | None], list[float], list[int]]] = {}
    for title, series, point_id, step, value in session.execute(
        select(POINT.c.title, POINT.c.series, POINT.c.id, POINT.c.step, POINT.c.value)
        .where(POINT.c.run_id == run_id)
        .order_by(POINT.c.id)
    ):
        steps, values, ids = found.setdefault((title, series), ([], [], []))
        steps.append(step)
        values.append(value)
        ids.append(point_id)
    out = {}
    for key, (steps, values, ids) in found.items():
        thin = line("", extended(EMPTY, MetricHistory(steps, values)), CHART_BUCKETS)
        out[key] = MetricHistory([int(x) for x in thin.x], thin.y.tolist(), ids[-1])
    return out


def metric_history(store: Store, run_id: int, title: str, series: str, after: int) -> MetricHistory:
    """`RunSource.metric_history`: the series' points with an id above `after`, in id
    order (one writer per run: ids grow in the order its points were reported)."""
    with store.connect() as session:
        rows = session.execute(
            select(POINT.c.id, POINT.c.step, POINT.c.value)
            .where(
                POINT.c.run_id == run_id,
                POINT.c.title == title,
                POINT.c.series == series,
                POINT.c.id > after,
            )
            .order_by(POINT.c.id)
        ).all()
    if not rows:
        return MetricHistory([], [], after)
    return MetricHistory([r[1] for r in rows], [r[2] for r in rows], rows[-1][0])


def log_lines(
    store: Store, run_id: int, after: int, limit: int, step: str | None, *, last: bool
) -> list[LogInfo]:
    """`RunSource.logs`: the run's lines with an id above `after` (only `step`'s, when
    given), oldest first: the first `limit` of them, or the last `limit` with `last`."""
    with store.connect() as session:
        return _log_lines(session, run_id, after, limit, step, last=last)


def _log_lines(
    session: Connection, run_id: int, after: int, limit: int, step: str | None, *, last: bool
) -> list[LogInfo]:
    where = [LOG.c.run_id == run_id, LOG.c.id > after]
    if step is not None:
        where.append(LOG.c.step == step)
    stmt = (
        select(LOG.c.id, LOG.c.attempt, LOG.c.step, LOG.c.stream, LOG.c.time, LOG.c.line)
        .where(*where)
        .order_by(LOG.c.id.desc() if last else LOG.c.id)
        .limit(limit)
    )
    rows = session.execute(stmt).all()
    return [LogInfo(*r) for r in (reversed(rows) if last else rows)]
