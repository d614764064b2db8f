"""Sorted windows keep their plan once SQLite has statistics: a sort on a metric walks the
metric's index and stops after the window, instead of sorting the whole pipeline (what
SQLite prefers once ANALYZE has counted one big pipeline: 8 ms -> 1.5 s at 1M runs)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url

from runs_tui.core import query
from runs_tui.core.db import Store, now
from runs_tui.core.models import METRIC, PIPELINE, RUN
from runs_tui.core.records import RunQuery, SortKey, ValueFilter
from runs_tui.core.registry import register

MILLION = {  # sqlite_stat1 of bench/table.py's 1M-run database after a full ANALYZE
    "ix_metric_max": "2999985 1499993 999995 1 1",
    "ix_metric_min": "2999985 1499993 999995 1 1",
    "ix_metric_min_step": "2999985 1499993 999995 999995 1",  # no steps: NULL
    "ix_metric_max_step": "2999985 1499993 999995 999995 1",
    "ix_metric_sort": "2999985 1499993 999995 2 1",
    "sqlite_autoindex_metric_1": "2999985 3 2 1",
    "ix_run_claim": "1000000 200000 100000 1",
    "ix_run_queue": "1000000 1000000 1000000 500000",
    "ix_run_started": "1000000 1000000 1000000 1",
    "ix_run_status": "1000000 1000000 1000000 200000",
    "ix_run_updated": "1000000 1000000 1000000 1",
    "ix_run_user": "1000000 1000000 1000000 83334",
    "ix_run_version": "1000000 1000000 1000000 333334",
    "ix_run_window": "1000000 1000000 1000000 1",
    "sqlite_autoindex_run_1": "1000000 1000000 1",
}


def _fill(store: Store, n: int) -> int:
    with store.read() as s:
        pid = int(s.execute(select(PIPELINE.c.id)).scalar_one())
    t = now()
    run = {"pipeline_id": pid, "version": "1", "status": "completed", "user": "u"}
    run |= {"queue": "q", "archived": False, "attempt": 1, "status_message": ""}
    with store.write() as s:
        s.execute(
            insert(RUN),
            [{**run, "number": i, "name": f"r{i}", "created": t, "updated": t} for i in range(n)],
        )
        ids = list(s.execute(select(RUN.c.id)).scalars())
        s.execute(
            insert(METRIC),
            [
                {"run_id": i, "title": "loss", "series": "val", "last": (i * 7919) % n,
                 "min": 0.0, "max": 1.0, "last_step": 1, "updated": t}
                for i in ids
            ],
        )  # fmt: skip
    return pid


def test_a_metric_sort_walks_the_metric_index_with_statistics(
    store: Store, simple: str, db_path: Path
):
    pid = _fill(store, 3000)
    with sqlite3.connect(db_path) as conn:  # the statistics of one pipeline of 1M runs
        conn.execute("ANALYZE")
        conn.executemany(
            "UPDATE sqlite_stat1 SET stat = ? WHERE idx = ?",
            [(stat, idx) for idx, stat in MILLION.items()],
        )
    q = RunQuery(pid, sort=(SortKey("m:loss/val:last"),), at=now())
    first = query._segments(q, store, now())[0].limit(200)
    sql = str(first.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(db_path) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    assert any("ix_metric_sort" in step for step in plan), plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # ties only: RIGHT PART
    window = query.window_ids(store, q, 0, 5)
    with store.read() as s:
        lasts = [
            s.execute(select(METRIC.c.last).where(METRIC.c.run_id == i)).scalar() for i in window
        ]
    assert lasts == sorted(lasts) and len(window) == 5


def test_a_filter_few_runs_pass_reads_them_first_whatever_the_sort(
    store: Store, simple: str, db_path: Path
):
    """20 Running runs of a million, sorted by a metric or newest first: read through the
    status index and sorted (ms), not by walking the order's index testing each run (s)."""
    pid = _fill(store, 3000)
    running = list(range(1, 3000, 150))
    with store.write() as s:
        s.execute(RUN.update().where(RUN.c.id.in_(running)).values(status="running"))
    with sqlite3.connect(db_path) as conn:
        conn.execute("ANALYZE")
        conn.executemany(
            "UPDATE sqlite_stat1 SET stat = ? WHERE idx = ?",
            [(stat, idx) for idx, stat in MILLION.items()],
        )
    only = (ValueFilter("status", frozenset({"running"})),)
    for sort in ((SortKey("m:loss/val:last"),), ()):
        q = RunQuery(pid, filters=only, sort=sort, at=now())
        with store.read() as session:
            way = query.window_way(session, store, q)
        assert way.few
        first = query._segments(q, store, now(), way)[0].limit(200)
        sql = str(first.compile(store.engine, compile_kwargs={"literal_binds": True}))
        with sqlite3.connect(db_path) as conn:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        assert any("ix_run_status" in step for step in plan), plan
        assert not any(i in step for step in plan for i in ("ix_metric_sort", "ix_run_window"))
        window = query.window_ids(store, q, 0, 200)
        assert sorted(window) == running


def test_the_latest_change_is_read_from_the_index_not_by_sorting_every_run(
    any_store: Store, pipeline_file: Path
) -> None:
    """Where the table starts watching for changes (every new query): the last entry of
    each (pipeline, archived) part of ix_run_updated. Asked in one ORDER BY over both
    parts, PostgreSQL read and sorted every run of the pipeline (230 ms at 1M runs)."""
    register(any_store, pipeline_file)
    pid = _fill(any_store, 3000)
    with any_store.connect() as c:
        c.execute(text("ANALYZE"))
        c.commit()
    for pipeline in (pid, None):
        latest = partial(query.changed_since, any_store, pipeline, None)
        (plan,) = plans_of(any_store, latest)  # one statement
        assert [n for _, n in latest()] == [max_updated(any_store)]
        assert any("ix_run_updated" in step for step in plan), plan
        assert not any("Seq Scan on run " in step or "SCAN run" in step for step in plan), plan


def max_updated(store: Store) -> float:
    with store.connect() as c:
        return float(c.execute(select(func.max(RUN.c.updated))).scalar_one())


def plans_of(store: Store, call: Callable[[], object]) -> list[list[str]]:
    """The plan of each SELECT on `run` that `call()` sends: SQLite's (EXPLAIN QUERY PLAN
    details) as a new connection makes it, with the statistics now in the file (a pooled
    connection keeps those it loaded), PostgreSQL's (EXPLAIN lines)."""
    seen: list[tuple[str, Any]] = []

    def before(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "FROM run" in sql:
            seen.append((sql, params))

    event.listen(store.engine, "before_cursor_execute", before)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
    if store.is_sqlite:
        with closing(sqlite3.connect(make_url(store.url).database or "")) as conn:
            return [[r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {s}", p)] for s, p in seen]
    with store.connect() as c:
        return [[r[0] for r in c.exec_driver_sql(f"EXPLAIN {s}", p)] for s, p in seen]
