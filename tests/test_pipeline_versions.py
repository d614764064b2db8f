"""A run executes the pipeline definition it was created with: registering a new version
while runs are queued changes what new runs do, not what queued runs or their retries do.
A database of schema version 1 or 2 is upgraded in place, every run given a definition."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from support import Agents, make_pre_alembic, open_concurrently, pipeline_toml

from runs_tui.agent import claims
from runs_tui.core import details, ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import PIPELINE, RUN, SCHEMA_VERSION, VERSION, Meta
from runs_tui.core.registry import register

# Appends its arguments to OUT/RUN-ATTEMPT; fails if OUT/fail-RUN exists.
WRITE = (
    "import os, sys; run = os.environ['RUNS_TUI_RUN_ID']; "
    "open(os.path.join(sys.argv[1], run + '-' + os.environ['RUNS_TUI_ATTEMPT']), 'a')"
    ".write(' '.join(sys.argv[2:]) + '\\n'); "
    "sys.exit(os.path.exists(os.path.join(sys.argv[1], 'fail-' + run)))"
)


def _register(store: Store, tmp_path: Path, out: Path, version: int) -> None:
    """Version 1: one step `train`. Version 2: a new parameter, a new step before `train`,
    and a changed command."""

    def step(name: str, *args: str) -> list[str]:
        return [sys.executable, "-c", WRITE, str(out), name, *args]

    if version == 1:
        steps = [("train", step("train", "v1", "lr={lr}"), [])]
        params: dict[str, object] = {"lr": 0.1}
    else:
        steps = [
            ("prepare", step("prepare", "v2"), []),
            ("train", step("train", "v2", "lr={lr}", "batch={batch}"), ["prepare"]),
        ]
        params = {"lr": 0.1, "batch": 32}
    path = tmp_path / f"p{version}.toml"
    path.write_text(pipeline_toml("p", steps, params).replace("1.0.0", f"{version}.0.0"))
    register(store, path)


def _ran(out: Path, run_id: int, attempt: int = 1) -> list[str]:
    return (out / f"{run_id}-{attempt}").read_text().splitlines()


def _drain(agents_for: Agents) -> None:
    proc = agents_for.start("--once", "--poll", "0.2")
    assert proc.wait(timeout=60) == 0


def test_queued_runs_execute_their_own_definition(store, db_path, tmp_path, agents):
    out = tmp_path / "out"
    out.mkdir()
    _register(store, tmp_path, out, 1)
    old = [ops.new_run(store, "p", {"lr": "0.5"}).id, ops.new_run(store, "p").id]
    _register(store, tmp_path, out, 2)
    new = ops.new_run(store, "p").id
    (out / f"fail-{old[0]}").touch()
    fleet: Agents = agents(str(db_path))
    _drain(fleet)
    with store.read() as s:
        rows = dict(s.execute(select(RUN.c.id, RUN.c.status)).all())
    assert rows == {old[0]: "failed", old[1]: "completed", new: "completed"}
    assert _ran(out, old[0]) == ["train v1 lr=0.5"]
    assert _ran(out, old[1]) == ["train v1 lr=0.1"]
    assert _ran(out, new) == ["prepare v2", "train v2 lr=0.1 batch=32"]
    assert [s.name for s in details.load(store, old[0]).steps] == ["train"]
    assert [s.name for s in details.load(store, new).steps] == ["prepare", "train"]

    (out / f"fail-{old[0]}").unlink()
    assert ops.retry(store, [old[0]]).ok
    _drain(fleet)
    assert _ran(out, old[0], 2) == ["train v1 lr=0.5"]
    assert [s.name for s in details.load(store, old[0]).steps] == ["train"]

    _register(store, tmp_path, out, 1)  # the first file again: its version row is reused
    again = ops.new_run(store, "p").id
    with store.read() as s:
        versions = s.execute(select(func.count()).select_from(VERSION)).scalar_one()
        ids = dict(s.execute(select(RUN.c.id, RUN.c.definition_id)).all())
    assert versions == 2
    assert ids[again] == ids[old[0]] == ids[old[1]] != ids[new]


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def before_versions(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[int, str]]:
    """A database as schema version 2 left it (no version table, no `run.definition_id`),
    with runs of two pipelines; its URL and each run's status."""
    url = _url(request, tmp_path)
    store = open_store(url)
    try:
        out = tmp_path / "out"
        _register(store, tmp_path, out, 1)
        first = ops.new_run(store, "p").id
        for _ in range(2):
            ops.new_run(store, "p")
        _register(store, tmp_path, out, 2)  # the current definition: what runs get
        ops.new_run(store, "p")
        other = tmp_path / "q.toml"
        other.write_text(pipeline_toml("q", [("only", ["true"], [])]))
        register(store, other)
        ops.new_run(store, "q")
        ops.abort(store, [first])
        with store.read() as s:
            statuses = dict(s.execute(select(RUN.c.id, RUN.c.status)).all())
    finally:
        store.dispose()
    make_pre_alembic(url, 2)
    if url.startswith("sqlite"):
        _rebuild_run_without_definition(Path(url.removeprefix("sqlite:///")))
    engine = create_engine(url)
    with engine.begin() as conn:
        if not url.startswith("sqlite"):
            conn.execute(text("ALTER TABLE run DROP COLUMN definition_id"))
        conn.execute(text("DROP TABLE pipelineversion"))
    engine.dispose()
    return url, statuses


