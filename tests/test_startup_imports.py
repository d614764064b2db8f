"""Startup imports only what the first frame needs (a fresh interpreter each, as
tests/test_layers.py probes): `runs-tui --help` no Textual and no SQL; the app up to its
first rows no modal screen, no SQLModel, pydantic or ORM (the read path is SQLAlchemy
Core: `core.tables`), no writes and no run details; opening an up-to-date SQLite
database no PostgreSQL dialect or driver and no Alembic (only an upgrade needs it)."""

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

# The real app, headless, until the table shows the first window of runs.
APP_PROBE = """
import asyncio, json, sys
from runs_tui.sources import open_source
from runs_tui.ui.app import RunsApp
from runs_tui.ui.widgets.runs_table import RunsTable

async def first_rows():
    source = open_source(sys.argv[1])
    try:
        async with RunsApp(source, pipeline=sys.argv[2]).run_test(size=(120, 36)) as pilot:
            while not any(t.order for t in pilot.app.screen.query(RunsTable)):
                await pilot.pause(0.01)
    finally:
        source.close()

asyncio.run(first_rows())
print(json.dumps(sorted(sys.modules)))
"""

MODELS_PROBE = """
import json, sys
from runs_tui.core import models
before = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlmodel", "pydantic"))
run = models.Run
print(json.dumps({"before": before, "after": "sqlmodel" in sys.modules, "run": run.__name__}))
"""

MODALS = ("forms", "menus", "filters", "columns", "pipelines", "help")
# What the first frame does without: the ORM and what brings it, writes, a run's details,
# exports, pickers, far pages and marks.
NOT_AT_START = (
    "runs_tui.core.orm",
    "runs_tui.core.cells",
    "runs_tui.core.facets",
    "runs_tui.core.keyset",
    "runs_tui.core.selection",
    "runs_tui.core.ops",
    "runs_tui.core.registry",
    "runs_tui.core.details",
    "runs_tui.core.pipelines",
    "sqlalchemy.orm",
    "runs_tui.ui.screens.plot",  # the plot and the details' chart: textual-plot, numpy
    "runs_tui.ui.widgets.metric_chart",
    "textual_plot",
    "numpy",
)


def test_help_imports_neither_textual_nor_sql():
    tops = set(probe(HELP_PROBE))  # type: ignore[arg-type]
    assert "runs_tui" in tops
    assert tops.isdisjoint({"textual", "sqlalchemy", "sqlmodel", "pydantic", "alembic"})


def test_the_app_up_to_its_first_rows_imports_only_what_they_need(demo: Store, db_path):
    modules = set(probe(APP_PROBE, str(db_path), "train-resnet"))  # type: ignore[arg-type]
    assert {"runs_tui.ui.screens.main", "runs_tui.sources.sql", "sqlalchemy"} <= modules
    modals = {f"runs_tui.ui.screens.{name}" for name in MODALS}
    assert modules.isdisjoint(modals), modules & modals
    tops = {m.split(".")[0] for m in modules}
    assert tops.isdisjoint({"sqlmodel", "pydantic", "alembic", "psycopg", "psycopg2", "asyncpg"})
    assert modules.isdisjoint(NOT_AT_START), modules & set(NOT_AT_START)
    assert not [m for m in modules if m.startswith("sqlalchemy.dialects.postgresql")]


def test_the_models_module_builds_its_classes_on_first_use():
    found = probe(MODELS_PROBE)
    assert found == {"before": [], "after": True, "run": "Run"}
