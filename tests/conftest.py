"""Fixtures: every test gets its own database file and config path, never the user's."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from support import agents  # noqa: F401  (a fixture)

from runs_tui.core.db import Store, copy_sqlite, open_store
from runs_tui.core.registry import register

T = TypeVar("T")
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


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: three workers a core. Most of the suite waits on real processes (agents,
    Slurm jobs, servers, terminals), so a core has time for more than one worker; and on
    a busy machine the suite's share of the cores grows with its runnable workers (2
    cores, another process keeping one busy: 10 min 09 s with four workers, 7 min 21 s to
    9 min 41 s with six; quiet: 6 min 50 s to 8 min 31 s with four, 6 min 02 s to 7 min
    50 s with six).
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set (xdist's own hook reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return 3 * (len(os.sched_getaffinity(0)) or 1)


def _xdist_group(item: pytest.Item) -> str | None:
    """Tests sharing an expensive module fixture on an MLflow server (a server started,
    runs seeded through its REST API) are one group: one xdist worker runs it, so the
    fixture is made once, as with -n0, not once on each worker that happens to get one of
    its tests (`--dist loadgroup` in pyproject's addopts; other tests spread as with
    `load`)."""
    if item.path.name == "test_mlflow.py":
        return "mlflow-world"
    spec = getattr(item, "callspec", None)
    kind = spec.params.get("kind") if spec is not None else None
    if item.path.name == "test_source_contract.py" and getattr(kind, "name", "") == "mlflow":
        return "mlflow-contract"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = _xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def _isolated_paths(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate(monkeypatch, tmp_path_factory.mktemp("home"))


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Config and database in `home`, a fixed user and UTC: what every test runs in."""
    monkeypatch.setenv("RUNS_TUI_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("RUNS_TUI_DB", str(home / "runs.db"))
    monkeypatch.setenv("RUNS_TUI_USER", "tester")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
def store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Store]:
    if "demo" in request.fixturenames:  # the demo's copy, not written again test by test
        copy_sqlite(request.getfixturevalue("_demo_template"), db_path)
    s = open_store(str(db_path))
    yield s
    s.dispose()


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "simple.toml"
    path.write_text(SIMPLE_PIPELINE)
    return path


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the demo written at the fixed clock, once a test process, with
    the environment `_isolated_paths` gives a test: `demo` is a copy of it."""
    from runs_tui.demo.seed import seed

    home = tmp_path_factory.mktemp("demo-template")
    path = home / "runs.db"
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, home)
        s = open_store(str(path))
        try:
            seed(s, FIXED_NOW)
        finally:
            s.dispose()
    time.tzset()
    return path


@pytest.fixture
def demo(store: Store) -> Store:
    """The demo pipelines and their runs, written at the fixed clock: the store (`store`
    is a copy of `_demo_template` when a test asks for `demo`)."""
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


@contextmanager
def pg_database(template: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database on the server RUNS_TUI_TEST_PG_URL names (a copy of
    the database `template` when given, which nothing may be connected to), dropped
    after; skips the test without that server."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = os.environ.get("RUNS_TUI_TEST_PG_URL")
    if not admin:
        pytest.skip("RUNS_TUI_TEST_PG_URL is not set")
    name = f"runs_tui_test_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def template_databases(
    tmp_path_factory: pytest.TempPathFactory, fill: Callable[[str, Path], T]
) -> Iterator[Callable[[str], tuple[str, T]]]:
    """`make(kind)`: the URL of a database of the kind ("sqlite", "postgresql") that
    `fill(url, folder)` filled, made once (in a module fixture: once a module), with what
    `fill` returned. `fill` leaves nothing connected: PostgreSQL copies only such a one.
    Tests take a copy of it (`database_copy`)."""
    made: dict[str, tuple[str, T]] = {}
    with ExitStack() as stack:

        def make(kind: str) -> tuple[str, T]:
            if kind not in made:
                folder = tmp_path_factory.mktemp("template")
                url = (
                    str(folder / "template.db")
                    if kind == "sqlite"
                    else stack.enter_context(pg_database())
                )
                made[kind] = (url, fill(url, folder))
            return made[kind]

        yield make


def database_copy(request: pytest.FixtureRequest, tmp_path: Path, kind: str, template: str) -> str:
    """A copy of the `kind` database at `template`, the requesting test's alone: a
    SQLite file copy or a PostgreSQL database made from it, dropped after the test."""
    if kind == "sqlite":
        url = str(tmp_path / "copy.db")
        copy_sqlite(Path(template), Path(url))
        return url
    database = pg_database(template)
    url = database.__enter__()
    request.addfinalizer(lambda: database.__exit__(None, None, None))
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the server RUNS_TUI_TEST_PG_URL names, dropped after."""
    with pg_database() as url:
        yield url


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
