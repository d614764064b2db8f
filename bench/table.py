"""Runs table benchmark: does the app stay as fast at 1,000,000 runs as at 1,000?

For each size (default 1,000, 100,000 and 1,000,000 runs of one pipeline) a SQLite
database is built once, with the app's schema (open_store) and raw executemany in big
transactions (indexes dropped during the load and made again after), and kept for the
next run in --data (default $TMPDIR/runs-tui-bench-table). The data is shaped like a
busy team's history: 12 users, statuses (75% Completed, 15% Failed, 10% Aborted, the
newest 5 Pending, exactly 20 Running just below them), 3 versions, 2 queues, 0-3 tags
from 10, 3 parameters (args/lr, args/epochs, args/batch_size) per run and 3 metric
summaries (loss/train, loss/val, accuracy/val) per started run, one run every 30 s up
to the build time. Nothing is archived.

Figures, per size:

The sizes take turns (launch by launch, round by round), so that a change in the
machine's load touches them alike.

- first frame: the real app (`python -m runs_tui --db PATH --pipeline NAME`, default
  columns) in a real pseudo-terminal (120x36, TERM=xterm-256color, RUNS_TUI_CONFIG a
  fresh temp file, cwd a temp dir), from fork until its output, with escape sequences
  removed, shows the last visible run's number uncut ("#999968": the rows are drawn,
  what a user waits for). The time until the status line's "of 1,000,000 runs" is
  printed too. Median of --launches launches.
- idle bytes: what the app writes to the pty over --idle seconds once the first frame is
  out (the window starts after 0.25 s of quiet, at most 2 s after the frame). Nothing
  changes in the database meanwhile; the app refreshes every 2 s.
- peak RSS: the app's VmHWM (/proc/PID/status) at the end of the idle window, then "q".
  (Not ru_maxrss from wait4: Linux counts in it the bench's own image forked before exec.)
- refresh / sort / page down: in-process (App.run_test, 120x36, the real store, the real
  clock, auto-refresh paused so that only the measured load runs; a fresh interpreter
  per size and round, gc.collect() before each timed load). Wall time and CPU time
  (time.process_time: every thread, so the worker's queries too) from the call to the
  end of `workers.wait_for_complete()` + `pilot.pause()` once the WindowLoaded message
  was applied. Refresh: the 20 Running runs get new progress, updated and metric rows
  (as their agents would write them), then `screen.reload()`. Sort: `screen.run_query`
  set to sort by m:loss/val:last, then `reload()` (from the default order each time).
  Page down: "pagedown" pressed from the top until a press makes the window load more
  rows (200 -> 400); that press and its load are timed. Median of --reps repetitions
  in --rounds rounds, each round after one warm-up. The parts "window()" and "count()"
  (the queries, in the worker thread) and "apply" (RunsTable.apply, in the UI thread)
  are timed by wrapping them.

--explain then times each query of a load on its own (warm page cache) and prints
SQLite's EXPLAIN QUERY PLAN; --profile prints the UI thread's cProfile of one of each
in-process load at the largest size (a separate pass: profiling slows it down).

The product's goal: at 1,000,000 runs each figure within 1.3x of the 1,000-run figure.

--scenarios then runs issue 12's scenarios, each a script of its own in bench/ (ticks,
marks, search, export, bytes, startup; on PostgreSQL too with --pg ADMIN_URL), each
printing its figures with their target: about 30 minutes more.

Usage: python bench/table.py [--sizes 1000,100000,1000000] [--data DIR] [--rebuild]
                             [--reps 9] [--rounds 3] [--launches 5] [--idle 10]
                             [--explain] [--profile] [--scenarios [--pg ADMIN_URL]]
About 3 minutes (3.5 with --explain --profile), plus about a minute the first time to build
the databases (38 s for 1,000,000 runs on a 2-core EPYC). It measures the runs_tui that
Python imports: set PYTHONPATH to measure another copy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import event
from textual.pilot import Pilot

import runs_tui
from runs_tui.core import config, lookup
from runs_tui.core.counts import count
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import METRIC, PARAM, RUN, TAG
from runs_tui.core.query import window_ids
from runs_tui.core.records import RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.core.rows import load_rows
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.main import PAGE, MainScreen

PIPELINE = "train-resnet"
COLS, ROWS = 120, 36
LAST_VISIBLE = ROWS - 4  # rows of runs on screen, less one: header, status, footer
SIZES = (1_000, 100_000, 1_000_000)
GOAL = 1.3
RUNNING = 20
PENDING = 5
SPACING = 30.0  # seconds between two runs' creation
CHUNK = 50_000
USERS = (
    "alice",
    "bob",
    "carol",
    "dmitri",
    "erin",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kemal",
    "lena",
)
TAGS = (
    "baseline",
    "sweep",
    "prod",
    "debug",
    "lr-search",
    "ablation",
    "cifar10",
    "fp16",
    "long",
    "candidate",
)
AGENTS = tuple(f"gpu-{i:02d}" for i in range(1, 9))
METRICS = (("loss", "train"), ("loss", "val"), ("accuracy", "val"))
SORT_METRIC = "m:loss/val:last"
KINDS = {"refresh": "refresh tick", "sort": f"sort by {SORT_METRIC}", "pagedown": "page down load"}
PIPELINE_TOML = f"""
[pipeline]
name = "{PIPELINE}"
version = "1.2.0"
queue = "default"

