"""RUN TIME is the time a run's attempts ran, not the wall time since it first started:
a run that ran 10 minutes, waited a day Aborted and ran one more minute shows 11 minutes
(issue 13). The table, its sort and filters, and exports give the same figure."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import text, update

from runs_tui.agent import claims
from runs_tui.core import export, ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store, open_store
from runs_tui.core.migrations.upgrade import downgrade
from runs_tui.core.models import RUN
from runs_tui.core.records import RangeFilter, RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.core.status import Action
from runs_tui.sources.sql import SqlSource

DAY = 86_400.0


def _set(store: Store, run_id: int, **values: float | None) -> None:
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id == run_id).values(**values))


def _start(store: Store, run_id: int) -> float:
    """An agent takes the run (its next attempt starts now); returns when."""
    claim = claims.claim(store, "agent-1", ["default"])
    assert claim is not None and claim.run_id == run_id
    with store.read() as s:
        started = s.execute(text(f"SELECT started FROM run WHERE id = {run_id}")).scalar_one()
    return float(started)


def test_time_spent_aborted_or_pending_is_not_run_time(any_store: Store, pipeline_file: Path):
    store = any_store
    pipeline = register(store, pipeline_file).name
    source = SqlSource(store)
    continued = ops.new_run(store, pipeline).id
    _start(store, continued)
    first = time.time() - 2 * DAY  # it ran 10 minutes two days ago, then was aborted
    _set(store, continued, started=first)
    assert ops.transition(store, Action.ABORT, [continued]).outcomes[0].affected
    _set(store, continued, finished=first + 600)
    assert ops.resume(store, [continued]).outcomes[0].affected

    (row,) = source.runs([continued])
    assert row.run_time(time.time()) == pytest.approx(600), "Pending: what it ran before"
    assert row.started is None, "its next attempt has not started"

    started = _start(store, continued)
    at = started + 60
    (row,) = source.runs([continued])
    assert row.run_time(at) == pytest.approx(660), "10 minutes, then 1 of this attempt"

    # another run that ran 700 s in one go, two days ago: longer than the continued one
    straight = ops.new_run(store, pipeline).id
    _start(store, straight)
    _set(store, straight, started=first, finished=first + 700)
    assert ops.transition(store, Action.ABORT, [straight]).outcomes[0].affected
    _set(store, straight, finished=first + 700)

    pid = next(p.id for p in source.pipelines() if p.name == pipeline)
    q = RunQuery(pid, sort=(SortKey("run_time"),), at=at)
    assert [r.id for r in source.window(q, 0, 10)] == [continued, straight], "sorted by it"
    short = q.with_(filters=(RangeFilter("run_time", lo=650, hi=680),))
    assert [r.id for r in source.window(short, 0, 10)] == [continued], "filtered by it"

    out = io.StringIO()
    export.write(source, q, parse_columns("run,run_time"), "csv", out)
    exported = {
        rec["id"]: float(rec["run_time"]) for rec in csv.DictReader(io.StringIO(out.getvalue()))
    }
    assert exported[str(continued)] == pytest.approx(660)
    assert exported[str(straight)] == pytest.approx(700)


def test_an_older_database_gets_each_runs_time_from_its_steps(tmp_path: Path, pipeline_file: Path):
    """Migration 0003 on a database of revision 0002, whose `started` was the first
    attempt's: a run of 2 attempts gets what attempt 1 ran from its steps and attempt 2's
    start from its start event; a run waiting for its next attempt has not started."""
    path = tmp_path / "runs.db"
    store = open_store(str(path))
    pipeline = register(store, pipeline_file).name
    again, waiting = ops.new_run(store, pipeline).id, ops.new_run(store, pipeline).id
    t0 = time.time() - 3 * DAY
    steps = [  # run, attempt, step, started, finished
        (again, 1, "prepare", t0, t0 + 100),
        (again, 1, "fit", t0 + 100, t0 + 600),  # attempt 1 ran 600 s
        (again, 2, "prepare", t0 + DAY, t0 + DAY + 30),
        (waiting, 1, "prepare", t0, t0 + 50),
    ]
    with store.write() as s:
        downgrade(s.connection(), "0003")  # what revisions after 0003 added goes first
        for run_id, attempt, name, begin, end in steps:
            s.execute(
                text(
                    "INSERT INTO steprun (run_id, attempt, name, status, started, finished, "
                    "message, executor, external_id, out_offset, err_offset) VALUES "
                    f"({run_id}, {attempt}, '{name}', 'completed', {begin}, {end}, "
                    "'', '', '', 0, 0)"
                )
            )
        s.execute(
            text(
                "INSERT INTO event (run_id, time, user, action, message) VALUES "
                f"({again}, {t0}, 'a', 'start', ''), ({again}, {t0 + DAY - 5}, 'a', 'start', '')"
            )
        )
        s.execute(
            text(
                f"UPDATE run SET attempt = 2, status = 'completed', started = {t0}, "
                f"finished = {t0 + DAY + 30} WHERE id = {again}"
            )
        )
        s.execute(text(f"UPDATE run SET attempt = 2, started = {t0} WHERE id = {waiting}"))
        s.execute(text("ALTER TABLE run DROP COLUMN ran"))
        s.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    store.dispose()

    store = open_store(str(path))  # upgrades 0002 -> 0003
    try:
        rows = {r.id: r for r in SqlSource(store).runs([again, waiting])}
    finally:
        store.dispose()
    assert rows[again].started == pytest.approx(t0 + DAY - 5), "attempt 2's start event"
    assert rows[again].run_time(time.time()) == pytest.approx(600 + 35)
    assert rows[waiting].started is None and rows[waiting].run_time(time.time()) == 50
