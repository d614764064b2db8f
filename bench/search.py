"""Search benchmark: `/` search at 1,000,000 runs, before and after the search index.

Databases (built once, kept in --data and on the PostgreSQL server for the next run):

- SQLite "before": bench/table.py's database of --runs runs (its `ensure_db` builder, the
  same data), made with the search index left out; "after": a copy of it with
  `search_index.install()` run on it, as the 0002 migration runs it on an existing store
  (the time it takes is printed).
- PostgreSQL (with --pg ADMIN_URL, default $RUNS_TUI_TEST_PG_URL): the same rows (bench/
  table.py's `_chunk` with its seed) COPYed into `runs_tui_bench_search_<n>` without the
  index, and `..._<n>_indexed`, a copy of it (CREATE DATABASE ... TEMPLATE) with the
  index installed.

For each term, each database: the matching runs; the first count, `count_at_most()` up to
`loading.BOUND` + 1 (what the status line shows first: "1,000+ runs", or the count below
it), and the exact `count()` (which follows it); the first window, `window()` of 200
rows with their tags, parameters and metrics, in the default order and sorted by
m:loss/val:last (the table's first load).
Median of --reps calls after one warm-up (before the index: one call each; they take
seconds). The target of every figure is 100 ms.
--explain prints each query's plan on the indexed databases (SQLite EXPLAIN QUERY PLAN;
PostgreSQL EXPLAIN ANALYZE).

What the index costs a writer: on a fresh store (one pipeline, its 3 parameters), the
milliseconds of one `ops.new_run` (3 parameters and 2 tags) and of `ops.tag` adding a tag
to 1,000 runs, with the index's triggers and without (median of 300 runs, of 3 tags).

Usage: python bench/search.py [--runs 1000000] [--data DIR] [--pg ADMIN_URL | --no-pg]
                              [--reps 5] [--no-before] [--rebuild] [--explain]
The first run builds: about 1 minute (SQLite) and 4 (PostgreSQL) at 1,000,000 runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from table import PIPELINE, PIPELINE_TOML, _chunk, _load, captured, ensure_db, machine

from runs_tui.core import lookup, ops, search_index
from runs_tui.core.counts import count, count_at_most
from runs_tui.core.db import open_store
from runs_tui.core.query import window
from runs_tui.core.records import RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.ui.loading import BOUND  # where the status line's first count stops

TARGET_MS = 100.0
PAGE = 200
SORT = "m:loss/val:last"
TERMS = (  # (label, needle)
    ("common: a user, 1 run in 12", "alice"),
    ("every run: the pipeline's name", "resnet"),
    ("rare: 11 runs' names", "resnet #12345"),
    ("run number", "#123457"),
    ("none", "zebra"),
    ("2 characters (no trigram)", "fp"),
    ("a tag", "lr-search"),
    ("a parameter value", "0.003"),
)
TABLES = ("run", "runparam", "runtag", "metric")
RUN_COLS = (
    'id, pipeline_id, number, name, version, status, "user", queue, created, started, '
    "updated, finished, archived, attempt, agent, heartbeat, status_message, progress, "
    "exit_code"
)


@contextlib.contextmanager
def no_search_index() -> Iterator[None]:
    """Stores created meanwhile are migrated without the search index (0002 recorded,
    nothing made): as today's release leaves them, for "before" and for a fast bulk load."""
    with mock.patch.object(search_index, "install", return_value=search_index.Kind.NONE):
        yield


# --- SQLite ----------------------------------------------------------------------------


def sqlite_dbs(data: Path, n: int, rebuild: bool) -> tuple[str, str]:
    """The "before" and "after" SQLite files (as store URLs)."""
    data.mkdir(parents=True, exist_ok=True)
    with no_search_index():
        before = ensure_db(data, n, rebuild)
    after = before.with_name(f"{before.stem}-indexed.db")
    if rebuild or not after.exists() or after.stat().st_mtime < before.stat().st_mtime:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{after}{suffix}").unlink(missing_ok=True)
        building = after.with_name(after.name + ".building")
        with (
            contextlib.closing(sqlite3.connect(before)) as src,
            contextlib.closing(sqlite3.connect(building)) as dst,
        ):
            src.backup(dst)
        engine = create_engine(f"sqlite:///{building}")
        t = time.perf_counter()
        with engine.begin() as connection:
            made = search_index.install(connection)
        engine.dispose()
        print(f"  install() on {n:,} runs (SQLite): {time.perf_counter() - t:.1f} s, {made}")
        building.rename(after)
    return str(before), str(after)


# --- PostgreSQL ------------------------------------------------------------------------