[parameters]
lr = 0.01
epochs = 10
batch_size = 128

[[steps]]
name = "train"
command = ["python", "train.py", "--lr", "{{lr}}", "--epochs", "{{epochs}}"]
"""
# --- the databases -------------------------------------------------------------------


def db_path(data: Path, n: int) -> Path:
    return data / f"runs-{n}.db"


def ensure_db(data: Path, n: int, rebuild: bool) -> Path:
    """The database of `n` runs, built if missing (or --rebuild); built under a temp name
    and renamed at the end, so an interrupted build is never reused."""
    path = db_path(data, n)
    if path.exists() and not rebuild:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            found = conn.execute("SELECT count(*), max(number) FROM run").fetchone()
        if found == (n, n):
            print(f"  reusing {path}", flush=True)
            return path
        print(f"  {path} holds {found[0]} runs, not {n}: rebuilding", flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    data.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    _build(tmp, n)
    tmp.rename(path)
    size = path.stat().st_size / 2**20
    print(f"  built {path}: {size:,.0f} MiB in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _build(path: Path, n: int) -> None:
    # The app's own schema and indexes, and the pipeline registered as a user would.
    store = open_store(str(path))
    try:
        toml = path.with_name("bench-pipeline.toml")
        toml.write_text(PIPELINE_TOML)
        pipeline_id = register(store, toml).id
        toml.unlink()
    finally:
        store.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        tables = (RUN.name, PARAM.name, TAG.name, METRIC.name)
        indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({','.join('?' * len(tables))})",
            tables,
        ).fetchall()
        for name, _sql in indexes:  # built once at the end: much faster than row by row
            conn.execute(f'DROP INDEX "{name}"')
        rng = random.Random(20251124)
        now = time.time()
        run_cols = (
            "id, pipeline_id, number, name, version, status, user, queue, created, started, "
            "updated, finished, archived, attempt, agent, heartbeat, status_message, "
            "progress, exit_code"
        )
        for lo in range(1, n + 1, CHUNK):
            runs, params, tags, metrics = _chunk(
                rng, pipeline_id, lo, min(lo + CHUNK, n + 1), n, now
            )
            conn.execute("BEGIN")
            conn.executemany(
                f"INSERT INTO {RUN.name} ({run_cols}) VALUES ({','.join('?' * 19)})", runs
            )
            conn.executemany(
                f"INSERT INTO {PARAM.name} (run_id, key, value, num) VALUES (?,?,?,?)", params
            )
            conn.executemany(f"INSERT INTO {TAG.name} (run_id, tag) VALUES (?,?)", tags)
            conn.executemany(
                f"INSERT INTO {METRIC.name} (run_id, title, series, last, min, max, last_step, "
                "updated) VALUES (?,?,?,?,?,?,?,?)",
                metrics,
            )
            conn.execute("COMMIT")
        for _name, sql in indexes:
            conn.execute(sql)
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


Rows = list[tuple[Any, ...]]


def _chunk(
    rng: random.Random, pipeline_id: int | None, lo: int, hi: int, n: int, now: float
) -> tuple[Rows, Rows, Rows, Rows]:
    """Runs lo..hi-1 (of n) with their parameters, tags and metric summaries."""
    finished_states = rng.choices(("completed", "failed", "aborted"), (75, 15, 10), k=hi - lo)
    users = rng.choices(USERS, k=hi - lo)
    tag_counts = rng.choices((0, 1, 1, 2, 3), k=hi - lo)
    runs: Rows = []
    params: Rows = []
    tags: Rows = []
    metrics: Rows = []
    for i, number in enumerate(range(lo, hi)):
        from_top = n - number
        if from_top < PENDING:
            status = "pending"
        elif from_top < PENDING + RUNNING:
            status = "running"
        else:
            status = finished_states[i]
        run = _run(rng, pipeline_id, number, n, now, status, users[i])
        runs.append(run)
        lr = float(f"{0.01 * rng.choice((0.1, 0.3, 0.5, 1, 2, 3)):.6g}")
        epochs = rng.choice((10, 10, 20, 30))
        batch = rng.choice((64, 128, 256))
        params.append((number, "args/batch_size", str(batch), float(batch)))
        params.append((number, "args/epochs", str(epochs), float(epochs)))
        params.append((number, "args/lr", str(lr), lr))
        tags.extend((number, tag) for tag in sorted(rng.sample(TAGS, tag_counts[i])))
        started, updated, progress = run[9], run[10], run[17]
        if started is not None:
            metrics.extend(_metrics(rng, number, epochs, progress, updated))
    return runs, params, tags, metrics


def _run(
    rng: random.Random,
    pipeline_id: int | None,
    number: int,
    n: int,
    now: float,
    status: str,
    user: str,
) -> tuple[Any, ...]:
    """A run row, in the column order of _build's INSERT."""
    uniform = rng.uniform
    from_top = n - number
    created = now - from_top * SPACING - uniform(0, 5)
    started = finished = progress = exit_code = agent = heartbeat = None
    message = ""
    length = uniform(600, 5400)
    if status == "pending":
        updated = created
    elif status == "running":
        started = now - uniform(60, 1800)
        progress = round(min((now - started) / length, 0.95), 2)
        updated = heartbeat = now - uniform(1, 20)
        agent = AGENTS[number % len(AGENTS)]
    else:
        started = created + uniform(5, 120)
        finished = started + length * (1.0 if status == "completed" else uniform(0.2, 0.8))
        updated = finished
        agent = AGENTS[number % len(AGENTS)]
        exit_code = {"completed": 0, "failed": 1}.get(status)
        message = {
            "failed": "step 'train' exited with code 1",
            "aborted": f"aborted by {user}",
        }.get(status, "")
    version = "1.2.0" if from_top < n // 3 else ("1.1.0" if from_top < 2 * n // 3 else "1.0.3")
    queue = "default" if number % 4 else "gpu-large"
    name = f"{PIPELINE} #{number}"
    return (
        *(number, pipeline_id, number, name, version, status, user, queue, created, started),
        *(updated, finished, 0, 1, agent, heartbeat, message, progress, exit_code),
    )


