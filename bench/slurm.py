"""Slurm executor benchmark: how long from enqueue to a step running on the cluster, how
many runs a second, and how light the agent is on slurmctld.

On the single-node cluster of `.ci/slurm.sh` (run it first, as root):

- **floor**: a bare loop of `sbatch --wrap` jobs that write their start time, submitted
  as fast as sbatch returns: submit-to-start latency (p50/p99) and jobs per second, the
  cluster's own speed.
- **runs-tui**: N runs of a one-step pipeline whose step writes its start time, enqueued
  together, then one `runs-tui agent --executor slurm --concurrency C --poll P` drains
  them: enqueue-to-step-start latency (p50/p99) and runs per second (first start to last
  run Completed).
- **squeue calls per minute** with 50 runs Running at once (steps that sleep), counted by
  a `squeue` on PATH that logs each call and runs the real one.

Usage: python bench/slurm.py [--runs 100] [--concurrency 16] [--poll 0.5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runs_tui.core import ops  # noqa: E402
from runs_tui.core.db import open_store  # noqa: E402
from runs_tui.core.models import RUN  # noqa: E402
from runs_tui.core.registry import register  # noqa: E402


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def stamps(folder: Path) -> dict[str, float]:
    return {p.name: float(p.read_text().strip()) for p in folder.iterdir() if p.stat().st_size}


def floor(n: int, work: Path) -> tuple[list[float], float]:
    out = work / "floor"
    out.mkdir()
    submitted: dict[str, float] = {}
    for i in range(n):
        t = time.time()
        subprocess.run(
            [
                "sbatch",
                "--parsable",
                "--output=/dev/null",
                f"--wrap=date +%s.%N > {out}/{i}",
            ],
            check=True,
            capture_output=True,
        )
        submitted[str(i)] = t
    deadline = time.time() + 600
    while len(stamps(out)) < n and time.time() < deadline:
        time.sleep(0.2)
    got = stamps(out)
    latencies = [got[k] - submitted[k] for k in got]
    span = max(got.values()) - min(submitted.values())
    return latencies, len(got) / span


def pipeline(work: Path, command: list[str]) -> Path:
    import tomli_w

    path = work / f"bench-{len(list(work.glob('*.toml')))}.toml"
    doc = {
        "pipeline": {"name": path.stem, "version": "1", "queue": path.stem},
        "steps": [{"name": "step", "command": command}],
    }
    path.write_text(tomli_w.dumps(doc))
    return path


def agent(db: str, queue: str, spool: Path, concurrency: int, poll: float, env: dict[str, str]):
    argv = [
        sys.executable,
        "-m",
        "runs_tui",
        "agent",
        "--db",
        db,
        "--queue",
        queue,
        "--executor",
        "slurm",
        "--spool",
        str(spool),
        "--concurrency",
        str(concurrency),
        "--poll",
        str(poll),
    ]
    return subprocess.Popen(
        argv,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=(spool.parent / f"agent-{queue}.log").open("ab"),
    )


def through_runs_tui(
    n: int, concurrency: int, poll: float, work: Path
) -> tuple[list[float], float]:
    out = work / "stamps"
    out.mkdir()
    db = str(work / "bench.db")
    store = open_store(db)
    name = register(
        store, pipeline(work, ["sh", "-c", f"date +%s.%N > {out}/$RUNS_TUI_RUN_ID"])
    ).name
    created = {str(ops.new_run(store, name).id): time.time() for _ in range(n)}
    proc = agent(db, name, work / "spool", concurrency, poll, dict(os.environ))
    try:
        deadline = time.time() + 900
        while time.time() < deadline:
            with store.read() as s:
                done = s.execute(
                    RUN.select().where(RUN.c.status.in_(["completed", "failed"]))
                ).fetchall()
            if len(done) == n:
                break
            time.sleep(0.5)
        with store.read() as s:
            finished = [r.finished for r in s.execute(RUN.select()).fetchall() if r.finished]
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        store.dispose()
    got = stamps(out)
    latencies = [got[k] - created[k] for k in got]
    return latencies, len(got) / (max(finished) - min(got.values()))


def squeue_rate(running: int, poll: float, work: Path) -> float:
    shim = work / "bin"
    shim.mkdir()
    calls = work / "squeue-calls"
    real = shutil.which("squeue")
    assert real is not None
    (shim / "squeue").write_text(f'#!/bin/sh\necho x >> {calls}\nexec {real} "$@"\n')
    (shim / "squeue").chmod(0o755)
    db = str(work / "squeue.db")
    store = open_store(db)
    name = register(store, pipeline(work, ["sleep", "90"])).name
    for _ in range(running):
        ops.new_run(store, name)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    proc = agent(db, name, work / "spool2", running, poll, env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            with store.read() as s:
                n = len(s.execute(RUN.select().where(RUN.c.status == "running")).fetchall())
            if n == running:
                break
            time.sleep(0.5)
        calls.write_text("")
        time.sleep(60)
        per_minute = len(calls.read_text().splitlines())
    finally:
        proc.terminate()
        proc.wait(timeout=180)
        subprocess.run(["scancel", "--name=runs-tui:" + name], check=False)
        store.dispose()
    return per_minute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--poll", type=float, default=0.5)
    parser.add_argument("--quick", action="store_true", help="20 runs, no squeue minute")
    args = parser.parse_args()
    n = 20 if args.quick else args.runs
    if shutil.which("sbatch") is None:
        sys.exit("no sbatch on PATH: run `bash .ci/slurm.sh` first")
    with tempfile.TemporaryDirectory(prefix="runs-tui-bench-slurm-") as tmp:
        work = Path(tmp)
        os.environ["RUNS_TUI_CONFIG"] = str(work / "config.toml")
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        lat, rate = floor(n, work)
        print(
            f"floor (sbatch --wrap)  jobs {n}  submit->start p50 {pct(lat, 50) * 1000:.0f} ms"
            f"  p99 {pct(lat, 99) * 1000:.0f} ms  {rate:.1f} jobs/s"
        )
        lat, rate = through_runs_tui(n, args.concurrency, args.poll, work)
        print(
            f"runs-tui agent (conc {args.concurrency}, poll {args.poll})  runs {n}"
            f"  enqueue->step start p50 {pct(lat, 50) * 1000:.0f} ms"
            f"  p99 {pct(lat, 99) * 1000:.0f} ms  {rate:.1f} runs/s"
        )
        if not args.quick:
            calls = squeue_rate(50, args.poll, work)
            print(f"squeue calls in one minute with 50 running jobs (poll {args.poll}): {calls}")


if __name__ == "__main__":
    main()
