"""Export benchmark: `runs-tui ls --format csv` at 100,000 runs against the floor, a plain
query of the same columns by the database's own command-line client.

Databases: SQLite, bench/table.py's database of --runs runs (its `ensure_db` builder, kept
in --data, shared with table.py); PostgreSQL (with --pg ADMIN_URL, default
$RUNS_TUI_TEST_PG_URL), the same rows as bench/search.py builds them (its `pg_dbs`, the
indexed database: a store as it is today).

Cases (each the real command, `python -m runs_tui ls ... --format csv > /dev/null`, a
new process each time, so the import is counted):

- default columns, every pipeline (the `pipeline` column is written): `ls --format csv`
- default columns, one pipeline: `ls train-resnet --format csv`
- metric and parameter columns (3 metric summaries of 2 series, 2 parameters)
- the same sorted by m:loss/val:last (missing values last)

Floor: `sqlite3 -csv DB SQL` / `psql -c "COPY (SQL) TO STDOUT CSV"` of the same columns in
the same order (tags joined by the database, times made ISO 8601 by the database), and
what `ls` writes after them for every run (its header says: `reason`).
Median wall time of --reps after one warm-up each, ls and floor taking turns, with the
CPU time of the process (user + system). Target: each export within 3x its floor.

runs-tui runs with a bytecode cache, as an installed program does (pip compiles on
install): PYTHONPYCACHEPREFIX in a temp folder, filled by the untimed runs (the line
count and the warm-up). --no-bytecode-cache runs it as this sandbox's environment does
(PYTHONDONTWRITEBYTECODE=1): runs-tui, an editable install, compiles every one of its
modules from source at each start.

Usage: python bench/export.py [--runs 100000] [--data DIR] [--rebuild] [--reps 5]
                              [--pg ADMIN_URL | --no-pg] [--no-bytecode-cache]
About 1.5 minutes, plus the first build (30 s SQLite, 30 s PostgreSQL at 100,000 runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from table import PIPELINE, _load, bytecode, ensure_db, machine

TARGET = 3.0
AT = "1764000000"  # the floor's clock for run_time (the figure does not depend on it)
DEFAULT = "run,version,tags,status,user,started,updated,run_time"
METRICS = (
    "run,status,m:loss/val:last,m:loss/train:min,m:accuracy/val:max,p:args/lr,p:args/batch_size"
)
SORT = "m:loss/val:last"


@dataclass(frozen=True)
class Case:
    label: str
    args: tuple[str, ...]
    columns: str
    pipeline: bool  # only the pipeline's runs (no pipeline column)
    sort: bool  # by m:loss/val:last


CASES = (
    Case("default columns, every pipeline", (), DEFAULT, False, False),
    Case("default columns, one pipeline", (PIPELINE,), DEFAULT, True, False),
    Case("metric + parameter columns", ("--columns", METRICS), METRICS, False, False),
    Case(
        f"metric + parameter columns, sorted by {SORT}",
        ("--columns", METRICS, "--sort", SORT),
        METRICS,
        False,
        True,
    ),
)


# What `ls` writes after the asked columns, for every run (the floor writes it too).
EXTRA = {
    "reason": "CASE WHEN r.status IN ('failed', 'aborted') THEN nullif(r.status_message, '') END"
}


def floor_sql(case: Case, sqlite: bool, extra: Sequence[str] = ()) -> str:
    """The query a person would write for the case's columns, in the case's order, then
    `extra` (what `ls` writes after them: its header says)."""

    def iso(col: str) -> str:
        if sqlite:
            return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {col}, 'unixepoch')"
        utc = f"to_timestamp({col}) AT TIME ZONE 'UTC'"
        return f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""

    tags = (
        "(SELECT group_concat(tag, '; ') FROM runtag t WHERE t.run_id = r.id)"
        if sqlite
        else "(SELECT string_agg(tag, '; ' ORDER BY tag) FROM runtag t WHERE t.run_id = r.id)"
    )
    cells = [] if case.pipeline else ["p.name"]
    cells.append("r.id")
    joins = ["JOIN pipeline p ON p.id = r.pipeline_id"]
    for spec in case.columns.split(","):
        if spec.startswith("m:"):
            body, agg = spec[2:].rsplit(":", 1)
            title, series = body.split("/")
            alias = f"m{len(joins)}"
            joins.append(
                f"LEFT JOIN metric {alias} ON {alias}.run_id = r.id AND {alias}.title = "
                f"'{title}' AND {alias}.series = '{series}'"
            )
            cells.append(f"{alias}.{agg}")
        elif spec.startswith("p:"):
            alias = f"p{len(joins)}"
            on = f"{alias}.run_id = r.id AND {alias}.key = '{spec[2:]}'"
            joins.append(f"LEFT JOIN runparam {alias} ON {on}")
            cells.append(f"{alias}.value")
        elif spec == "run":
            cells.append("r.number")
        elif spec == "tags":
            cells.append(tags)
        elif spec in ("started", "updated"):
            cells.append(iso(f"r.{spec}"))
        elif spec == "run_time":
            cells.append(f"coalesce(r.finished, {AT}) - r.started")
        else:
            cells.append(f'r."{spec}"')
    cells.extend(EXTRA[field] for field in extra)
    where = "NOT r.archived" + (
        " AND r.pipeline_id = p.id AND p.name = 'train-resnet'" * case.pipeline
    )
    order = "r.number DESC, r.id DESC"
    if case.sort:
        order = "m1.last IS NULL, m1.last, " + order  # m1: the first metric join (loss/val)
    return f"SELECT {', '.join(cells)} FROM run r {' '.join(joins)} WHERE {where} ORDER BY {order}"


def timed(commands: list[list[str]], reps: int) -> list[tuple[float, float]]:
    """Median wall and CPU seconds of each command with stdout to /dev/null, after a
    warm-up each; the commands take turns (ls, floor, ls, floor, ...), so that a shared
    machine slowing down or speeding up weighs on both alike."""
    walls: list[list[float]] = [[] for _ in commands]
    cpus: list[list[float]] = [[] for _ in commands]
    for i in range(reps + 1):
        for argv, wall_of, cpu_of in zip(commands, walls, cpus, strict=True):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if i:
                wall_of.append(wall)
                cpu_of.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus, strict=True)]


def output_of(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, check=True, text=True).stdout


def extra_fields(case: Case, header: str) -> list[str]:
    """The fields `ls` wrote after the case's columns (none asked for them)."""
    asked = ([] if case.pipeline else ["pipeline"]) + ["id", *case.columns.split(",")]
    fields = header.split(",")
    if fields[: len(asked)] != asked or not set(fields[len(asked) :]) <= EXTRA.keys():
        raise SystemExit(f"{case.label}: ls wrote the header {header!r}, not {asked}")
    return fields[len(asked) :]