def _metrics(
    rng: random.Random, number: int, epochs: int, progress: float | None, updated: float
) -> Rows:
    """The 3 metric summaries of a started run: losses fall and accuracy rises with progress."""
    uniform, random_ = rng.uniform, rng.random
    quality = uniform(0.7, 1.3)
    done = 1.0 if progress is None else progress
    step = int(epochs * 100 * done)
    out: Rows = []
    for title, series in METRICS:
        if title == "loss":
            last = quality * (0.25 + 2.0 * math.exp(-4 * done)) + uniform(-0.03, 0.03)
            last += 0.05 if series == "val" else 0.0
            low, high = last - 0.02 * random_(), 2.3 + 0.2 * random_()
        else:
            last = min(0.99, 0.97 / quality * (1 - math.exp(-3 * done)))
            low, high = 0.05 * random_(), last + 0.01 * random_()
        out.append((number, title, series, last, low, high, step, updated))
    return out


def running_ids(path: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM run WHERE status = 'running'")]


def agent_writes(path: Path, ids: list[int]) -> None:
    """What agents write for the Running runs between two refreshes: progress, updated,
    and each metric's summary (a new last value, min, step)."""
    t = time.time()
    marks = ",".join("?" * len(ids))
    with contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            f"UPDATE run SET progress = min(coalesce(progress, 0) + 0.01, 0.99), updated = ?, "
            f"heartbeat = ? WHERE id IN ({marks})",
            (t, t, *ids),
        )
        conn.execute(
            f"UPDATE metric SET last = last * 0.997, min = min(min, last * 0.997), "
            f"last_step = coalesce(last_step, 0) + 10, updated = ? WHERE run_id IN ({marks})",
            (t, *ids),
        )
        conn.execute("COMMIT")


