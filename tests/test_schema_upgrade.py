"""A version-1 database (before steps recorded where they ran) is upgraded in place, on
SQLite and PostgreSQL, keeping its rows; concurrent openers upgrade it once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect, select, text
from support import open_concurrently

from runs_tui.core import ops
from runs_tui.core.db import Store, StoreError, open_store
from runs_tui.core.models import SCHEMA_VERSION, STEP, Meta
from runs_tui.core.registry import register

NEW_COLUMNS = ("executor", "external_id")
OFFSET_COLUMNS = ("out_offset", "err_offset")  # version 4


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def version_one(request: pytest.FixtureRequest, tmp_path: Path, pipeline_file: Path) -> str:
    """The URL of a database as version 1 left it: a run with a step, no new columns."""
    url = _url(request, tmp_path)
    store = open_store(url)
    try:
        register(store, pipeline_file)
        run = ops.new_run(store, "simple")
        with store.write() as s:
            s.execute(
                insert(STEP).values(
                    run_id=run.id, attempt=1, name="only", status="completed", exit_code=0
                )
            )
    finally:
        store.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        for column in (*NEW_COLUMNS, *OFFSET_COLUMNS):
            conn.execute(text(f"ALTER TABLE steprun DROP COLUMN {column}"))
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()
    return url


def _columns(store: Store) -> dict[str, tuple[bool, str | None]]:
    with store.read() as s:
        found = inspect(s.connection()).get_columns("steprun")
    return {c["name"]: (c["nullable"], c["default"]) for c in found}


def _version(store: Store) -> str:
    with store.read() as s:
        row = s.get(Meta, "schema_version")
    assert row is not None
    return row.value


def test_version_one_is_upgraded_in_place_keeping_rows(version_one: str, tmp_path: Path):
    store = open_store(version_one)
    try:
        assert _version(store) == str(SCHEMA_VERSION) == "4"
        with store.read() as s:
            rows = s.execute(
                select(STEP.c.name, STEP.c.status, STEP.c.executor, STEP.c.external_id)
            ).all()
        assert [tuple(r) for r in rows] == [("only", "completed", "", "")]
        with store.write() as s:
            s.execute(STEP.update().values(executor="local", external_id="4242"))
        with store.read() as s:
            assert s.execute(select(STEP.c.external_id)).scalar() == "4242"
        upgraded = _columns(store)
    finally:
        store.dispose()
    for column in NEW_COLUMNS:
        nullable, default = upgraded[column]
        assert not nullable and default is not None and "''" in default, upgraded[column]
    for column in OFFSET_COLUMNS:
        nullable, default = upgraded[column]
        assert not nullable and default is not None and "0" in default, upgraded[column]
    if version_one.startswith("sqlite"):  # PostgreSQL: one database per test, checked above
        fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
        try:
            assert _columns(fresh) == upgraded, "an upgraded table differs from a new one"
        finally:
            fresh.dispose()


def test_concurrent_openers_upgrade_once(version_one: str):
    assert open_concurrently(version_one) == []
    store = open_store(version_one)
    try:
        assert _version(store) == "4"
        assert {*NEW_COLUMNS, *OFFSET_COLUMNS} <= set(_columns(store))
    finally:
        store.dispose()


def test_newer_version_is_still_refused_untouched(version_one: str):
    engine = create_engine(version_one)
    with engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = '5' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"schema version 5, newer than this runs-tui"):
        open_store(version_one)
    engine = create_engine(version_one)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("steprun")}
    engine.dispose()
    assert not set(NEW_COLUMNS) & columns, "a refused database was changed"
