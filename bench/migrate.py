"""Migration benchmark: opening a SQLite database made before Alembic (schema 3) of N runs.

Builds (once, as bench/query.py does) a database of one pipeline of N runs, copies it,
and takes the copy back to what the release before Alembic left: revisions after "0001"
undone (the search index), no `alembic_version`, `meta.schema_version` 3, no step
offsets (schema 4) and one index schema 1 lacked. Then it times:

  copy     SQLite's backup API copying the file (what the upgrade does first)
  upgrade  the first open_store(): copy + every revision, under the write lock
  next     the open after it (up to date: plain queries, no Alembic)

Usage: python bench/migrate.py [--runs N] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from query import build, existing_ok, machine
from sqlalchemy import create_engine, text

from runs_tui.core.db import open_store
from runs_tui.core.migrations.upgrade import downgrade


def make_schema_3(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        downgrade(conn, "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
        for column in ("out_offset", "err_offset"):
            conn.execute(text(f"ALTER TABLE steprun DROP COLUMN {column}"))
        conn.execute(text("DROP INDEX ix_run_user"))
    engine.dispose()


def timed_copy(path: Path) -> float:
    target = path.with_name(path.name + ".copy")
    started = time.perf_counter()
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    source.backup(copy)
    copy.close()
    source.close()
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.gettempdir()) / f"query-bench-{args.runs}.db"
    if args.rebuild or not existing_ok(base, args.runs):
        print(f"building {base} ({args.runs:,} runs) ...", flush=True)
        build(base, args.runs)
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-"))
    try:
        path = work / "runs.db"
        open_store(str(base)).dispose()  # at head, whatever made it
        source, copy = sqlite3.connect(base), sqlite3.connect(path)
        source.backup(copy)
        copy.close()
        source.close()
        make_schema_3(path)
        size = path.stat().st_size / 2**20
        copied = timed_copy(path)
        started = time.perf_counter()
        open_store(str(path)).dispose()
        upgrade = time.perf_counter() - started
        started = time.perf_counter()
        open_store(str(path)).dispose()
        again = time.perf_counter() - started
        print(machine())
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"{args.runs:,} runs, {size:.0f} MiB at schema 3:")
        print(f"  copy     {copied:7.2f} s")
        backups = [p.name for p in work.glob("*.backup-*")]
        print(f"  upgrade  {upgrade:7.2f} s  (copy included: {', '.join(backups)})")
        print(f"  next     {again * 1000:7.1f} ms")
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