# --- the app in a pseudo-terminal ----------------------------------------------------


@dataclass
class Launch:
    first_frame: float  # seconds from fork until the rows are drawn: the last visible
    # run's number uncut on screen ("#999968" at 120x36)
    status: float  # ... until the status line's "of N runs" (drawn with the rows or before)
    idle_bytes: int | None = None
    hwm_kib: int | None = None


def launch(db: Path, n: int, config_file: Path, idle: float | None) -> Launch:
    """Start the app in a pty (bench/term.py); time its first frame on a model of the
    screen, since the app writes only the cells that change (a number may reach the
    terminal in pieces); with `idle`, count what it writes over `idle` seconds after
    that and take its peak RSS; quit it with "q"."""
    from term import runs_tui_argv, spawn, uncut  # term imports this module

    term = spawn(runs_tui_argv(db), COLS, ROWS, config_file.parent)
    try:
        status_at = term.wait_for(re.compile(re.escape(f"of {n:,} runs")))
        row_at = term.wait_for(uncut(n - LAST_VISIBLE))  # the 33rd row of 120x36
        result = Launch(row_at, status_at)
        if idle is not None:
            term.settle(0.25, 2)  # the first frame's tail
            result.idle_bytes = term.count(idle)
            result.hwm_kib = _vm_hwm(term.pid)
        term.quit()
    finally:
        term.close()
    return result


