"""Agent benchmark: enqueue-to-start latency and throughput of `runs-tui agent` on SQLite.

Each scenario gets a fresh temporary SQLite database with one pipeline of one trivial
step, `sh -c 'exec date +%s.%N > OUT/$RUNS_TUI_RUN_ID'`, which records when the step
process started. Agents are real `python -m runs_tui agent` processes.

- steady: the agents are started and registered first, then runs are enqueued with
  `ops.new_run()` at a fixed average rate (Poisson arrivals, seeded: a fixed period
  would phase-lock with the agents' poll timers). Per run, "claim" latency is the run row's
  `started - created` (an agent's claim committed) and "start" latency is the step's
  recorded time minus `created` (the step process is running).
- burst: N runs are enqueued first, then the agents start with `--once` and drain the
  queue. Throughput is N / (last `finished` - first `started`).

- staggered: steady, but the agents are started one by one, `poll / agents` apart, so
  their poll timers are out of phase (agents started together poll in lockstep).

Also printed per scenario: claim -> step start (process spawn), `new_run()` time, and a
probe's wait for the SQLite write lock (an empty BEGIN IMMEDIATE every 20 ms).

- flush: the run writer's flush with 100 to 100,000 metric names (bench/agent_flush.py),
  on SQLite, and on PostgreSQL with `--pg ADMIN_URL`.

Usage: python bench/agent.py [--quick] [--only KIND ...] [--keep] [--pg ADMIN_URL]
Prints one line per scenario as it goes, then the table and details. About 4.5 minutes
for the agent scenarios; about a minute for flush.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from sqlalchemy import func, select

from runs_tui.core import ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import RUN, Agent
from runs_tui.core.registry import register
from runs_tui.core.status import Status

DONE = (Status.COMPLETED, Status.FAILED, Status.ABORTED)
PIPELINE = "bench"
TROUBLE = re.compile(r"Traceback|ERROR|locked|WARNING|no longer|lost|agent error", re.IGNORECASE)


@dataclass
class Scenario:
    kind: str  # "steady" or "burst"
    agents: int
    poll: float
    concurrency: int
    runs: int
    rate: float = 0.0  # runs enqueued per second (steady only)
    stagger: bool = False  # start the agents one by one, `poll / agents` apart

    @property
    def label(self) -> str:
        return "staggered" if self.stagger else self.kind


@dataclass
class Result:
    scenario: Scenario
    claim_ms: list[float] = field(default_factory=list)
    start_ms: list[float] = field(default_factory=list)
    enqueue_ms: list[float] = field(default_factory=list)
    gap_ms: list[float] = field(default_factory=list)  # claim committed -> step process
    throughput: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    by_agent: Counter[str] = field(default_factory=Counter)
    missing_files: int = 0
    problems: list[str] = field(default_factory=list)
    wall: float = 0.0
    lock_ms: list[float] = field(default_factory=list)  # probe's wait for the write lock
    cpu: float = 0.0  # CPU seconds of the agents and their steps
    load: float = 0.0  # 1-minute load average at the end


# One agent takes at most about `concurrency / poll` runs per second: once its slots are
# full it sleeps a whole poll interval before it looks again, even if a run ended at once.
# Steady rates stay at or below about half of that, or the queue only grows.
SCENARIOS = [
    # steady rate: latency
    Scenario("steady", 1, 1.0, 1, 10, rate=0.5),
    Scenario("steady", 1, 0.2, 1, 20, rate=2.0),
    Scenario("steady", 1, 0.2, 4, 100, rate=10.0),
    Scenario("steady", 4, 1.0, 1, 20, rate=2.0),
    Scenario("steady", 4, 1.0, 4, 80, rate=8.0),
    Scenario("steady", 4, 0.2, 1, 100, rate=10.0),
    Scenario("steady", 4, 0.2, 4, 200, rate=20.0),
    Scenario("steady", 4, 1.0, 1, 20, rate=2.0, stagger=True),
    Scenario("steady", 4, 0.2, 1, 100, rate=10.0, stagger=True),
    # burst: throughput
    Scenario("burst", 1, 1.0, 1, 15),
    Scenario("burst", 1, 0.2, 1, 60),
    Scenario("burst", 1, 0.2, 4, 300),
    Scenario("burst", 4, 1.0, 1, 60),
    Scenario("burst", 4, 1.0, 4, 300),
    Scenario("burst", 4, 0.2, 1, 300),
    Scenario("burst", 4, 0.2, 4, 300),
]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def pipeline_file(folder: Path, out: Path) -> Path:
    script = f'exec date +%s.%N > "{out}/$RUNS_TUI_RUN_ID"'
    doc = {
        "pipeline": {"name": PIPELINE, "version": "1.0.0", "queue": "default"},
        "steps": [{"name": "stamp", "command": ["sh", "-c", script]}],
    }
    path = folder / "bench.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


class Fleet:
    """`runs-tui agent` processes against one database, each logging to its own file."""

    def __init__(self, db: Path, logs: Path) -> None:
        self.db, self.logs = db, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, n: int, poll: float, concurrency: int, once: bool, first: int = 0) -> None:
        for i in range(first, first + n):
            name = f"agent{i}"
            argv = [sys.executable, "-m", "runs_tui", "agent", "--db", str(self.db)]
            argv += ["--name", name, "--poll", str(poll), "--concurrency", str(concurrency)]
            if once:
                argv.append("--once")
            with (self.logs / f"{name}.log").open("wb") as log:
                self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def registered(self, store: Store) -> int:
        with store.read() as s:
            return s.execute(
                select(func.count())
                .select_from(Agent)
                .where(Agent.name.in_(list(self.procs)), Agent.stopped.is_(None))
            ).scalar_one()

    def stop(self, timeout: float = 20.0) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = None
        return codes

    def wait(self, timeout: float) -> dict[str, int | None]:
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
        return self.stop()

    def trouble(self) -> list[str]:
        lines = []
        for name in self.procs:
            text = (self.logs / f"{name}.log").read_text(errors="replace")
            lines += [f"{name}: {line}" for line in text.splitlines() if TROUBLE.search(line)]
        return lines


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


class LockProbe(threading.Thread):
    """Takes and releases the SQLite write lock (an empty BEGIN IMMEDIATE) every 20 ms,
    recording how long it waited: what any other writer would see."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db, self.waits, self.done = db, [], threading.Event()

    def stop(self) -> None:
        self.done.set()
        self.join()

    def run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=30, isolation_level=None)
        try:
            while not self.done.wait(0.02):
                t = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("COMMIT")
                self.waits.append((time.perf_counter() - t) * 1000)
        finally:
            conn.close()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def unfinished(store: Store) -> int:
    with store.read() as s:
        return s.execute(
            select(func.count()).select_from(RUN).where(RUN.c.status.not_in(DONE))
        ).scalar_one()