def _rebuild_run_without_definition(path: Path) -> None:
    """SQLite cannot drop a column with a foreign key: the table is made again without it
    (its CREATE statement minus that column's lines), rows and indexes copied over."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys=OFF")
        con.execute("BEGIN")
        table, *indexes = [
            sql
            for (sql,) in con.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'run'")
            if sql
        ]
        kept = [line for line in table.split("\n") if "definition_id" not in line]
        kept[-2] = kept[-2].rstrip(", ")
        columns = ", ".join(
            name
            for (_, name, *_) in con.execute("PRAGMA table_info(run)")
            if name != "definition_id"
        )
        con.execute("\n".join(kept).replace("CREATE TABLE run", "CREATE TABLE run_v2", 1))
        con.execute(f"INSERT INTO run_v2 ({columns}) SELECT {columns} FROM run")
        con.execute("DROP TABLE run")
        con.execute("ALTER TABLE run_v2 RENAME TO run")
        for sql in indexes:
            con.execute(sql)
        con.execute("COMMIT")
    finally:
        con.close()


def test_version_two_is_upgraded_keeping_every_run_with_a_definition(before_versions):
    url, statuses = before_versions
    store = open_store(url)
    try:
        with store.read() as s:
            assert s.get(Meta, "schema_version").value == str(SCHEMA_VERSION) == "4"
            rows = s.execute(
                select(RUN.c.id, RUN.c.status, VERSION.c.definition, PIPELINE.c.definition)
                .join(VERSION, VERSION.c.id == RUN.c.definition_id)
                .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
            ).all()
            versions = s.execute(select(func.count()).select_from(VERSION)).scalar_one()
        assert {r.id: r.status for r in rows} == statuses, "every run kept, each with a version"
        assert all(r[2] == r[3] for r in rows), "made from the pipeline's current definition"
        assert versions == 2, "one version row per pipeline"
        claim = claims.claim(store, "me", ["default"])
        assert claim is not None and '"prepare"' in claim.definition
    finally:
        store.dispose()


def test_concurrent_openers_upgrade_version_two_once(before_versions):
    url = before_versions[0]
    assert open_concurrently(url) == []
    store = open_store(url)
    try:
        with store.read() as s:
            versions = s.execute(select(func.count()).select_from(VERSION)).scalar_one()
            missing = s.execute(
                select(func.count()).where(RUN.c.definition_id.is_(None))
            ).scalar_one()
        assert (versions, missing) == (2, 0)
    finally:
        store.dispose()
