"""MLflow source (issue 15): what a user waits for on an MLflow server of 10,000 runs,
next to the server's own `runs/search` for the same page (the floor).

- first frame: a fresh `MlflowSource` (a new connection, nothing cached) finds the
  experiment and reads the table's first window (`find_pipeline(None)` + `window(q, 0,
  200)`, the default order: newest first), as the app does before its first frame.
  Floor: one `runs/search` POST for the same 200 runs (same experiment, filter, view),
  sent with urllib and its JSON parsed.
- sorted by a metric: `window(q, 0, 200)` sorted by `loss/train` (last value),
  ascending, on a source already open (the user pressed the sort key); pushed down as
  `order_by: metrics.`loss/train` ASC`. Floor: the same `runs/search` with that order_by.
- history calls per scroll: the table shows the min and max of 2 metrics; the first
  200 rows (read anew) are scrolled a screen (30 rows) at a time, each screen's rows
  given to `fill_ranges` (as ui/loading.py does for what is on screen): the
  `metrics/get-history` calls counted by the source's client, per screen, on a first
  pass and on a second (cached) pass, and the time per screen; next to one history
  call sent with urllib.
- also shown, not targets: the real app (App.run_test, 120x36) from its start until its
  table holds the first window, and the experiment picker: the experiments listed
  (`pipelines(counted=False)`, what the picker shows first), then their runs counted
  by status (`pipelines()`: every run read, only its status looked at).

Data: one experiment of 10,000 top-level runs (every status), 3 params, 2 tags, 2
metrics of 50 steps each (1,000,000 metric points). MLflow's own store (its
SqlAlchemyStore, run with the mlflow venv's python) makes the SQLite schema and the
experiment; the runs are then inserted into its tables with executemany (the mlflow
client takes ~0.4 s a run), kept in --data and reused. A real `mlflow server` (one
worker, tests/mlflow_support.py) serves it on 127.0.0.1 for the bench's length.

Target (issue 15): the first frame and the sorted window within 1.5x of the floor;
scrolling never more than one history call per visible (run, metric) pair not cached.

Usage: python bench/mlflow.py [--reps 9] [--data DIR]
(the mlflow venv: RUNS_TUI_TEST_MLFLOW, else .venv-mlflow/bin). About 6 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from table import _load, machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mlflow_support import ENV, Server, mlflow_bin

from runs_tui.core.records import RunQuery, SortKey
from runs_tui.sources.mlflow import MlflowSource

REPO = Path(__file__).resolve().parent.parent
RUNS = 10_000
STEPS = 50
PAGE = 200
SCREEN = 30
GOAL = 1.5
PREFIX = "bench-"
NAME = "runs"
T0 = 1_764_000_000_000  # ms
STATUSES = ("SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED")
SERIES = frozenset({("loss", "train"), ("acc", "acc")})
SORT = SortKey("m:loss/train:last", desc=False)
MAKE_SCHEMA = """
import sys
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
store = SqlAlchemyStore("sqlite:///" + sys.argv[1], sys.argv[2])
print(store.create_experiment(sys.argv[3]))
"""


def seed(folder: Path) -> None:
    """The bench's runs in `folder`/mlflow.db (kept: made once)."""
    done = folder / f"seeded-{RUNS}"
    if done.exists():
        return
    db, art = folder / "mlflow.db", folder / "artifacts"
    db.unlink(missing_ok=True)
    made = subprocess.run(
        [str(mlflow_bin() / "python"), "-c", MAKE_SCHEMA, str(db), str(art), PREFIX + NAME],
        capture_output=True,
        text=True,
        check=True,
    )
    eid = int(made.stdout.strip().splitlines()[-1])
    rng = random.Random(15)
    runs, tags, params, metrics, latest = [], [], [], [], []
    for n in range(RUNS):
        rid = uuid.UUID(int=rng.getrandbits(128)).hex
        status = STATUSES[n % 5] if n % 7 else "FINISHED"
        start = T0 + n * 60_000
        end = None if status in ("SCHEDULED", "RUNNING") else start + rng.randrange(10**4, 10**6)
        user = rng.choice(["alice", "bob", "carol"])
        name = f"run-{n}"
        runs.append(
            (rid, name, "UNKNOWN", "", "", user, status, start, end, "", "active",
             f"{art}/{eid}/{rid}/artifacts", eid)
        )  # fmt: skip
        tags += [("mlflow.user", user, rid), ("mlflow.runName", name, rid)]
        tags += [(t, "", rid) for t in rng.sample(["sweep", "best", "baseline"], 2)]
        params += [
            ("lr", rng.choice(["0.1", "0.01", "0.001"]), rid),
            ("batch", rng.choice(["32", "64", "128"]), rid),
            ("optimizer", rng.choice(["adam", "sgd"]), rid),
        ]
        base = rng.uniform(0.5, 2.0)
        for key in ("loss/train", "acc"):
            value = 0.0
            for step in range(STEPS):
                if key == "acc":
                    value = min(1.0, 0.4 + step * rng.uniform(0, 0.01))
                else:
                    value = base / (1 + step * rng.uniform(0.01, 0.1))
                metrics.append((key, value, start + step, rid, step, 0))
            latest.append((key, value, start + STEPS - 1, STEPS - 1, 0, rid))
    with sqlite3.connect(db) as con:
        con.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * 13)}, NULL)", runs)
        con.executemany("INSERT INTO tags VALUES (?, ?, ?)", tags)
        con.executemany("INSERT INTO params VALUES (?, ?, ?)", params)
        con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", metrics)
        con.executemany("INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)", latest)
    con.close()
    done.write_text(json.dumps({"experiment": eid}))


