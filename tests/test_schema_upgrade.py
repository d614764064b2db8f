"""Schema migrations: a version-1 database (made before Alembic, before steps recorded
where they ran) is upgraded in place to the newest revision, on SQLite and PostgreSQL,
keeping its rows, a SQLite file copied first; concurrent openers upgrade it once; a newer
database is refused untouched; the revisions make what models.py describes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select, text
from support import make_pre_alembic, open_concurrently

from runs_tui.core import migrations, ops
from runs_tui.core.db import Store, StoreError, open_store
from runs_tui.core.migrations.upgrade import scripts
from runs_tui.core.models import SCHEMA_VERSION, STEP, Meta, metadata
from runs_tui.core.registry import register

NEW_COLUMNS = ("executor", "external_id")
OFFSET_COLUMNS = ("out_offset", "err_offset")  # version 4


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def version_one(request: pytest.FixtureRequest, tmp_path: Path, pipeline_file: Path) -> str:
    """The URL of a database as version 1 left it, on each backend."""
    return _version_one(_url(request, tmp_path), pipeline_file)


def _version_one(url: str, pipeline_file: Path) -> str:
    """Make `url` a database as version 1 left it: a run with a step, no new columns."""
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
    make_pre_alembic(url, 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        for column in (*NEW_COLUMNS, *OFFSET_COLUMNS):
            conn.execute(text(f"ALTER TABLE steprun DROP COLUMN {column}"))
    engine.dispose()
    return url


def _columns(store: Store) -> dict[str, tuple[bool, str | None]]:
    with store.read() as s:
        found = inspect(s.connection()).get_columns("steprun")
    return {c["name"]: (c["nullable"], c["default"]) for c in found}


def _version(store: Store) -> tuple[str, str]:
    """`meta.schema_version` and the Alembic revision."""
    with store.read() as s:
        row = s.get(Meta, "schema_version")
        revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert row is not None
    return row.value, revision


def _differences(store: Store) -> list[object]:
    """What Alembic finds between the database and models.py, ignoring what the models do
    not describe (the search index's table and triggers, made by its revision)."""

    def described(_obj: object, _name: object, _kind: str, reflected: bool, other: object) -> bool:
        return not (reflected and other is None)

    with store.read() as s:
        context = MigrationContext.configure(s.connection(), opts={"include_object": described})
        return list(compare_metadata(context, metadata))


def _backups(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if ".backup-" in p.name)


def test_version_one_is_upgraded_in_place_keeping_rows(version_one: str, tmp_path: Path):
    store = open_store(version_one)
    try:
        assert _version(store) == (str(SCHEMA_VERSION), migrations.head())
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
        assert _differences(store) == [], "the upgraded database differs from models.py"
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


def test_sqlite_is_copied_before_it_is_upgraded(tmp_path: Path, pipeline_file: Path):
    path = tmp_path / "old.db"
    version_one = _version_one(f"sqlite:///{path}", pipeline_file)
    path.chmod(0o640)
    open_store(version_one).dispose()
    assert _backups(path) == ["old.db.backup-schema1"]
    backup = tmp_path / "old.db.backup-schema1"
    assert backup.stat().st_mode & 0o777 == 0o640, "the copy has the database's mode"
    con = sqlite3.connect(backup)
    try:
        assert con.execute("SELECT value FROM meta").fetchall() == [("1",)]
        assert con.execute("SELECT name, status FROM steprun").fetchall() == [("only", "completed")]
        columns = {row[1] for row in con.execute("PRAGMA table_info(steprun)")}
    finally:
        con.close()
    assert not set(NEW_COLUMNS) & columns, "the copy is the database before the upgrade"
    open_store(version_one).dispose()
    assert _backups(path) == ["old.db.backup-schema1"], "an up-to-date database is not copied"


def test_a_copy_that_cannot_be_made_stops_the_upgrade(tmp_path: Path, pipeline_file: Path):
    version_one = _version_one(f"sqlite:///{tmp_path / 'old.db'}", pipeline_file)
    (tmp_path / "old.db.backup-schema1").mkdir()  # where the copy would go
    with pytest.raises(StoreError, match=r"could not be made first .*nothing was changed"):
        open_store(version_one)
    con = sqlite3.connect(tmp_path / "old.db")
    try:
        assert con.execute("SELECT value FROM meta").fetchall() == [("1",)]
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()
    assert "alembic_version" not in tables
    assert not (tmp_path / "old.db.backup-schema1.partial").exists()


def test_concurrent_openers_upgrade_once(version_one: str, tmp_path: Path):
    assert open_concurrently(version_one) == []
    store = open_store(version_one)
    try:
        assert _version(store) == ("4", migrations.head())
        assert {*NEW_COLUMNS, *OFFSET_COLUMNS} <= set(_columns(store))
    finally:
        store.dispose()
    if version_one.startswith("sqlite"):
        assert _backups(tmp_path / "old.db") == ["old.db.backup-schema1"]


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


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_unknown_revision_is_refused_untouched(backend: str, request, tmp_path: Path):
    url = (
        f"sqlite:///{tmp_path / 'new.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    open_store(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    expected = rf"schema version 9999, newer than this runs-tui understands \({migrations.head()}\)"
    with pytest.raises(StoreError, match=expected):
        open_store(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9999"
    engine.dispose()
    assert _backups(tmp_path / "new.db") == []


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_new_database_is_what_models_describe(backend: str, request, tmp_path: Path):
    url = (
        f"sqlite:///{tmp_path / 'new.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = open_store(url)
    try:
        assert _version(store) == (str(SCHEMA_VERSION), migrations.head())
        assert _differences(store) == []
    finally:
        store.dispose()
    assert _backups(tmp_path / "new.db") == [], "nothing to copy in a new database"


def test_revision_files_are_one_line_of_numbered_revisions():
    """The newest revision is read from file names (no Alembic on the way to the table):
    each file `NNNN_what.py` holds revision "NNNN", down from the one before it."""
    _config, script = scripts()
    chain = [rev for rev in reversed(list(script.walk_revisions()))]
    assert tuple(rev.revision for rev in chain) == migrations.revisions()
    assert [rev.down_revision for rev in chain] == [None, *migrations.revisions()[:-1]]
    for rev in chain:
        assert Path(rev.path).name.startswith(f"{rev.revision}_"), rev.path
    assert script.get_heads() == [migrations.head()]


def test_only_an_upgrade_imports_alembic(tmp_path: Path):
    path = tmp_path / "runs.db"
    open_store(str(path)).dispose()
    code = (
        "import json, sys; from runs_tui.core.db import open_store; "
        f"open_store({str(path)!r}).dispose(); "
        "print(json.dumps(any(m.split('.')[0] == 'alembic' for m in sys.modules)))"
    )

    def imports_alembic() -> bool:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return bool(json.loads(proc.stdout))

    assert not imports_alembic(), "an up-to-date database is opened without Alembic"
    make_pre_alembic(f"sqlite:///{path}")
    assert imports_alembic(), "an older one is upgraded with it"
    assert not imports_alembic()
