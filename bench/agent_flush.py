"""Flush cost of the run writer with many metric names: `bench/agent.py --only flush`.

One run reports N distinct metric names (100, 10,000, 100,000) through the agent's
`RunWriter`, in this process, on a fresh database per N:

- **first**: one point of each of the N names in one flush (N points and N summaries
  inserted);
- **again**: the same again, 3 times (N points inserted, N summaries updated per flush);
- **small**: 10 points on 10 of the names, with the N summaries in the store, 20 times:
  what a flush costs a run that has reported many names before.

On SQLite a probe takes the write lock (an empty BEGIN IMMEDIATE) every 5 ms meanwhile;
its longest wait is how long the flush held the lock from another writer. On PostgreSQL
(`--pg ADMIN_URL`: a database is made and dropped) writers do not queue on one lock, so
only the flush times are given.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import tomli_w
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from runs_tui.agent import claims
from runs_tui.agent.outage import Outage
from runs_tui.agent.protocol import MetricReport
from runs_tui.agent.writer import RunWriter
from runs_tui.core import ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.registry import register

SIZES = (100, 10_000, 100_000)
HEADER = (
    f"{'backend':<10} {'names':>7} {'first s':>8} {'again s':>8} {'small ms':>9} "
    f"{'lock first':>10} {'lock again':>10} {'lock small':>10}"
)


class LockWait(threading.Thread):
    """The longest wait for SQLite's write lock, taken every 5 ms until stopped."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db, self.longest, self.done = db, 0.0, threading.Event()

    def __enter__(self) -> LockWait:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.join()

    def run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=600, isolation_level=None)
        try:
            while not self.done.wait(0.005):
                t = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("COMMIT")
                self.longest = max(self.longest, time.perf_counter() - t)
        finally:
            conn.close()


@contextmanager
def sqlite_db() -> Iterator[tuple[str, Path | None]]:
    with tempfile.TemporaryDirectory(prefix="runs-tui-flush-") as folder:
        yield str(Path(folder) / "runs.db"), Path(folder) / "runs.db"


@contextmanager
def pg_db(admin_url: str) -> Iterator[tuple[str, Path | None]]:
    name = f"runs_tui_flush_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False), None
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def writer_for(store: Store, folder: Path) -> RunWriter:
    path = folder / "flush.toml"
    doc = {
        "pipeline": {"name": "flush", "version": "1"},
        "steps": [{"name": "s", "command": ["true"]}],
    }
    path.write_text(tomli_w.dumps(doc))
    register(store, path)
    ops.new_run(store, "flush", user="bench")
    claim = claims.claim(store, "bench", ["default"])
    assert claim is not None
    return RunWriter(store, claim, "bench", Outage("bench"), lambda: False)


def timed(db: Path | None, flushes: Callable[[], list[float]]) -> tuple[list[float], float]:
    """The flush times `flushes` returns, and the probe's longest wait (NaN without one)."""
    if db is None:
        return flushes(), float("nan")
    with LockWait(db) as probe:
        times = flushes()
    return times, probe.longest


def measure(url: str, db: Path | None, n: int) -> tuple[float, ...]:
    store = open_store(url)
    try:
        with tempfile.TemporaryDirectory() as folder:
            writer = writer_for(store, Path(folder))

        def flush_all(rounds: int) -> list[float]:
            times = []
            for r in range(rounds):
                for i in range(n):
                    writer.metric(MetricReport(f"m{i}", "x", float(i + r), r))
                t = time.perf_counter()
                assert writer.flush()
                times.append(time.perf_counter() - t)
            return times

        def flush_small() -> list[float]:
            times = []
            for r in range(20):
                for i in range(10):
                    writer.metric(MetricReport(f"m{(i * 7919 + r) % n}", "x", -1.0, 100 + r))
                t = time.perf_counter()
                assert writer.flush()
                times.append(time.perf_counter() - t)
            return times

        first, lock_first = timed(db, lambda: flush_all(1))
        again, lock_again = timed(db, lambda: flush_all(3))
        small, lock_small = timed(db, flush_small)
    finally:
        store.dispose()
    return (
        first[0],
        statistics.mean(again),
        statistics.median(small) * 1000,
        lock_first,
        lock_again,
        lock_small,
    )


def run(pg: str | None) -> None:
    print("flush of N metric names; lock = longest wait of another writer (SQLite), s")
    print(HEADER, flush=True)
    backends = [("sqlite", sqlite_db)] + ([("postgresql", lambda: pg_db(pg))] if pg else [])
    for backend, make in backends:
        for n in SIZES:
            with make() as (url, db):
                first, again, small, *locks = measure(url, db, n)
            cells = ["-" if math.isnan(lock) else f"{lock:.3f}" for lock in locks]
            lock_cells = " ".join(f"{cell:>10}" for cell in cells)
            print(
                f"{backend:<10} {n:>7,} {first:>8.3f} {again:>8.3f} {small:>9.1f} {lock_cells}",
                flush=True,
            )