def pg_dbs(admin: str, n: int, rebuild: bool) -> tuple[str, str]:
    """The "before" and "after" PostgreSQL databases (as store URLs)."""
    name = f"runs_tui_bench_search_{n}"
    before, after = (
        make_url(admin).set(database=db).render_as_string(hide_password=False)
        for db in (name, f"{name}_indexed")
    )
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        built = False
        if rebuild or _runs(before) != n:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            t = time.perf_counter()
            _build_pg(before, n)
            print(f"  built {name}: {time.perf_counter() - t:.1f} s", flush=True)
            built = True
        if built or _runs(after) != n:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_indexed" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}_indexed" TEMPLATE "{name}"'))
            indexed = create_engine(after)
            t = time.perf_counter()
            with indexed.begin() as connection:
                made = search_index.install(connection)
            with indexed.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE runsearch"))
            indexed.dispose()
            secs = time.perf_counter() - t
            print(f"  install() on {n:,} runs (PostgreSQL): {secs:.1f} s, {made}", flush=True)
    finally:
        engine.dispose()
    return before, after


def _runs(url: str) -> int | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM run")).scalar_one())
    except Exception:  # no such database or table: build it
        return None
    finally:
        engine.dispose()


def _build_pg(url: str, n: int) -> None:
    """bench/table.py's rows, COPYed with the secondary indexes dropped and made again."""
    with no_search_index():
        store = open_store(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            toml = Path(tmp) / "bench-pipeline.toml"
            toml.write_text(PIPELINE_TOML)
            pipeline_id = register(store, toml).id
    finally:
        store.dispose()
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(False)
    ) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK checks on the load
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(TABLES),),
        ).fetchall()
        for index, _ in indexes:
            conn.execute(f'DROP INDEX "{index}"')
        rng = random.Random(20251124)
        now = time.time()
        copies = (
            f"COPY run ({RUN_COLS}) FROM STDIN",
            "COPY runparam (run_id, key, value, num) FROM STDIN",
            "COPY runtag (run_id, tag) FROM STDIN",
            "COPY metric (run_id, title, series, last, min, max, last_step, updated) FROM STDIN",
        )
        chunk = 50_000
        for lo in range(1, n + 1, chunk):
            parts = _chunk(rng, pipeline_id, lo, min(lo + chunk, n + 1), n, now)
            with conn.cursor() as cur:
                for sql, rows in zip(copies, parts, strict=True):
                    with cur.copy(sql) as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("SELECT setval(pg_get_serial_sequence('run', 'id'), max(id)) FROM run")
        conn.commit()
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(False), autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")


# --- measuring -------------------------------------------------------------------------