def _vm_hwm(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


# --- the app in-process --------------------------------------------------------------


@dataclass
class Probe:
    """Time spent in the worker's queries and in RunsTable.apply since the last reset."""

    window: float = 0.0  # query.window(): the window's ids, then its rows
    count: float = 0.0  # counts.count(): the total in the status line
    apply: float = 0.0
    applied: int = 0

    def reset(self) -> None:
        self.window = self.count = self.apply = 0.0
        self.applied = 0


@dataclass
class Timing:
    wall: float
    cpu: float
    window: float
    count: float
    apply: float


@dataclass
class InProcess:
    refresh: list[Timing] = field(default_factory=list)
    sort: list[Timing] = field(default_factory=list)
    pagedown: list[Timing] = field(default_factory=list)
    profile: str = ""


@contextlib.contextmanager
def probed() -> Iterator[Probe]:
    """Wrap the SQL source's window(), window_after() (pages below the top: keyset) and
    count() (all run in the worker thread; the screen counts through a CountCache)."""
    probe = Probe()
    originals = (SqlSource.window, SqlSource.count, SqlSource.window_after)

    def timed(fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(probe, part, getattr(probe, part) + time.perf_counter() - t)

        return wrapper

    SqlSource.window = timed(originals[0], "window")  # type: ignore[method-assign]
    SqlSource.count = timed(originals[1], "count")  # type: ignore[method-assign]
    SqlSource.window_after = timed(originals[2], "window")  # type: ignore[method-assign]
    try:
        yield probe
    finally:
        SqlSource.window, SqlSource.count, SqlSource.window_after = originals  # type: ignore[method-assign]


class Driver:
    """The app on the real store under a Pilot, with the probe's wrappers in place."""

    def __init__(self, pilot: Pilot[None], probe: Probe, profiler: cProfile.Profile | None):
        self.pilot, self.probe, self.profiler = pilot, probe, profiler
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen), screen
        self.screen = screen
        self.table = screen.table
        # A fresh load is applied whole (apply), a refresh or a page spliced in (splice).
        for name in ("apply", "splice"):
            setattr(self.table, name, self._timed(getattr(self.table, name)))

    def _timed(self, original: Callable[..., bool]) -> Callable[..., bool]:
        probe = self.probe

        def applied(*args: Any) -> bool:
            t = time.perf_counter()
            try:
                return original(*args)
            finally:
                probe.apply += time.perf_counter() - t
                probe.applied += 1

        return applied

    async def settle(self) -> None:
        """Wait for the workers, then until the loaded window has been applied."""
        await self.pilot.app.workers.wait_for_complete()
        await self.pilot.pause()
        for _ in range(100):
            if self.probe.applied:
                return
            await self.pilot.pause()
        raise RuntimeError("the window was not applied")

    async def timed(self, start: Callable[[], Awaitable[bool]]) -> Timing | None:
        """Time `start` and the load it caused; None when it caused none."""
        gc.collect()  # not in the middle of the next one, by chance
        self.probe.reset()
        if self.profiler:
            self.profiler.enable()
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            if not await start():
                return None
            await self.settle()
            return Timing(
                time.perf_counter() - wall,
                time.process_time() - cpu,
                self.probe.window,
                self.probe.count,
                self.probe.apply,
            )
        finally:
            if self.profiler:
                self.profiler.disable()

    async def reload(self) -> bool:
        self.screen.reload()
        return True

    async def show(self, query: RunQuery) -> None:
        """Back to `query`'s first window, cursor on top (not timed)."""
        self.table.move_cursor(row=0, column=1, animate=False)
        await self.pilot.pause()
        self.screen.run_query, self.screen.limit = query, PAGE
        self.screen.shown_query = None  # a fresh load, not a refresh of what is shown
        self.probe.reset()
        self.screen.reload()
        await self.settle()

    async def pagedown(self) -> Timing:
        """Press pagedown from the top until a press loads more rows; that press, timed."""
        for _ in range(100):
            before = len(self.table.order)

            async def press() -> bool:
                await self.pilot.press("pagedown")
                loading = self.screen._loading("more")
                return loading or len(self.table.order) > before  # noqa: B023

            timing = await self.timed(press)
            if timing is not None:
                assert len(self.table.order) == 2 * PAGE, len(self.table.order)
                return timing
        raise RuntimeError("pagedown never loaded more rows")


async def in_process(db: Path, n: int, reps: int, profile: bool) -> InProcess:
    """Refresh, sort and page-down loads, each `reps` times after one warm-up."""
    out = InProcess()
    store = open_store(str(db))
    ids = running_ids(db)
    profiler = cProfile.Profile() if profile else None
    try:
        with probed() as probe:
            app = RunsApp(
                SqlSource(store), pipeline=PIPELINE, settings=config.load(), clock=time.time
            )
            async with app.run_test(size=(COLS, ROWS)) as pilot:
                screen = app.screen
                assert isinstance(screen, MainScreen), screen
                for _ in range(600):
                    await pilot.app.workers.wait_for_complete()
                    await pilot.pause()
                    if screen.total == n and len(screen.table.order) == PAGE:
                        break
                else:
                    raise RuntimeError(f"the table did not load: {screen.total} runs")
                screen.paused = True  # only the measured loads run
                assert screen.run_query is not None
                default = screen.run_query
                by_metric = default.with_(sort=(SortKey(SORT_METRIC),))
                driver = Driver(pilot, probe, profiler)
                for rep in range(reps + 1):
                    agent_writes(db, ids)
                    timing = await driver.timed(driver.reload)
                    if rep and timing:
                        out.refresh.append(timing)
                for rep in range(reps + 1):
                    await driver.show(default)
                    screen.run_query = by_metric
                    timing = await driver.timed(driver.reload)
                    if rep and timing:
                        out.sort.append(timing)
                for rep in range(reps + 1):
                    await driver.show(default)
                    timing = await driver.pagedown()
                    if rep:
                        out.pagedown.append(timing)
    finally:
        store.dispose()
    if profiler:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        text = stream.getvalue()
        for prefix in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]}:
            text = text.replace(prefix + os.sep, "")
        out.profile = text
    return out