def measure(db: str, floor: list[str], sqlite: bool, reps: int) -> list[str]:
    rows = []
    for case in CASES:
        ls = [sys.executable, "-m", "runs_tui", "ls", *case.args, "--db", db, "--format", "csv"]
        written = output_of(ls)
        sql = floor_sql(case, sqlite, extra_fields(case, written.split("\n", 1)[0]))
        floor_argv = [*floor, sql] if sqlite else [*floor, f"COPY ({sql}) TO STDOUT CSV"]
        got, want = written.count("\n"), output_of(floor_argv).count("\n") + 1  # + header
        if got != want:
            raise SystemExit(f"{case.label}: ls wrote {got} lines, the floor {want}")
        (wall, cpu), (floor_wall, floor_cpu) = timed([ls, floor_argv], reps)
        ratio = wall / floor_wall
        rows.append(
            f"| {case.label} | {wall:.2f} s ({cpu:.2f} CPU) | {floor_wall:.2f} s "
            f"({floor_cpu:.2f} CPU) | {ratio:.1f}x | {'yes' if ratio <= TARGET else 'NO'} |"
        )
        print(rows[-1], f"load {_load()}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-table"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get("RUNS_TUI_TEST_PG_URL"))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="PYTHONDONTWRITEBYTECODE=1: runs-tui's modules compiled at every start",
    )
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        raise SystemExit("the sqlite3 command-line client is needed for the floor")
    print(machine())
    print(f"load average at start: {_load()}")
    home = Path(tempfile.mkdtemp(prefix="runs-tui-bench-export-"))
    print(f"bytecode: {bytecode(home, not args.no_bytecode_cache)}", flush=True)
    args.data.mkdir(parents=True, exist_ok=True)
    path = ensure_db(args.data, args.runs, args.rebuild)
    head = [
        f"`runs-tui ls --format csv`, {args.runs:,} runs, median of {args.reps}; "
        f"target <= {TARGET:g}x the floor",
        "",
        "| case | runs-tui ls | floor | ratio | within target |",
        "|---|---|---|---|---|",
    ]
    print("\nSQLite (floor: sqlite3 -csv)\n" + "\n".join(head), flush=True)
    measure(str(path), ["sqlite3", "-csv", str(path)], True, args.reps)
    if args.pg and not args.no_pg and shutil.which("psql"):
        from search import pg_dbs  # builds with table.py's rows; imported only for PostgreSQL

        url = pg_dbs(args.pg, args.runs, args.rebuild)[1]
        psql_url = make_url(url).set(drivername="postgresql").render_as_string(False)
        print("\nPostgreSQL (floor: psql COPY ... TO STDOUT CSV)\n" + "\n".join(head), flush=True)
        measure(url, ["psql", "-X", "-q", psql_url, "-c"], False, args.reps)
    else:
        print("\nPostgreSQL: skipped (no --pg, RUNS_TUI_TEST_PG_URL or psql)")
    print(f"\nload average at end: {_load()}")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