def enqueue(store: Store, result: Result, n: int, rate: float | None) -> None:
    """Enqueue `n` runs: back to back, or at `rate` per second on average (Poisson)."""
    arrivals = random.Random(f"{result.scenario}")
    due = time.monotonic()
    late = 0.0
    for _ in range(n):
        if rate:
            late = max(late, time.monotonic() - due)
            time.sleep(max(0.0, due - time.monotonic()))
            due += arrivals.expovariate(rate)
        t = time.monotonic()
        ops.new_run(store, PIPELINE, user="bench")
        result.enqueue_ms.append((time.monotonic() - t) * 1000)
    if late > 0.5:
        result.problems.append(f"enqueueing fell up to {late:.1f}s behind schedule")


def start_waiting(fleet: Fleet, store: Store, sc: Scenario, result: Result) -> None:
    """Start long-running agents and wait until each has made its first (empty) claim."""
    if sc.stagger:  # each agent polls poll/agents after the one before
        for i in range(sc.agents):
            fleet.start(1, sc.poll, sc.concurrency, once=False, first=i)
            wait_until(lambda n=i + 1: fleet.registered(store) == n, 30, every=0.005)
            time.sleep(sc.poll / sc.agents)
    else:
        fleet.start(sc.agents, sc.poll, sc.concurrency, once=False)
    if not wait_until(lambda: fleet.registered(store) == sc.agents, 30):
        result.problems.append("agents did not register within 30 s")
    time.sleep(sc.poll + 0.1)


def run_scenario(sc: Scenario, root: Path) -> Result:
    folder = Path(tempfile.mkdtemp(prefix=f"{sc.kind}-", dir=root))
    out, logs = folder / "stamps", folder / "logs"
    out.mkdir()
    logs.mkdir()
    db = folder / "runs.db"
    store = open_store(str(db))
    register(store, pipeline_file(folder, out))
    fleet = Fleet(db, logs)
    result = Result(sc)
    began, cpu = time.monotonic(), children_cpu()
    probe = LockProbe(db)  # runs while the agents work, not while they start or stop
    try:
        if sc.kind == "burst":
            enqueue(store, result, sc.runs, None)
            fleet.start(sc.agents, sc.poll, sc.concurrency, once=True)
            probe.start()
        else:
            start_waiting(fleet, store, sc, result)
            probe.start()
            enqueue(store, result, sc.runs, sc.rate)
        if not wait_until(lambda: unfinished(store) == 0, 120 + sc.runs):
            result.problems.append(f"{unfinished(store)} runs not finished after waiting")
        probe.stop()  # before the agents exit: their shutdown writes all come at once
        codes = fleet.wait(timeout=30) if sc.kind == "burst" else fleet.stop()
        result.wall = time.monotonic() - began
        result.cpu = children_cpu() - cpu
        result.load = os.getloadavg()[0]
        result.lock_ms = probe.waits
        bad = {name: code for name, code in codes.items() if code != 0}
        if bad:
            result.problems.append(f"agent exit codes: {bad}")
        result.problems += fleet.trouble()
        collect(store, sc, out, result)
    finally:
        if probe.is_alive():
            probe.stop()
        fleet.stop(timeout=5)
        store.dispose()
    return result