def in_process_child(db: Path, n: int, reps: int, profile: bool) -> InProcess:
    """in_process() in a fresh interpreter: a second app in the same process runs slower
    (what the first one left behind), which would skew the larger sizes."""
    argv = [sys.executable, __file__, "--in-process", str(db), str(n), "--reps", str(reps)]
    done = subprocess.run(
        [*argv, *(["--profile"] if profile else [])], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"in-process bench failed:\n{done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return InProcess(
        **{k: [Timing(**t) for t in v] for k, v in data.items() if k != "profile"},
        profile=data["profile"],
    )


# --- the queries alone ----------------------------------------------------------------


@contextlib.contextmanager
def captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the store runs meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((sql, params))

    event.listen(store.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", before)


def explain(db: Path) -> str:
    """Each call of a table load timed as the app makes it, then each of its SELECTs run
    alone in sqlite3 (all rows fetched), with SQLite's plan."""
    lines: list[str] = []
    store = open_store(str(db))
    try:
        pipeline = next(p for p in lookup.pipelines(store) if p.name == PIPELINE)
        q = RunQuery(pipeline.id, at=time.time())
        top = window_ids(store, q, 0, PAGE)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("lookup.pipelines (startup)", lambda: lookup.pipelines(store)),
            ("count (every load)", lambda: count(store, q)),
            ("window_ids 200, default order", lambda: window_ids(store, q, 0, PAGE)),
            ("load_rows 200", lambda: load_rows(store, top)),
            ("window_ids 400 (page down)", lambda: window_ids(store, q, 0, 2 * PAGE)),
            (
                f"window_ids 200, sort {SORT_METRIC}",
                lambda: window_ids(store, q.with_(sort=(SortKey(SORT_METRIC),)), 0, PAGE),
            ),
        ]
        with contextlib.closing(sqlite3.connect(db)) as conn:
            for label, call in cases:
                call()  # warm the page cache
                with captured(store) as seen:
                    t = time.perf_counter()
                    call()
                    total = time.perf_counter() - t
                lines.append(f"  {label}: {total * 1000:.1f} ms")
                for sql, params in seen:
                    if not sql.lstrip().upper().startswith("SELECT"):
                        continue
                    t = time.perf_counter()
                    fetched = len(conn.execute(sql, params).fetchall())
                    secs = time.perf_counter() - t
                    flat = " ".join(sql.split())
                    shown = flat if len(flat) <= 300 else flat[:297] + "..."
                    lines.append(f"    {secs * 1000:8.1f} ms  {fetched:>4} rows  {shown}")
                    plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                    lines.extend(f"{'':26}| {row[3]}" for row in plan)
    finally:
        store.dispose()
    return "\n".join(lines)


