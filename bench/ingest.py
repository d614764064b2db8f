"""Ingest benchmark: how fast the agent stores the console lines of a step that wrote them
all and exited at once, on SQLite.

One run of a one-step pipeline whose step prints N lines (`line 1` ... `line N`, default
100,000) as fast as it can, then writes its exit time to a file and exits. An agent
(`AgentWorker` in this process, `--once`, the local launcher with the chosen tracking)
runs it. Printed per tracking mechanism:

- **exit -> completed**: from the step's exit to the run's `finished` (all N lines
  stored: checked), and the lines per second that makes;
- **start -> exit**: how long the step took to write them (it waits only if the agent's
  buffer of read lines is full);
- the peak RSS of this process (agent and bench together).

Usage: python bench/ingest.py [--lines 100000] [--tracking auto off]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tomli_w  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from runs_tui.agent.local import LocalLauncher  # noqa: E402
from runs_tui.agent.worker import AgentConfig, AgentWorker  # noqa: E402
from runs_tui.core import ops  # noqa: E402
from runs_tui.core.db import open_store  # noqa: E402
from runs_tui.core.models import LOG, RUN  # noqa: E402
from runs_tui.core.registry import register  # noqa: E402

# no braces: the pipeline would read them as parameters
STEP = """\
import sys, time
started = time.time()
out = sys.stdout
for i in range(1, int(sys.argv[1]) + 1):
    out.write("line %d\\n" % i)
out.flush()
with open(sys.argv[2], "w") as f:
    f.write("%r %r" % (started, time.time()))
"""


def measure(lines: int, tracking: str, folder: Path) -> dict[str, float]:
    """One run on a fresh database; the figures of one row."""
    db, stamp = folder / f"{tracking}.db", folder / f"{tracking}.exit"
    store = open_store(str(db))
    doc = {
        "pipeline": {"name": "ingest", "version": "1.0.0", "queue": "default"},
        "steps": [{"name": "s", "command": ["python", "-c", STEP, str(lines), str(stamp)]}],
    }
    (folder / "p.toml").write_text(tomli_w.dumps(doc))
    register(store, folder / "p.toml")
    run = ops.new_run(store, "ingest")
    worker = AgentWorker(store, AgentConfig(name=f"bench-{tracking}", once=True, poll=0.2))
    worker.launcher = LocalLauncher(cgroups="off" if tracking == "off" else "auto")
    worker.run()
    with store.read() as s:
        status, finished = s.execute(
            select(RUN.c.status, RUN.c.finished).where(RUN.c.id == run.id)
        ).one()
        stored = s.execute(select(func.count()).where(LOG.c.run_id == run.id)).scalar_one()
    store.dispose()
    if status != "completed" or stored != lines:
        raise SystemExit(f"{tracking}: run {status}, {stored} of {lines} lines stored")
    started, exited = (float(x) for x in stamp.read_text().split())
    return {"ingest": finished - exited, "write": exited - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--tracking", nargs="+", default=["auto", "off"], choices=["auto", "off"])
    args = parser.parse_args()
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f} at start"
    )
    with tempfile.TemporaryDirectory(prefix="runs-tui-ingest-") as tmp:
        for tracking in args.tracking:
            mechanism = LocalLauncher(cgroups="off" if tracking == "off" else "auto").mechanism
            t = measure(args.lines, tracking, Path(tmp))
            print(
                f"{tracking:>4}: {args.lines:,} lines, exit -> completed {t['ingest']:.2f} s "
                f"({args.lines / t['ingest']:,.0f} lines/s), start -> exit {t['write']:.2f} s; "
                f"{mechanism}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {peak:.0f} MiB; load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