def collect(store: Store, sc: Scenario, out: Path, result: Result) -> None:
    with store.read() as s:
        rows = s.execute(
            select(
                RUN.c.id, RUN.c.status, RUN.c.agent, RUN.c.created, RUN.c.started, RUN.c.finished
            )
        ).all()
    starts, ends = [], []
    for run_id, status, agent, created, started, finished in rows:
        result.statuses[status] += 1
        result.by_agent[agent or "-"] += 1
        if started is not None:
            starts.append(started)
            result.claim_ms.append((started - created) * 1000)
        if finished is not None:
            ends.append(finished)
        stamp = out / str(run_id)
        try:
            began = float(stamp.read_text())
        except (OSError, ValueError):
            result.missing_files += 1
            continue
        result.start_ms.append((began - created) * 1000)
        if started is not None:
            result.gap_ms.append((began - started) * 1000)
    if result.missing_files:
        result.problems.append(f"{result.missing_files} runs left no start stamp")
    not_done = {k: v for k, v in result.statuses.items() if k != Status.COMPLETED}
    if not_done:
        result.problems.append(f"runs not Completed: {not_done}")
    if starts and ends and max(ends) > min(starts):
        result.throughput = len(ends) / (max(ends) - min(starts))


def fmt(value: float, digits: int = 0) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


HEADER = (
    f"{'scenario':<9} {'agents':>6} {'poll':>5} {'conc':>4} {'runs':>5} {'rate/s':>6} "
    f"{'claim p50':>9} {'claim p99':>9} {'start p50':>9} {'start p99':>9} {'runs/s':>7}"
)


def row(r: Result) -> str:
    sc = r.scenario
    steady = sc.kind == "steady"
    lat = [pct(r.claim_ms, 50), pct(r.claim_ms, 99), pct(r.start_ms, 50), pct(r.start_ms, 99)]
    if not steady:
        lat = [math.nan] * 4
    return (
        f"{sc.label:<9} {sc.agents:>6} {sc.poll:>5.1f} {sc.concurrency:>4} {sc.runs:>5} "
        f"{(f'{sc.rate:g}' if steady else 'all'):>6} "
        + " ".join(f"{fmt(v):>9}" for v in lat)
        + f" {r.throughput:>7.1f}"
    )


def machine() -> str:
    cpu, ram = "?", "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram}; Python {platform.python_version()}; "
        f"SQLite {sqlite3.sqlite_version}; {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the runs (smoke test)")
    parser.add_argument("--only", nargs="*", help="scenario kinds: steady, burst, flush")
    parser.add_argument("--pg", metavar="ADMIN_URL", help="flush on PostgreSQL too")
    parser.add_argument("--keep", action="store_true", help="keep the databases and agent logs")
    args = parser.parse_args()
    if shutil.which("date") is None:
        print("needs `date` (coreutils) on PATH", file=sys.stderr)
        return 2
    print(machine())
    if not args.only or "flush" in args.only:
        import agent_flush

        agent_flush.run(args.pg)
    scenarios = [s for s in SCENARIOS if not args.only or s.kind in args.only]
    if not scenarios:
        return 0
    if args.quick:
        for s in scenarios:
            s.runs = max(5, s.runs // 3)
    root = Path(tempfile.mkdtemp(prefix="runs-tui-bench-agent-"))
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("latencies in ms from the run's `created`; runs/s from first start to last finish")
    print(HEADER, flush=True)
    results = []
    try:
        for sc in scenarios:
            r = run_scenario(sc, root)
            results.append(r)
            print(row(r), flush=True)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(HEADER)
    for r in results:
        print(row(r))
    print()
    for r in results:
        sc = r.scenario
        head = f"{sc.label} agents={sc.agents} poll={sc.poll} conc={sc.concurrency}"
        spread = ", ".join(f"{k}={v}" for k, v in sorted(r.by_agent.items()))
        print(
            f"{head}: {r.wall:.1f}s wall, agents+steps CPU {r.cpu:.1f}s, load {r.load:.1f};"
            f" runs per agent {spread}"
        )
        when = "alone" if sc.kind == "burst" else "with agents"
        print(
            f"  claim->step start p50 {pct(r.gap_ms, 50):.0f} ms, p99 {pct(r.gap_ms, 99):.0f} ms;"
            f" new_run ({when}) p50 {pct(r.enqueue_ms, 50):.1f} ms,"
            f" p99 {pct(r.enqueue_ms, 99):.1f} ms, max {max(r.enqueue_ms):.1f} ms"
        )
        print(
            f"  write-lock probe: {len(r.lock_ms)} takes, p50 {pct(r.lock_ms, 50):.1f} ms,"
            f" p99 {pct(r.lock_ms, 99):.1f} ms, max {max(r.lock_ms, default=math.nan):.1f} ms"
        )
        for problem in r.problems[:10]:
            print(f"  problem: {problem}")
        if len(r.problems) > 10:
            print(f"  ... and {len(r.problems) - 10} more")
    if not any(r.problems for r in results):
        print("no problems: every run Completed once, agents exited 0, no errors in their logs")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
