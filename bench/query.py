"""Query benchmark: the table's queries on one pipeline of a million runs, on SQLite.

Builds (once) a SQLite database with one pipeline of N runs: statuses, users, queues,
0-3 tags per run, three metric summaries per run (loss/train, loss/val, accuracy/val;
no points) and three parameters (args/lr numeric, args/epochs integer, args/optimizer
text). The schema is the real one (`open_store`); the rows go in with raw
`executemany` in large transactions, the secondary indexes dropped during the load and
created again after it. A database that exists with the right number of runs is reused.

Then it times, through `runs_tui.core.query` (best of --repeat, milliseconds):

  a  first window of 200, sorted by m:loss/val:last asc
  b  first window of 200, default sort (newest first)
  c  first window of 200 of a filtered set (status failed/aborted, 1e-3 <= lr <= 1e-2,
     tag ANY of sweep/best), sorted by m:loss/val:last asc
  d  count of the filtered set
  e  count of all (active) runs
  f  ids of the filtered set
  g  a window at offset 500,000, default sort
  h  a window at offset 500,000, sorted by m:loss/val:last asc
  i  count of a search that matches a user ("alice", 4% of the runs)
  j  first window of a search that matches one run ("12345"), sorted by m:loss/val:last

The app never runs ANALYZE, so by default the timings are made without planner
statistics (any sqlite_stat1 is dropped first); --analyze times them with statistics.
--explain prints each SELECT the API sends, with SQLite's plan for it.

Usage: python bench/query.py [PATH] [--runs N] [--repeat K] [--rebuild] [--explain] [--analyze]
PATH defaults to query-bench-<N>.db in the system temp folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from runs_tui.core import counts, query
from runs_tui.core.db import Store, open_store
from runs_tui.core.ops import param_row
from runs_tui.core.records import RangeFilter, RunQuery, SortKey, TagFilter, ValueFilter

T0 = 1_733_000_000.0  # the first run's creation time; a run every 30 s after it
STEP = 30.0
CHUNK = 50_000

STATUSES = ("completed", "failed", "aborted", "running", "pending")
STATUS_WEIGHTS = (78, 10, 8, 2, 2)
USERS = (*(f"user{i:02d}" for i in range(20)), "alice", "bob", "chen", "dana")
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0")
QUEUES = ("default", "gpu", "gpu-large", "cpu")
TAGS = (
    "baseline",
    "sweep",
    "prod",
    "debug",
    "resnet",
    "bert",
    "lr-search",
    "ablation",
    "best",
    "bad-data",
    "v2",
    "a100",
)
TAG_WEIGHTS = (10, 30, 5, 8, 12, 12, 15, 6, 2, 3, 8, 10)
LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


def marker(runs: int) -> str:
    return f"query-bench {runs} runs v1"


def existing_ok(path: Path, runs: int) -> bool:
    if not path.exists():
        return False
    try:
        con = sqlite3.connect(path)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'bench'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == marker(runs)


def _param(run_id: int, key: str, value: Any) -> tuple[int, str, str, float | None]:
    """The row ops.param_row() makes, without building a model per row."""
    num = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return (run_id, key, str(value), num)


def _rows(runs: int, seed: int) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
    """Chunks of (runs, tags, metrics, params) rows."""
    rng = random.Random(seed)
    choices, random_, uniform, randint = rng.choices, rng.random, rng.uniform, rng.randint
    for start in range(1, runs + 1, CHUNK):
        run_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        metric_rows: list[tuple[Any, ...]] = []
        param_rows: list[tuple[Any, ...]] = []
        stop = min(start + CHUNK, runs + 1)
        statuses = choices(STATUSES, STATUS_WEIGHTS, k=stop - start)
        for run_id, drawn in zip(range(start, stop), statuses, strict=True):
            status = drawn
            if run_id > runs - 50:  # the newest runs are the live ones
                status = "running" if run_id % 3 else "pending"
            created = T0 + run_id * STEP
            started = None if status == "pending" else created + uniform(1, 600)
            finished = None
            if status in ("completed", "failed", "aborted"):
                assert started is not None
                finished = started + uniform(60, 36_000)
            updated = finished or started or created
            archived = random_() < 0.05
            run_rows.append(
                (
                    run_id,
                    1,
                    run_id,
                    "",
                    choices(VERSIONS)[0],
                    status,
                    choices(USERS)[0],
                    choices(QUEUES)[0],
                    created,
                    started,
                    updated,
                    finished,
                    archived,
                    1,
                    None,
                    None,
                    "",
                    1.0 if status == "completed" else None,
                    0 if status == "completed" else None,
                )
            )
            for tag in set(choices(TAGS, TAG_WEIGHTS, k=randint(0, 3))):
                tag_rows.append((run_id, tag))
            lr = choices(LRS)[0]
            epochs = randint(5, 100)
            param_rows.append(_param(run_id, "args/lr", lr))
            param_rows.append(_param(run_id, "args/epochs", epochs))
            param_rows.append(_param(run_id, "args/optimizer", choices(OPTIMIZERS)[0]))
            if status == "pending":
                continue
            scale = 0.5 + random_()
            for title, series, last, low, high in (
                ("loss", "train", scale * 0.2, scale * 0.18, scale * 2.3),
                ("loss", "val", scale * 0.3 + random_() * 0.1, scale * 0.28, scale * 2.4),
                ("accuracy", "val", 1 - scale * 0.3, 0.1, 1 - scale * 0.28),
            ):
                metric_rows.append((run_id, title, series, last, low, high, epochs, updated))
        yield run_rows, tag_rows, metric_rows, param_rows


def build(path: Path, runs: int, seed: int = 7) -> float:
    """Create the database at `path` with `runs` runs; seconds taken."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    store = open_store(str(path))  # the real schema
    store.dispose()
    # the row shape param_row() stores is the one _param() writes
    for value in (0.001, 7, "adam"):
        row = param_row(1, "k", value)
        assert _param(1, "k", value) == (1, "k", row.value, row.num), value
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    con.execute("PRAGMA temp_store=MEMORY")
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('run', 'runtag', 'metric', 'runparam')"
    ).fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO pipeline (id, name, version, queue, path, definition, created, updated)"
        " VALUES (1, 'bench', '2.0.0', 'default', '', '{}', ?, ?)",
        (T0, T0),
    )
    done = 0
    for run_rows, tag_rows, metric_rows, param_rows in _rows(runs, seed):
        con.executemany(
            "INSERT INTO run (id, pipeline_id, number, name, version, status, user, queue,"
            " created, started, updated, finished, archived, attempt, agent, heartbeat,"
            " status_message, progress, exit_code)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            run_rows,
        )
        con.executemany("INSERT INTO runtag (run_id, tag) VALUES (?, ?)", tag_rows)
        con.executemany(
            "INSERT INTO metric (run_id, title, series, last, min, max, last_step, updated)"
            " VALUES (?,?,?,?,?,?,?,?)",
            metric_rows,
        )
        con.executemany(
            "INSERT INTO runparam (run_id, key, value, num) VALUES (?, ?, ?, ?)", param_rows
        )
        done += len(run_rows)
        print(f"\r  {done:,} runs, {time.perf_counter() - t:.0f} s", end="", flush=True)
    print()
    for name, sql in indexes:
        print(f"  index {name}", flush=True)
        con.execute(sql)
    con.execute("INSERT INTO meta (key, value) VALUES ('bench', ?)", (marker(runs),))
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t


