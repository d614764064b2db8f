"""Fixtures: every test gets its own database file and config path, never the user's."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import agents  # noqa: F401  (a fixture)

from runs_tui.core.db import Store, open_store
from runs_tui.core.registry import register

FIXED_NOW = 1_764_000_000.0  # 2025-11-24 16:00 UTC: the clock of snapshots and seeded data

SIMPLE_PIPELINE = """
[pipeline]
name = "simple"
version = "1.0.0"
queue = "default"

[parameters]
lr = 0.01
epochs = 3
name = "base"
flag = false

[[steps]]
name = "only"
command = ["python", "-c", "print('hi')"]
"""


@pytest.fixture(autouse=True)
def _isolated_paths(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RUNS_TUI_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("RUNS_TUI_DB", str(home / "runs.db"))
    monkeypatch.setenv("RUNS_TUI_USER", "tester")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = open_store(str(db_path))
    yield s
    s.dispose()


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "simple.toml"
    path.write_text(SIMPLE_PIPELINE)
    return path


@pytest.fixture
def demo(store: Store) -> Store:
    """The demo pipelines and their runs, written at the fixed clock."""
    from runs_tui.demo.seed import seed

    seed(store, FIXED_NOW)
    return store


@pytest.fixture
def simple(store: Store, pipeline_file: Path) -> str:
    """The registered pipeline `simple`; its name."""
    return register(store, pipeline_file).name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Store]:
    """A store on SQLite, then on a fresh PostgreSQL database (skipped without one)."""
    url = str(db_path) if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = open_store(url)
    yield s
    s.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the server RUNS_TUI_TEST_PG_URL names, dropped after."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = os.environ.get("RUNS_TUI_TEST_PG_URL")
    if not admin:
        pytest.skip("RUNS_TUI_TEST_PG_URL is not set")
    name = f"runs_tui_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """`main(argv)` in this process against the test's database: (code, stdout, stderr)."""
    from runs_tui.cli import main

    monkeypatch.setenv("RUNS_TUI_DB", str(db_path))

    def call(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def train(store: Store, tmp_path: Path) -> str:
    """The pipeline `train` (tests/cli_runs.py), registered; its name."""
    from cli_runs import register_train

    return register_train(store, tmp_path)
