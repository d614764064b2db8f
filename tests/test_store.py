"""Opening the store: refusals with clear messages, where the database is, SQLite settings."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select
from support import make_pre_alembic, run_cli

from runs_tui.cli import main
from runs_tui.core import ops
from runs_tui.core.db import BUSY_TIMEOUT_MS, StoreError, open_store, resolve_url
from runs_tui.core.models import SCHEMA_VERSION, Meta, Run, RunTag


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def set_schema_version(path: Path, version: int) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    con.close()


def test_new_database_records_schema_version(store):
    with store.read() as session:
        row = session.get(Meta, "schema_version")
    assert row is not None
    assert row.value == str(SCHEMA_VERSION)


def test_newer_schema_is_refused(db_path, capsys):
    open_store(str(db_path)).dispose()
    set_schema_version(db_path, 999)
    with pytest.raises(StoreError) as info:
        open_store(str(db_path))
    message = str(info.value)
    assert "schema version 999" in message
    assert f"({SCHEMA_VERSION})" in message
    assert "upgrade runs-tui" in message
    assert str(db_path) in message
    # Nothing was changed: the version is still the newer one.
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT value FROM meta").fetchall() == [("999",)]
    con.close()

    code, out, err = cli(capsys, "ls", "--db", str(db_path))
    assert code == 2
    assert out == ""
    assert "runs-tui: error:" in err
    assert "schema version 999" in err


def test_newer_schema_cli_subprocess(db_path):
    open_store(str(db_path)).dispose()
    set_schema_version(db_path, 999)
    proc = run_cli("pipeline", "list", "--db", str(db_path))
    assert proc.returncode == 2
    assert "schema version 999" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_older_schema_version_is_upgraded(db_path):
    open_store(str(db_path)).dispose()
    make_pre_alembic(f"sqlite:///{db_path}", 0)
    s = open_store(str(db_path))
    with s.read() as session:
        row = session.get(Meta, "schema_version")
        assert row is not None and row.value == str(SCHEMA_VERSION)
    s.dispose()


def test_file_that_is_not_a_database(tmp_path, capsys):
    path = tmp_path / "notes.db"
    content = b"these are my notes, not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(StoreError) as info:
        open_store(str(path))
    message = str(info.value)
    assert str(path) in message
    assert "not a database" in message
    assert "\n" not in message
    assert "sqlalche.me" not in message
    assert path.read_bytes() == content  # left alone
    code, out, err = cli(capsys, "ls", "--db", str(path))
    assert (code, out) == (2, "")
    assert "not a database" in err
    assert str(path) in err


def test_directory_as_db_path(tmp_path, capsys):
    with pytest.raises(StoreError, match="is a directory, not a file"):
        open_store(str(tmp_path))
    code, _, err = cli(capsys, "ls", "--db", str(tmp_path))
    assert code == 2
    assert "is a directory" in err
    assert str(tmp_path) in err


def test_missing_folder_is_an_error_when_named(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no" / "such" / "runs.db"
    with pytest.raises(StoreError) as info:
        open_store(str(missing))
    assert "does not exist" in str(info.value)
    assert str(missing.parent) in str(info.value)
    assert not missing.parent.exists()
    # The same for a path from RUNS_TUI_DB.
    monkeypatch.setenv("RUNS_TUI_DB", str(missing))
    with pytest.raises(StoreError, match="does not exist"):
        open_store()
    code, _, err = cli(capsys, "pipeline", "list")
    assert code == 2
    assert str(missing.parent) in err
    assert not missing.parent.exists()


def test_default_location_folder_is_created(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNS_TUI_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    url = resolve_url(None)
    expected = (tmp_path / "xdg" / "runs-tui" / "runs.db").resolve()
    assert url == f"sqlite:///{expected}"
    assert expected.parent.is_dir()


def test_env_db_used_when_no_flag_and_flag_overrides(tmp_path, monkeypatch, capsys):
    env_db = tmp_path / "from-env.db"
    flag_db = tmp_path / "from-flag.db"
    monkeypatch.setenv("RUNS_TUI_DB", str(env_db))
    assert resolve_url() == f"sqlite:///{env_db.resolve()}"
    assert resolve_url(str(flag_db)) == f"sqlite:///{flag_db.resolve()}"

    pipe = tmp_path / "p.toml"
    pipe.write_text('[pipeline]\nname = "envp"\n[[steps]]\nname = "s"\ncommand = ["x"]\n')
    code, _, _ = cli(capsys, "pipeline", "register", str(pipe))
    assert code == 0
    assert env_db.exists()
    assert not flag_db.exists()
    code, _, _ = cli(capsys, "run", "envp", "--db", str(flag_db))
    assert code == 2  # the flag's database does not have the pipeline
    code, _, _ = cli(capsys, "--db", str(flag_db), "pipeline", "register", str(pipe))
    assert code == 0
    code, out, _ = cli(capsys, "run", "envp", "--db", str(flag_db))
    assert code == 0
    assert out.startswith("envp#1 ")

    def runs(path: Path) -> int:
        con = sqlite3.connect(path)
        n = con.execute("SELECT count(*) FROM run").fetchone()[0]
        con.close()
        return int(n)

    assert (runs(env_db), runs(flag_db)) == (0, 1)
    proc = run_cli("run", "envp")  # the subprocess inherits RUNS_TUI_DB
    assert proc.returncode == 0, proc.stderr
    assert (runs(env_db), runs(flag_db)) == (1, 1)


def test_sqlite_pragmas(store):
    with store.read() as session:

        def pragma(name: str) -> object:
            return session.execute(text(f"PRAGMA {name}")).scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == BUSY_TIMEOUT_MS
        assert BUSY_TIMEOUT_MS >= 5000


def test_every_kept_connection_has_the_pragmas(store):
    """Connections stay open between uses: the one `open_store` ran `PRAGMA optimize` on
    without a busy timeout is not among them."""
    with ExitStack() as stack:
        held = [stack.enter_context(store.connect()) for _ in range(8)]
        timeouts = {c.exec_driver_sql("PRAGMA busy_timeout").scalar() for c in held}
    assert timeouts == {BUSY_TIMEOUT_MS}


def test_a_store_never_writes_a_file_that_was_moved(store, db_path, simple):
    """An open connection would go on writing a file that was moved away (an unmounted
    disk, a file renamed): the store fails loudly instead, and the moved file is as it
    was."""
    ops.new_run(store, simple)  # the store's connections, warm
    moved = db_path.with_name("moved.db")
    for suffix in ("", "-wal", "-shm"):  # the folder's files, as a user moves them
        Path(f"{db_path}{suffix}").rename(f"{moved}{suffix}")
    with pytest.raises(OperationalError, match="unable to open"):
        ops.new_run(store, simple)
    assert not db_path.exists(), "a vanished file is not created again"
    with closing(sqlite3.connect(moved)) as con:
        assert con.execute("SELECT count(*) FROM run").fetchone() == (1,)


def test_foreign_keys_are_enforced(store):
    with pytest.raises(IntegrityError), store.write() as session:
        session.add(RunTag(run_id=12345, tag="orphan"))
    with store.read() as session:
        assert session.exec(select(RunTag)).all() == []


def test_write_sessions_take_the_write_lock_at_once(store, db_path, simple):
    """BEGIN IMMEDIATE: while a write session is open, another writer cannot start."""
    ops.new_run(store, simple)
    with store.write() as session:
        session.exec(select(Run)).all()  # only a read so far, yet the lock is held
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        # Readers are not blocked (WAL).
        assert other.execute("SELECT count(*) FROM run").fetchone() == (1,)
        other.close()
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


def test_write_rolls_back_on_error(store, simple):
    run_id = ops.new_run(store, simple).id
    with pytest.raises(RuntimeError), store.write() as session:
        session.add(RunTag(run_id=run_id, tag="lost"))
        session.flush()
        raise RuntimeError("boom")
    with store.read() as session:
        assert session.exec(select(RunTag)).all() == []


def test_bad_url(capsys):
    with pytest.raises(StoreError, match="nosuchdialect"):
        open_store("nosuchdialect://x/y")
    code, _, err = cli(capsys, "ls", "--db", "nosuchdialect://x/y")
    assert code == 2
    assert "nosuchdialect" in err