def floor(http: str, eid: str, order_by: list[str]) -> float:
    """Seconds for one `runs/search` of the page, sent and parsed as any client must."""
    body = {
        "experiment_ids": [eid],
        "filter": "tags.`mlflow.parentRunId` IS NULL",
        "run_view_type": "ACTIVE_ONLY",
        "max_results": PAGE,
        "order_by": order_by,
    }
    request = urllib.request.Request(
        f"{http}/api/2.0/mlflow/runs/search",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as r:
        got = json.loads(r.read())
    took = time.perf_counter() - started
    assert len(got["runs"]) == PAGE, len(got["runs"])
    return took


def first_frame(http: str) -> tuple[float, dict[str, int]]:
    """Seconds from a fresh source to the first window's rows; the calls it made."""
    started = time.perf_counter()
    source = MlflowSource(http, PREFIX)
    chosen, _ = source.find_pipeline(None)
    assert chosen is not None
    rows = source.window(RunQuery(chosen.id), 0, PAGE)
    took = time.perf_counter() - started
    assert len(rows) == PAGE
    source.close()
    return took, dict(source.client.calls)


def history_floor(http: str, run_id: str) -> float:
    """Seconds for one `metrics/get-history` of one series, sent with urllib."""
    url = f"{http}/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=acc"
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        got = json.loads(r.read())
    took = time.perf_counter() - started
    assert len(got["metrics"]) == STEPS
    return took


async def app_frame(http: str) -> float:
    """Seconds from the real app's start (App.run_test, 120x36) on a fresh source until
    its table holds the first window's rows."""
    from runs_tui.core import config
    from runs_tui.ui.app import RunsApp
    from runs_tui.ui.screens.main import MainScreen
    from runs_tui.ui.widgets.runs_table import RunsTable

    source = MlflowSource(http, PREFIX)
    started = time.perf_counter()
    app = RunsApp(source, settings=config.load())
    async with app.run_test(size=(120, 36)) as pilot:
        while time.perf_counter() - started < 120:
            screen = pilot.app.screen
            table = screen.query(RunsTable) if isinstance(screen, MainScreen) else None
            if table and len(table.first().order) >= SCREEN:
                break
            await pilot.pause(0.002)
        took = time.perf_counter() - started
    source.close()
    return took


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def scroll(source: MlflowSource, q: RunQuery) -> tuple[list[int], float]:
    """History calls per screen, and the median seconds a screen took, scrolling the
    first window (read anew: its metrics are last values only) down a screen at a time
    with the ranges of `SERIES` shown."""
    calls, times = [], []
    window = source.window(q, 0, PAGE)
    for start in range(0, PAGE, SCREEN):
        before = source.client.calls.get("metrics/get-history", 0)
        began = time.perf_counter()
        rows = window[start : start + SCREEN]
        source.fill_ranges(rows, SERIES)
        times.append(time.perf_counter() - began)
        calls.append(source.client.calls.get("metrics/get-history", 0) - before)
        for row in rows:  # every shown value is a summary now, not the last value only
            assert all(row.metrics[p].min is not None for p in SERIES), row.name
    return calls, statistics.median(times)


def line(name: str, ours: float, base: float) -> str:
    ratio = ours / base
    verdict = "ok" if ratio <= GOAL else "MISSED"
    return f"{name:34} {ours * 1000:8.1f} ms vs floor {base * 1000:7.1f} ms = {ratio:4.2f}x (<= {GOAL}x {verdict})"  # noqa: E501


def measure(server: Server, reps: int, eid: int) -> None:
    """Every figure, printed with its target."""
    source = MlflowSource(server.http, PREFIX)
    q = RunQuery(str(eid))
    sorted_q = q.with_(sort=(SORT,))
    order = ["metrics.`loss/train` ASC"]
    first = first_frame(server.http)  # untimed warm-up of the server (and its caches)
    floor(server.http, str(eid), [])
    frames: list[float] = []
    floors: list[float] = []
    sorts: list[float] = []
    sort_floors: list[float] = []
    for _ in range(reps):
        frames.append(first_frame(server.http)[0])
        floors.append(floor(server.http, str(eid), []))
        sorts.append(timed(lambda: source.window(sorted_q, 0, PAGE)))
        sort_floors.append(floor(server.http, str(eid), order))
    top = source.window(sorted_q, 0, 3)
    shown = [round(r.metrics[("loss", "train")].last or 0, 4) for r in top]
    first_pass, first_time = scroll(source, sorted_q)
    second_pass, second_time = scroll(source, sorted_q)
    run_id = str(top[0].id)
    histories = [history_floor(server.http, run_id) for _ in range(reps)]
    asyncio.run(app_frame(server.http))  # untimed: imports
    apps = [asyncio.run(app_frame(server.http)) for _ in range(reps)]
    names = [timed(lambda: source.pipelines(counted=False)) for _ in range(reps)]
    picker = [timed(source.pipelines) for _ in range(3)]
    med = statistics.median
    print(f"\nmedians of {reps} repetitions, {RUNS:,} runs, {PAGE}-run window:")
    print(line("first frame (find + window)", med(frames), med(floors)))
    print(f"  calls of one first frame: {first[1]}")
    print(line("window sorted by loss/train", med(sorts), med(sort_floors)))
    print(f"  first runs by loss/train ascending: {shown}")
    pairs = SCREEN * len(SERIES)
    print(
        f"history calls per screen ({SCREEN} rows x {len(SERIES)} metrics = {pairs} pairs),"
        f" first pass: {first_pass}, {first_time * 1000:.0f} ms a screen (median)"
    )
    print(
        f"  second pass (cached): {second_pass}, {second_time * 1000:.0f} ms a screen"
        f" (<= one call per pair not cached: "
        f"{'ok' if max(first_pass) <= pairs and not any(second_pass) else 'MISSED'})"
    )
    print(f"  one get-history call alone (urllib): {med(histories) * 1000:.1f} ms")
    print(
        f"real app, start -> first window in the table (120x36): {med(apps) * 1000:.0f} ms"
        " (not a target: Textual's start included)"
    )
    print(f"picker, experiments listed (pipelines(counted=False)): {med(names) * 1000:.0f} ms")
    print(f"  their counts (pipelines(): every run read): {med(picker) * 1000:.0f} ms (of 3)")
    source.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-mlflow"
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="runs-tui-bench-mlflow-"))
    os.environ["RUNS_TUI_CONFIG"] = str(home / "config.toml")  # never the user's own
    os.environ["RUNS_TUI_DB"] = str(home / "runs.db")
    os.environ.setdefault(ENV, str(REPO / ".venv-mlflow" / "bin"))
    args.data = args.data.resolve()
    os.chdir(home)  # the server puts its working folder first on its path: never bench/,
    # where this file would stand in for the `mlflow` package
    print(f"machine: {machine()}", flush=True)
    print(f"load average at the start: {_load()}", flush=True)
    began = time.perf_counter()
    seed(args.data)
    print(f"data: {RUNS:,} runs in {args.data} ({time.perf_counter() - began:.1f} s)")
    server = Server(args.data)
    server.start()
    try:
        seeded = json.loads((args.data / f"seeded-{RUNS}").read_text())
        measure(server, args.reps, seeded["experiment"])
    finally:
        server.stop()
    print(f"\nload average at the end: {_load()} (other processes share the CPUs)")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