def timed(call: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """Median milliseconds of `reps` calls (after one warm-up when reps > 1), and the
    last result."""
    result = call() if reps > 1 else None
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def measure(url: str, reps: int) -> list[tuple[str, int, list[float]]]:
    """Per term: matches, then milliseconds of count, window, metric-sorted window."""
    store = open_store(url)
    out = []
    try:
        pipeline = next(p for p in lookup.pipelines(store) if p.name == PIPELINE)
        print(f"  {store.display_url}: search index {search_index.kind(store).value}")
        for label, needle in TERMS:
            q = RunQuery(pipeline.id, search=needle, at=time.time())
            sorted_q = q.with_(sort=(SortKey(SORT),))
            figures = []
            matches = 0
            for call in (
                lambda q=q: count_at_most(store, q, BOUND + 1),
                lambda q=q: count(store, q),
                lambda q=q: window(store, q, 0, PAGE),
                lambda q=sorted_q: window(store, q, 0, PAGE),
            ):
                ms, result = timed(call, reps)
                figures.append(ms)
                if isinstance(result, int):
                    matches = result  # the exact count's, measured after the bound
            out.append((f"{label} {needle!r}", matches, figures))
            print(f"    {out[-1][0]}: " + ", ".join(f"{f:.1f}" for f in figures), flush=True)
    finally:
        store.dispose()
    return out


def explain(url: str) -> None:
    """Each statement of a count and a window of each term, with its plan."""
    store = open_store(url)
    try:
        pipeline = next(p for p in lookup.pipelines(store) if p.name == PIPELINE)
        for label, needle in TERMS:
            q = RunQuery(pipeline.id, search=needle, at=time.time())
            for what, call in (
                ("first count", lambda q=q: count_at_most(store, q, BOUND + 1)),
                ("count", lambda q=q: count(store, q)),
                ("window", lambda q=q: window(store, q, 0, PAGE)),
                (f"window by {SORT}", lambda q=q: window(store, q.with_(sort=(SortKey(SORT),)))),
            ):
                with captured(store) as seen:
                    call()
                print(f"\n  {label} {needle!r}, {what}:")
                for sql, params in seen:
                    searching = "runsearch" in sql and "sqlite_master" not in sql
                    if not searching or "to_regclass" in sql:
                        continue  # BEGIN, loading rows, what the database has
                    print("    " + " ".join(sql.split())[:400])
                    with store.engine.connect() as conn:
                        if store.is_sqlite:
                            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
                            lines = [f"| {row[3]}" for row in plan]
                        else:
                            plan = conn.exec_driver_sql(
                                f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params
                            )
                            lines = [row[0] for row in plan]
                    print("\n".join(f"      {line}" for line in lines))
    finally:
        store.dispose()


WRITES = 200  # runs made, then tagged at once


def write_cost(url: str) -> list[float]:
    """ms of one new_run (median of WRITES) and of tagging WRITES runs at once (median of
    3): on a fresh store at `url` with the index, then on one without (uninstalled)."""
    out = []
    for indexed in (True, False):
        store = open_store(url)
        try:
            with store.write() as s:
                if not indexed:
                    search_index.uninstall(s.connection())
            with tempfile.TemporaryDirectory() as tmp:
                toml = Path(tmp) / "bench-pipeline.toml"
                toml.write_text(PIPELINE_TOML.replace(PIPELINE, f"{PIPELINE}-{indexed}"))
                name = register(store, toml).name
            made: list[int] = []
            times: list[float] = []
            for _ in range(WRITES):
                t = time.perf_counter()
                made.append(int(ops.new_run(store, name, {"lr": "0.3"}, tags=["a", "b"]).id))
                times.append((time.perf_counter() - t) * 1000)
            out.append(statistics.median(times))
            tagged = []
            for i in range(3):
                t = time.perf_counter()
                ops.tag(store, made, add=[f"t{i}"])
                tagged.append((time.perf_counter() - t) * 1000)
            out.append(statistics.median(tagged))
        finally:
            store.dispose()
    return out


@contextlib.contextmanager
def fresh_urls(admin: str | None) -> Iterator[list[tuple[str, str]]]:
    """(backend, URL) of an empty SQLite file and, with `admin`, an empty PostgreSQL
    database; both removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        urls = [("SQLite", str(Path(tmp) / "writes.db"))]
        if admin is None:
            yield urls
            return
        name = f"runs_tui_bench_search_writes_{os.getpid()}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(admin).set(database=name).render_as_string(hide_password=False)
            yield [*urls, ("PostgreSQL", url)]
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()


def report(
    title: str,
    before: list[tuple[str, int, list[float]]] | None,
    after: list[tuple[str, int, list[float]]],
) -> str:
    heads = ["term", "runs", f"first count ({BOUND:,}+)", "exact count", "window", f"by {SORT}"]
    rows = [heads]
    for i, (label, matches, figures) in enumerate(after):
        cells = [label, f"{matches:,}"]
        for j, ms in enumerate(figures):
            mark = "ok" if ms <= TARGET_MS else "MISSED"
            was = f" (was {before[i][2][j]:,.0f})" if before else ""
            cells.append(f"{ms:,.1f} {mark}{was}")
        rows.append(cells)
    widths = [max(len(r[k]) for r in rows) for k in range(len(heads))]
    lines = [
        title,
        f"  ms, median; target <= {TARGET_MS:.0f} ms each"
        + ("; (was: before the index)" if before else ""),
    ]
    for r in rows:
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if k == 0 else c.rjust(w)
                for k, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def database_args(parser: argparse.ArgumentParser, reps: int) -> None:
    """The options that pick the databases and the repetitions (bench/search_app.py too)."""
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-search"
    )
    parser.add_argument("--pg", default=os.environ.get("RUNS_TUI_TEST_PG_URL"))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--reps", type=int, default=reps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_args(parser, reps=5)
    parser.add_argument("--no-before", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    print(machine())
    print(f"load average before: {_load()}")
    backends = [("SQLite", sqlite_dbs(args.data, args.runs, args.rebuild))]
    if args.pg and not args.no_pg:
        backends.append(("PostgreSQL", pg_dbs(args.pg, args.runs, args.rebuild)))
    reports = []
    for name, (before_url, after_url) in backends:
        before = None if args.no_before else measure(before_url, 1)
        after = measure(after_url, args.reps)
        reports.append(report(f"{name}, {args.runs:,} runs, search index", before, after))
        if args.explain:
            explain(after_url)
    pg = args.pg if args.pg and not args.no_pg else None
    with fresh_urls(pg) as urls:
        for name, url in urls:
            with_index, by_tag, without, by_tag_without = write_cost(url)
            reports.append(
                f"{name}, writes: new_run {with_index:.1f} ms with the index "
                f"(without: {without:.1f}); tagging {WRITES:,} runs {by_tag:,.0f} ms "
                f"(without: {by_tag_without:,.0f})"
            )
    print()
    print("\n\n".join(reports))
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
