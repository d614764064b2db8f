"""A SQLite file another process holds the write lock of: the CLI waits for it up to the
busy timeout (RUNS_TUI_BUSY_TIMEOUT, 30 s by default), then says "database is locked" in
one line with exit 2. The lock here is real: a connection in this process holding
BEGIN IMMEDIATE while the CLI runs in a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from support import ROOT, run_cli, wait_for

from runs_tui.core.db import BUSY_TIMEOUT_ENV, StoreError, busy_timeout_ms, open_store


@pytest.fixture
def held_lock(db_path: Path, simple: str) -> Iterator[sqlite3.Connection]:
    """The write lock of the test database, held until the test ends (or releases it)."""
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    yield con
    if con.in_transaction:
        con.rollback()
    con.close()


def runs_in(db_path: Path) -> int:
    con = sqlite3.connect(db_path)
    try:
        return int(con.execute("SELECT count(*) FROM run").fetchone()[0])
    finally:
        con.close()


def test_busy_timeout_setting_reaches_sqlite(monkeypatch, db_path):
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.25")
    store = open_store(str(db_path))
    try:
        with store.read() as session:
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 250
    finally:
        store.dispose()
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "")
    assert busy_timeout_ms() == 30_000


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1e12", "1 s"])
def test_bad_busy_timeout_is_refused(monkeypatch, value):
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, value)
    with pytest.raises(StoreError, match=f"invalid {BUSY_TIMEOUT_ENV} '{value}'"):
        busy_timeout_ms()


def test_bad_busy_timeout_exits_2_with_one_line(db_path, simple):
    proc = run_cli("ls", "simple", "--db", str(db_path), env={BUSY_TIMEOUT_ENV: "soon"})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"runs-tui: error: invalid {BUSY_TIMEOUT_ENV} 'soon': expected a positive number of seconds"
    ]


@pytest.mark.parametrize(
    "args",
    [("run", "simple"), ("pipeline", "register", "PIPELINE_FILE")],
    ids=["run", "register"],
)
def test_locked_database_exits_2_with_one_line(db_path, pipeline_file, held_lock, args):
    args = tuple(str(pipeline_file) if a == "PIPELINE_FILE" else a for a in args)
    proc = run_cli(*args, "--db", str(db_path), env={BUSY_TIMEOUT_ENV: "0.3"})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["runs-tui: error: database is locked"]
    assert "Traceback" not in proc.stderr
    held_lock.rollback()
    assert runs_in(db_path) == 0
    assert run_cli("run", "simple", "--db", str(db_path)).returncode == 0


def test_cli_waits_for_the_lock_to_be_released(db_path, held_lock):
    """With a long busy timeout the CLI waits for the lock instead of failing: it succeeds
    once the holder lets go."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "runs_tui", "run", "simple", "--db", str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), BUSY_TIMEOUT_ENV: "120"},
    )
    try:

        def has_db_open() -> bool:
            fds = Path(f"/proc/{proc.pid}/fd")
            try:
                return any(os.readlink(fd) == str(db_path) for fd in fds.iterdir())
            except OSError:
                return False

        wait_for(lambda: has_db_open() or proc.poll() is not None, 60, "the CLI to open the db")
        time.sleep(1.0)  # time for the CLI to reach the write; not asserted on
        assert proc.poll() is None, proc.communicate()
        held_lock.rollback()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.startswith("simple#1 ")
    assert runs_in(db_path) == 1