# --- the report -----------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        ram = f"{kib / 2**20:.1f} GiB"
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram} RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, Textual {metadata.version('textual')}, SQLAlchemy "
        f"{metadata.version('sqlalchemy')}; {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def bytecode(home: Path, cached: bool) -> str:
    """Set the programs' environment (inherited by their subprocesses) for a bytecode cache
    in `home`, as an installed program has (pip compiles on install), or none, as this
    sandbox has (PYTHONDONTWRITEBYTECODE=1: the editable runs_tui compiled at each start);
    say which. The cache is filled by the benches' untimed first launches."""
    if not cached:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        os.environ.pop("PYTHONPYCACHEPREFIX", None)
        return "no cache (PYTHONDONTWRITEBYTECODE=1; runs-tui compiled at each start)"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return "cached, as installed (PYTHONPYCACHEPREFIX, filled by the untimed launches)"


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(sizes: list[int], rows: list[tuple[str, list[float], bool]]) -> str:
    head = ["figure", *(f"{n:,} runs" for n in sizes)]
    if len(sizes) > 1:
        head += [f"{sizes[-1]:,}/{sizes[0]:,}", f"goal <= {GOAL}x"]
    out = [head]
    for label, values, goal in rows:
        cells = [label, *(_fmt(v) for v in values)]
        if len(sizes) > 1:
            ratio = values[-1] / values[0] if values[0] else float("nan")
            verdict = (
                ("met" if ratio <= GOAL else "MISSED") if goal and not math.isnan(ratio) else "-"
            )
            cells += [f"{ratio:.2f}x" if not math.isnan(ratio) else "-", verdict]
        out.append(cells)
    widths = [max(len(r[i]) for r in out) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in out
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def measure(
    sizes: list[int], dbs: dict[int, Path], args: argparse.Namespace, config_file: Path
) -> dict[int, dict[str, float]]:
    """Every figure of every size. The sizes take turns (launch by launch, round by round)
    so that a change in the machine's load meanwhile touches all of them alike."""
    launches: dict[int, list[Launch]] = {n: [] for n in sizes}
    for i in range(args.launches):
        for n in sizes:
            launches[n].append(launch(dbs[n], n, config_file, args.idle if i == 0 else None))
        print(
            f"  launch {i + 1}/{args.launches}: first frame "
            + ", ".join(f"{launches[n][-1].first_frame:.2f}" for n in sizes)
            + " s",
            flush=True,
        )
    rounds = max(1, min(args.rounds, args.reps))
    loads = {n: InProcess() for n in sizes}
    for r in range(rounds):
        reps = args.reps // rounds + (1 if r < args.reps % rounds else 0)
        for n in sizes:
            got = in_process_child(dbs[n], n, reps, profile=False)
            for kind in KINDS:
                getattr(loads[n], kind).extend(getattr(got, kind))
        print(f"  in-process round {r + 1}/{rounds} done", flush=True)
    figures: dict[int, dict[str, float]] = {}
    for n in sizes:
        first = launches[n][0]
        f = figures[n] = {
            "first": med([x.first_frame for x in launches[n]]),
            "idle": float(first.idle_bytes or 0),
            "rss": (first.hwm_kib or 0) / 1024,
        }
        print(
            f"\n{n:,} runs\n  pty: first frame "
            + ", ".join(f"{x.first_frame:.2f}" for x in launches[n])
            + " s (status line: "
            + ", ".join(f"{x.status:.2f}" for x in launches[n])
            + f" s); idle {first.idle_bytes:,} bytes over "
            f"{args.idle:g} s; peak RSS (VmHWM) {f['rss']:.0f} MiB"
        )
        for kind in KINDS:
            timings: list[Timing] = getattr(loads[n], kind)
            for part in ("wall", "cpu", "window", "count", "apply"):
                f[f"{kind}.{part}"] = med([getattr(t, part) * 1000 for t in timings])
            print(
                f"  {kind}: wall "
                + ", ".join(f"{t.wall * 1000:.0f}" for t in timings)
                + " ms; cpu "
                + ", ".join(f"{t.cpu * 1000:.0f}" for t in timings)
                + f" ms; median window() {f[kind + '.window']:.1f} ms, count() "
                f"{f[kind + '.count']:.1f} ms, apply {f[kind + '.apply']:.1f} ms"
            )
    return figures


def summary(sizes: list[int], figures: dict[int, dict[str, float]], idle: float) -> str:
    def row(label: str, key: str, goal: bool = True) -> tuple[str, list[float], bool]:
        return (label, [figures[n][key] for n in sizes], goal)

    rows = [
        row("first frame: rows drawn (s)", "first"),
        row(f"bytes written over {idle:g} idle s", "idle"),
        row("peak RSS (MiB)", "rss"),
    ]
    for kind, name in KINDS.items():
        rows.append(row(f"{name}: wall (ms)", f"{kind}.wall"))
        rows.append(row(f"{name}: CPU (ms)", f"{kind}.cpu"))
    for kind, name in KINDS.items():
        rows.append(row(f"  {name} wall, of which window() (ms)", f"{kind}.window", False))
        rows.append(row(f"  {name} wall, of which count() (ms)", f"{kind}.count", False))
        rows.append(row(f"  {name} wall, of which apply in UI (ms)", f"{kind}.apply", False))
    return table(sizes, rows)


SCENARIOS = (  # (script, its arguments, what it shows and the target)
    (
        "ticks.py",
        [],
        "a refresh tick after scrolling to row 10,000 / 100,000: costs what is"
        " on screen (the same at row 100,000 as at the top)",
    ),
    (
        "marks.py",
        [],
        "select All at 100k / 1M, then 10 ticks: the UI never blocked, a tick"
        " costs what changed (before: every mark counted again)",
    ),
    (
        "search.py",
        ["--no-before"],
        "search count and first window, also in a metric-sorted view, at 1M: <= 100 ms each",
    ),
    ("export.py", [], "`ls --format csv` of 100k runs: <= 3x the database client's floor"),
    (
        "bytes.py",
        [],
        "bytes per 10 s with Running rows on screen: <= htop's (`top -d 2`) rate;"
        " nothing changing: 0 B; against a bare Textual app",
    ),
    (
        "startup.py",
        [],
        "start -> first frame -> exit: <= 1.3x the bare app with a 1k-row"
        " DataTable; --help <= 1.5x `import textual`",
    ),
    (
        "plot.py",
        [],
        "plot of 3 runs x 100,000 points, thinned to the chart's width: < 100 ms CPU"
        " after the data is loaded (issue 14)",
    ),
    (
        "compare.py",
        [],
        "issue 14: compare (d) of 8 runs with 200 parameters and 50 metrics each:"
        " < 100 ms of CPU after the data is loaded (build the model, draw the table)",
    ),
)


def scenarios(pg: str | None) -> None:
    """Issue 12's scenarios, each its own script (bench/<name>.py, documented there),
    run in turn; each prints its figures with their target."""
    for script, extra, what in SCENARIOS:
        print(f"\n=== {script}: {what}", flush=True)
        argv = [sys.executable, str(Path(__file__).with_name(script)), *extra]
        if script in ("ticks.py", "marks.py") and pg:
            argv += ["--pg", pg]
        if script in ("search.py", "export.py"):
            argv += ["--pg", pg] if pg else ["--no-pg"]
        done = subprocess.run(argv, check=False)
        if done.returncode:
            print(f"  {script} failed (exit {done.returncode})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-table"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the databases again")
    parser.add_argument("--reps", type=int, default=9, help="in-process repetitions (median)")
    parser.add_argument("--rounds", type=int, default=3, help="in-process runs per size")
    parser.add_argument("--launches", type=int, default=5, help="app launches per size (median)")
    parser.add_argument("--idle", type=float, default=10.0, help="idle window in seconds")
    parser.add_argument("--explain", action="store_true", help="time each query, with its plan")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the UI thread at the top size"
    )
    parser.add_argument(
        "--scenarios", action="store_true", help="then issue 12's scenarios, each with its target"
    )
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL for --scenarios")
    parser.add_argument("--in-process", nargs=2, metavar=("DB", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:  # the child of in_process_child(): one size, JSON on stdout
        db, n = Path(args.in_process[0]), int(args.in_process[1])
        os.environ.setdefault("RUNS_TUI_CONFIG", str(Path(tempfile.mkdtemp()) / "config.toml"))
        result = asyncio.run(in_process(db, n, args.reps, args.profile))
        print(json.dumps(dataclasses.asdict(result)))
        return 0
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    args.data.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="runs-tui-bench-"))
    os.environ["RUNS_TUI_CONFIG"] = str(home / "config.toml")
    print(f"machine: {machine()}", flush=True)
    print(f"runs_tui: {Path(runs_tui.__file__).parent}", flush=True)
    load_at_start = _load()
    started = time.perf_counter()
    print("databases:", flush=True)
    dbs = {n: ensure_db(args.data, n, args.rebuild) for n in sizes}
    print("measuring:", flush=True)
    figures = measure(sizes, dbs, args, home / "config.toml")
    print(f"\n{summary(sizes, figures, args.idle)}")
    rounds = max(1, min(args.rounds, args.reps))
    print(
        f"\nmedians: first frame of {args.launches} launches, in-process figures of {args.reps} "
        f"repetitions in {rounds} rounds; total bench time "
        f"{time.perf_counter() - started:.0f} s; load average {load_at_start} at the start, "
        f"{_load()} at the end (other processes share the CPUs)"
    )
    for n in sizes if args.explain else ():
        print(f"\nqueries alone at {n:,} runs (warm cache):\n{explain(dbs[n])}")
    if args.scenarios:
        scenarios(args.pg)
    if args.profile:  # a separate pass: cProfile slows the UI thread down
        top = sizes[-1]
        profile = in_process_child(dbs[top], top, 1, profile=True).profile
        print(
            f"\nUI thread profile of the in-process loads (1 of each) at {top:,} runs:\n{profile}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