def set_statistics(path: Path, analyze: bool) -> None:
    """ANALYZE, or drop its statistics: the app never runs ANALYZE (nor PRAGMA optimize),
    and SQLite's plans for these queries differ with and without sqlite_stat1."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        if analyze:
            con.execute("ANALYZE")
            print("planner statistics: ANALYZE")
        else:
            con.execute("DROP TABLE IF EXISTS sqlite_stat1")
            con.execute("DROP TABLE IF EXISTS sqlite_stat4")
            print("planner statistics: none (as the app leaves a database)")
    finally:
        con.close()


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, result


def explain(store: Store, label: str, fn: Callable[[], Any]) -> None:
    """Run `fn` once, printing each SELECT it sends and SQLite's plan for it."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    con = sqlite3.connect(store.url.removeprefix("sqlite:///"))
    try:
        print(f"\n-- {label}")
        for statement, params in seen:
            print(" ".join(statement.split()), "  --", params)
            for row in con.execute(f"EXPLAIN QUERY PLAN {statement}", params):
                print("   ", row[3])
    finally:
        con.close()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        ram = 0.0
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {time.strftime('%Y-%m-%d')}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("path", nargs="?", help="the database file (built if needed)")
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true", help="build even if the file is fine")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN QUERY PLAN too")
    ap.add_argument(
        "--analyze",
        action="store_true",
        help="time with ANALYZE statistics (default: without, as the app leaves a database)",
    )
    args = ap.parse_args(argv)
    path = Path(args.path or Path(tempfile.gettempdir()) / f"query-bench-{args.runs}.db")

    print(machine())
    if not args.rebuild and existing_ok(path, args.runs):
        print(f"reusing {path} ({args.runs:,} runs, {path.stat().st_size / 2**20:,.0f} MiB)")
    else:
        print(f"building {path} with {args.runs:,} runs")
        seconds = build(path, args.runs)
        size = path.stat().st_size / 2**20
        print(f"built in {seconds:.1f} s ({size:,.0f} MiB)")

    set_statistics(path, args.analyze)
    store = open_store(str(path), create=False)
    at = T0 + (args.runs + 1) * STEP
    by_loss = (SortKey("m:loss/val:last"),)
    base = RunQuery(1, at=at)
    filtered = base.with_(
        filters=(
            ValueFilter("status", frozenset({"failed", "aborted"})),
            RangeFilter("p:args/lr", 1e-3, 1e-2),
        ),
        tags=TagFilter(frozenset({"sweep", "best"}), mode="any"),
        sort=by_loss,
    )
    deep = min(500_000, args.runs // 2)
    by_loss_q = base.with_(sort=by_loss)
    rare = by_loss_q.with_(search="12345")  # matches run #12345 only
    cases: list[tuple[str, str, str, RunQuery, int]] = [
        ("a", "window 200, sort m:loss/val:last", "window", by_loss_q, 0),
        ("b", "window 200, default sort", "window", base, 0),
        ("c", "filtered window 200, sort m:loss/val:last", "window", filtered, 0),
        ("d", "count filtered", "count", filtered, 0),
        ("e", "count all", "count", base, 0),
        ("f", "ids filtered", "ids", filtered, 0),
        ("g", f"window 200 at {deep:,}, default sort", "window", base, deep),
        ("h", f"window 200 at {deep:,}, sort m:loss/val:last", "window", by_loss_q, deep),
        ("i", "count, search 'alice'", "count", base.with_(search="alice"), 0),
        ("j", "window 200, search '12345', sort m:loss/val:last", "window", rare, 0),
    ]
    calls: dict[str, Callable[[RunQuery, int], Any]] = {
        "window": lambda q, offset: query.window(store, q, offset, 200),
        "count": lambda q, _: counts.count(store, q),
        "ids": lambda q, _: query.ids(store, q),
    }
    print(f"\n{'':2} {'query':48} {'best ms':>9}  result")
    for key, label, kind, q, offset in cases:
        ms, result = best_of(args.repeat, lambda: calls[kind](q, offset))  # noqa: B023
        shown = f"{len(result):,} rows" if isinstance(result, list) else f"{result:,}"
        print(f"{key:2} {label:48} {ms:9.1f}  {shown}", flush=True)

    if args.explain:
        # the SQL the API really runs (window_ids for windows: the rows' loading is not
        # the question), with the plan SQLite makes for it
        for key, label, kind, q, offset in cases:
            if kind == "window":
                calls[kind] = lambda q, offset: query.window_ids(store, q, offset, 200)
            explain(store, f"{key}: {label}", lambda: calls[kind](q, offset))  # noqa: B023
    store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
