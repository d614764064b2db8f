"""Compare (`d`) of 8 runs with 200 parameters and 50 metrics each: the CPU the user waits
for once the runs' details are loaded. Target: under 100 ms.

A fresh SQLite store gets one pipeline of 200 parameters and 5 steps, and 8 runs made as
an agent makes them (claimed, written by the agent's own RunWriter): 50 of the 200
parameters differ between runs, 50 metrics of 20 points each, steps completed, two runs
failed in their fourth step. Then:

- load: `compare.load` (the 8 runs' `RunSource.details`, what the screen's worker reads;
  wall time, reported, not part of the target).
- build: `compare.build` of the loaded details (pure Python; CPU time).
- screen: the real app (App.run_test, the real store) with the compare screen open on the
  8 runs; per repetition `CompareScreen.show(compare.build(details))`, the table laid out
  again, until the table has drawn every visible line (its `render_line` called for each).
  CPU time of the process (time.process_time) from before the build to the last line
  drawn: what the UI thread spends after the worker's data arrives. At 200x50 and 80x24,
  showing what differs and (`a`) every row.

Median of --reps repetitions, gc.collect() before each.

Usage: python bench/compare.py [--reps 21]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import table as bench_table

from runs_tui.agent import claims
from runs_tui.agent.outage import Outage
from runs_tui.agent.protocol import MetricReport
from runs_tui.agent.writer import RunWriter
from runs_tui.core import compare, config, ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.registry import register
from runs_tui.core.status import Status
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.compare import CompareScreen
from runs_tui.ui.widgets.compare_table import CompareTable

TARGET_MS = 100.0
RUNS, PARAMS, DIFFERING, METRICS, POINTS = 8, 200, 50, 50, 20
STEPS = ("prepare", "train", "evaluate", "export", "report")
SIZES = ((200, 50), (80, 24))
AGENT = "bench"


def seed(store: Store, folder: Path) -> list[int]:
    lines = ['[pipeline]\nname = "wide"\nversion = "1.0.0"\nqueue = "default"\n\n[parameters]']
    lines += [f"p{i:03d} = {i * 0.5}" for i in range(PARAMS)]
    parent = ""
    for step in STEPS:
        lines.append(f'\n[[steps]]\nname = "{step}"\ncommand = ["true"]')
        if parent:
            lines.append(f'parents = ["{parent}"]')
        parent = step
    path = folder / "wide.toml"
    path.write_text("\n".join(lines) + "\n")
    register(store, path)
    ids = []
    for run in range(RUNS):
        params = {f"p{i:03d}": str(i + run * 0.125) for i in range(DIFFERING)}
        new = ops.new_run(store, "wide", params, tags=[f"t{run % 3}", "bench"])
        claim = claims.claim(store, AGENT, ["default"])
        assert claim is not None and claim.run_id == new.id
        w = RunWriter(store, claim, AGENT, Outage(AGENT), lambda: False)
        failed = run in (2, 5)
        for n, step in enumerate(STEPS):
            assert w.step_started(step)
            if step == "train":
                for m in range(METRICS):
                    for p in range(POINTS):
                        w.metric(MetricReport(f"m{m:02d}", "val", (m + 1) / (p + run + 1), p))
                assert w.flush()
            if failed and n == 3:
                assert w.step_finished(step, Status.FAILED, 2)
                break
            assert w.step_finished(step, Status.COMPLETED, 0)
        assert w.finish(Status.FAILED if failed else Status.COMPLETED, "", 2 if failed else 0)
        ids.append(new.id)
    return ids


def _counting(table: CompareTable) -> list[int]:
    """Count the table's drawn lines (wraps `render_line` on the instance)."""
    drawn = [0]
    original: Callable[[int], Any] = table.render_line

    def render_line(y: int) -> Any:
        drawn[0] += 1
        return original(y)

    table.render_line = render_line  # type: ignore[method-assign]
    return drawn


async def screen_cpu(
    store: Store, ids: list[int], size: tuple[int, int], reps: int
) -> dict[str, list[float]]:
    loaded = config.load()
    loaded.settings.refresh = 3600
    app = RunsApp(SqlSource(store), pipeline="wide", settings=loaded, clock=time.time)
    out: dict[str, list[float]] = {"differs": [], "every": []}
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        screen = CompareScreen(app.context, ids)
        await app.push_screen(screen)
        while screen.comparison is None:
            await pilot.pause(0.05)
        details = compare.load(app.context.source, ids)
        table = screen.query_one(CompareTable)
        drawn = _counting(table)
        for every in (False, True):
            screen.every = every
            for _ in range(reps):
                await pilot.pause()
                gc.collect()
                drawn[0] = 0
                start = time.process_time()
                screen.show(compare.build(details, time.time()))
                visible = table.scrollable_content_region.height
                while drawn[0] < visible:
                    await pilot.pause()
                out["every" if every else "differs"].append((time.process_time() - start) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=21)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="runs-tui-bench-compare-"))
    os.environ["RUNS_TUI_CONFIG"] = str(folder / "config.toml")
    print(f"machine: {bench_table.machine()}", flush=True)
    print(f"load average at the start: {bench_table._load()}", flush=True)
    store = open_store(str(folder / "runs.db"))
    try:
        ids = seed(store, folder)
        source = SqlSource(store)
        walls, builds = [], []
        for _ in range(args.reps):
            start = time.perf_counter()
            details = compare.load(source, ids)
            walls.append((time.perf_counter() - start) * 1000)
            gc.collect()
            start = time.process_time()
            c = compare.build(details, time.time())
            builds.append((time.process_time() - start) * 1000)
        print(
            f"{len(c.runs)} runs, {len(c.params)} parameters ({c.params_differing} differ), "
            f"{len(c.metrics) // len(compare.AGGS)} metrics, {len(c.steps)} steps"
        )
        print(f"load (8 x details(), wall): median {statistics.median(walls):.1f} ms")
        print(f"build (CPU): median {statistics.median(builds):.1f} ms")
        worst = 0.0
        for size in SIZES:
            got = asyncio.run(screen_cpu(store, ids, size, args.reps))
            for kind, values in got.items():
                med = statistics.median(values)
                worst = max(worst, med)
                print(
                    f"build + screen at {size[0]}x{size[1]}, {kind} (CPU): median {med:.1f} ms, "
                    f"max {max(values):.1f} ms (target < {TARGET_MS:.0f} ms)"
                )
    finally:
        store.dispose()
    print(f"verdict: {'met' if worst < TARGET_MS else 'MISSED'} (worst median {worst:.1f} ms)")
    print(f"load average at the end: {bench_table._load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
