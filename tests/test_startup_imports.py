"""Startup imports only what the first frame needs (a fresh interpreter each, as
tests/test_layers.py probes): `runs-tui --help` no Textual and no SQL; the app no modal
screen until it is asked for; opening an up-to-date SQLite database no PostgreSQL
dialect or driver and no Alembic (only an upgrade needs it)."""

from __future__ import annotations

from test_layers import probe

from runs_tui.core.db import Store

HELP_PROBE = """
import contextlib, io, json, sys
from runs_tui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["--help"])
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

APP_PROBE = """
import json, sys
from runs_tui.sources import open_source
from runs_tui.ui.app import RunsApp
source = open_source(sys.argv[1])
source.find_pipeline(None)
print(json.dumps(sorted(sys.modules)))
"""

MODALS = ("forms", "menus", "filters", "columns", "pipelines", "help")


def test_help_imports_neither_textual_nor_sql():
    tops = set(probe(HELP_PROBE))  # type: ignore[arg-type]
    assert "runs_tui" in tops
    assert tops.isdisjoint({"textual", "sqlalchemy", "sqlmodel", "pydantic", "alembic"})


def test_the_app_on_sqlite_imports_no_modal_screen_postgresql_or_alembic(
    store: Store, simple: str, db_path
):
    modules = set(probe(APP_PROBE, str(db_path)))  # type: ignore[arg-type]
    assert {"runs_tui.ui.screens.main", "runs_tui.sources.sql", "sqlalchemy"} <= modules
    modals = {f"runs_tui.ui.screens.{name}" for name in MODALS}
    assert modules.isdisjoint(modals), modules & modals
    tops = {m.split(".")[0] for m in modules}
    assert tops.isdisjoint({"alembic", "psycopg", "psycopg2", "asyncpg"})
    assert not [m for m in modules if m.startswith("sqlalchemy.dialects.postgresql")]
