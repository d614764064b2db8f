"""`runs-tui ls` (a table, CSV, JSON) imports only what listing needs, in a fresh
interpreter as tests/test_startup_imports.py probes the app: no Textual or Rich, no
SQLModel, pydantic or ORM (the read path is SQLAlchemy Core), no Alembic for an
up-to-date database, no writes or run details, and on SQLite no PostgreSQL dialect or
driver: each would be paid by every export before its first row."""

from __future__ import annotations

import pytest
from test_layers import probe

from runs_tui.core.db import Store, open_store

LS_PROBE = """
import contextlib, io, json, sys
from runs_tui.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["ls", *sys.argv[1:]])
lines = out.getvalue().count("\\n")
print(json.dumps({"code": code, "lines": lines, "modules": sorted(sys.modules)}))
"""

NEVER = {"textual", "rich", "sqlmodel", "pydantic", "alembic"}
# The ORM and what brings it, writes, a run's details, an upgrade.
NOT_FOR_LS = {
    "runs_tui.core.orm",
    "runs_tui.core.ops",
    "runs_tui.core.registry",
    "runs_tui.core.details",
    "runs_tui.core.pipelines",
    "runs_tui.core.migrations.upgrade",
    "sqlalchemy.orm",
}
DRIVERS = {"psycopg", "psycopg2", "asyncpg"}
ARGS = [
    ("--format", "csv"),
    ("--format", "json", "train-resnet"),
    ("--format", "csv", "--columns", "run,status,m:loss/val:last,p:args/lr"),
    ("--format", "csv", "--sort=-m:loss/val:last", "--search", "a"),
    ("train-resnet",),  # the table
]


def listed(db: str, args: tuple[str, ...]) -> set[str]:
    found = probe(LS_PROBE, "--db", db, *args)
    assert found["code"] == 0 and isinstance(found["lines"], int) and found["lines"] > 10
    modules = found["modules"]
    assert isinstance(modules, list)
    return set(modules)


def check(modules: set[str]) -> None:
    assert "runs_tui.core.cells" in modules or "runs_tui.core.keyset" in modules
    tops = {m.split(".")[0] for m in modules}
    assert tops.isdisjoint(NEVER), tops & NEVER
    assert modules.isdisjoint(NOT_FOR_LS), modules & NOT_FOR_LS
    assert not [m for m in modules if m.startswith("runs_tui.ui")]


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_ls_on_sqlite_imports_only_what_listing_needs(demo: Store, db_path, args) -> None:
    modules = listed(str(db_path), args)
    check(modules)
    assert {m.split(".")[0] for m in modules}.isdisjoint(DRIVERS)
    assert not [m for m in modules if m.startswith("sqlalchemy.dialects.postgresql")]
    assert "runs_tui.core.pg_stream" not in modules


@pytest.mark.postgres
def test_ls_on_postgresql_imports_only_what_listing_needs(pg_url: str) -> None:
    from conftest import FIXED_NOW

    from runs_tui.demo.seed import seed

    store = open_store(pg_url)
    try:
        seed(store, FIXED_NOW)
    finally:
        store.dispose()
    for args in ARGS[:2]:
        modules = listed(pg_url, args)
        check(modules)
        assert {"psycopg", "runs_tui.core.pg_stream"} <= modules  # read in chunks
