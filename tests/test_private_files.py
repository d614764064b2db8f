"""A database runs-tui creates is the user's alone: the file 0600 (SQLite gives its -wal
and -shm files the database's mode), the default folder 0700 when runs-tui makes it.
What the user made keeps its mode. Run under umask 022, where files would otherwise be
readable by everyone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from support import run_cli

from runs_tui.core.db import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user data dir moved into the test's folder; RUNS_TUI_DB unset: the default."""
    monkeypatch.delenv("RUNS_TUI_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def companions_while_open(db: Path, url: str | None = None) -> dict[str, int]:
    """The modes of the database and its -wal and -shm files while a runs-tui connection
    holds them open (the last connection to close removes the -wal file)."""
    store = open_store(url)
    try:
        with store.snapshot(), store.read() as session:
            session.execute(text("SELECT count(*) FROM run")).scalar()
            return {p.name: mode(p) for p in db.parent.iterdir() if p.name.startswith(db.name)}
    finally:
        store.dispose()


def test_the_default_database_and_its_folder_are_private(data_home, pipeline_file):
    proc = run_cli("pipeline", "register", str(pipeline_file))
    assert proc.returncode == 0, proc.stderr
    folder = data_home / "runs-tui"
    assert mode(folder) == 0o700
    assert mode(data_home) == 0o755  # a parent made on the way is made as mkdir -p would
    assert run_cli("run", "simple").returncode == 0
    assert companions_while_open(folder / "runs.db") == {
        "runs.db": 0o600,
        "runs.db-wal": 0o600,
        "runs.db-shm": 0o600,
    }


def test_a_folder_the_user_made_keeps_its_mode(data_home, pipeline_file):
    folder = data_home / "runs-tui"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    assert run_cli("pipeline", "register", str(pipeline_file)).returncode == 0
    assert (mode(folder), mode(folder / "runs.db")) == (0o755, 0o600)


def test_a_new_file_named_by_db_is_private(tmp_path, pipeline_file):
    db = tmp_path / "shared" / "team.db"
    db.parent.mkdir()
    db.parent.chmod(0o775)
    assert run_cli("pipeline", "register", str(pipeline_file), "--db", str(db)).returncode == 0
    assert (mode(db.parent), mode(db)) == (0o775, 0o600)


def test_a_database_file_the_user_made_keeps_its_mode(tmp_path, pipeline_file):
    db = tmp_path / "mine.db"
    db.touch()
    db.chmod(0o640)
    assert run_cli("pipeline", "register", str(pipeline_file), "--db", str(db)).returncode == 0
    assert run_cli("run", "simple", "--db", str(db)).returncode == 0
    assert companions_while_open(db, str(db)) == {
        "mine.db": 0o640,
        "mine.db-wal": 0o640,
        "mine.db-shm": 0o640,
    }
