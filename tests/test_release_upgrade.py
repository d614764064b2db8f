"""A database made by the previous release (before Alembic) opens with this one, is
migrated in place and keeps every run with everything it had: `tests/data/release-1.sqlite`
was written by that release's own code (tests/data/make_release1_db.py says how); on
PostgreSQL a database of today's schema is taken back to schema 3's shape."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from support import make_pre_alembic

from runs_tui.core import migrations
from runs_tui.core.db import open_store
from runs_tui.core.records import RunQuery
from runs_tui.sources.sql import SqlSource

RELEASE_1 = Path(__file__).parent / "data" / "release-1.sqlite"

# Every table of schema 3 with its columns then: what must come through unchanged.
KEPT = {
    "pipeline": "id, name, version, queue, path, definition, created, updated",
    "pipelineversion": "id, pipeline_id, version, hash, definition, created",
    "run": "id, pipeline_id, number, name, version, status, user, queue, created, started, "
    "updated, finished, archived, attempt, agent, heartbeat, status_message, progress, "
    "exit_code, definition_id",
    "runparam": "run_id, key, value, num",
    "runtag": "run_id, tag",
    "metric": 'run_id, title, series, "last", "min", "max", last_step, updated',
    "metricpoint": "id, run_id, attempt, title, series, step, value, time",
    "logline": "id, run_id, attempt, step, stream, time, line",
    "steprun": "id, run_id, attempt, name, status, started, finished, exit_code, message, "
    "executor, external_id",
    "event": 'id, run_id, time, "user", action, from_status, to_status, message',
    "agent": "name, host, pid, queues, started, last_seen, stopped",
}


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {
            table: sorted(
                (tuple(row) for row in conn.execute(text(f"SELECT {columns} FROM {table}"))),
                key=repr,
            )
            for table, columns in KEPT.items()
        }
    engine.dispose()
    return found


def _check_upgraded(url: str, before: dict[str, list[tuple[Any, ...]]], found: list[int]) -> None:
    """Opening `url` upgrades it: today's schema, every row of `before` as it was, and
    searching "release-1" finds `found` runs in each pipeline (the search index is filled
    from the runs already there)."""
    store = open_store(url)
    try:
        with store.read() as s:
            conn = s.connection()
            meta = conn.execute(text("SELECT value FROM meta")).scalar_one()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            steps = {c["name"] for c in inspect(conn).get_columns("steprun")}
            orphans = conn.execute(
                text("SELECT count(*) FROM run WHERE definition_id IS NULL")
            ).scalar_one()
        source = SqlSource(store)
        tagged = [source.count(RunQuery(p.id, search="release-1")) for p in source.pipelines()]
    finally:
        store.dispose()
    assert (meta, revision) == ("4", migrations.head())
    assert {"out_offset", "err_offset"} <= steps
    assert orphans == 0, "every run refers to a pipeline version"
    after = _rows(url)
    for table, rows in before.items():
        assert after[table] == rows, f"{table}: rows changed by the upgrade"
    assert sorted(tagged) == found, "the runs tagged by that release are found by search"


def test_a_release_1_database_opens_migrates_and_keeps_every_run(tmp_path: Path):
    path = tmp_path / "runs.db"
    shutil.copyfile(RELEASE_1, path)
    url = f"sqlite:///{path}"
    before = _rows(url)
    statuses = {row[5] for row in before["run"]}
    assert statuses == {"pending", "running", "completed", "failed", "aborted"}
    assert all(before[t] for t in ("runparam", "runtag", "metric", "logline", "steprun"))
    _check_upgraded(url, before, [1, 1, 1])  # tagged, or made by user "release-1"
    backup = tmp_path / "runs.db.backup-schema3"
    assert backup.exists(), "the file was copied before the upgrade"
    con = sqlite3.connect(backup)
    try:
        assert con.execute("SELECT value FROM meta").fetchall() == [("3",)]
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()
    assert "alembic_version" not in tables
    assert _rows(f"sqlite:///{backup}") == before, "the copy holds every run as it was"


@pytest.mark.postgres
def test_a_schema_3_postgresql_database_is_migrated_keeping_every_run(pg_url: str):
    from runs_tui.demo.seed import seed

    store = open_store(pg_url)
    try:
        seed(store, 1_764_000_000.0, runs_per_pipeline=8)
        source = SqlSource(store)
        pipeline = next(p for p in source.pipelines() if p.name == "tune-bert")
        source.tag(source.ids(RunQuery(pipeline.id))[:1], add=["release-1"], remove=[])
    finally:
        store.dispose()
    make_pre_alembic(pg_url, 3)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        for column in ("out_offset", "err_offset"):  # what schema 4 added
            conn.execute(text(f"ALTER TABLE steprun DROP COLUMN {column}"))
        conn.execute(text("UPDATE run SET definition_id = NULL WHERE number = 1"))
    engine.dispose()
    before = _rows(pg_url)
    assert {row[5] for row in before["run"]} >= {"pending", "running", "completed"}
    # Runs without a version (the release before schema 3) are given their pipeline's.
    before["run"] = _rows_with_versions(before)
    _check_upgraded(pg_url, before, [0, 0, 1])


def _rows_with_versions(before: dict[str, list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """The run rows as the upgrade should leave them: a run without a definition gets the
    version row of its pipeline's current definition (here the only one of each)."""
    version_of = {row[1]: row[0] for row in before["pipelineversion"]}
    rows = [
        row if row[-1] is not None else (*row[:-1], version_of[row[1]]) for row in before["run"]
    ]
    return sorted(rows, key=repr)
