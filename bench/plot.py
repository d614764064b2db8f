"""A plot of 3 runs x 100,000 points of one metric (issue 14): the CPU it costs once the
data is loaded, which must stay under 100 ms, since a chart never draws every point.

A temporary SQLite store (the app's schema) holds one pipeline with 3 Completed runs,
each with 100,000 points of `loss/val` (steps 0..99,999, a decaying curve with noise
and a spike) and its summary. The real app (App.run_test, fixed size, auto-refresh
off) shows the three runs marked, with `m:loss/val:last` as a column, and `g` opens the
plot; the time from the key to the drawn lines is printed (the 300,000 points are read
in a worker).

Then, with the histories loaded (the screen's own traces, as its tick keeps them), each
repetition times what the screen does with them for a new width, a log-scale switch or
a tick, in one process (time.process_time: every thread): thinning the three histories
to the chart's width (`metric_plot.line`, min-max buckets: at most 2 points per cell)
and drawing them (MetricChart.draw and the next frame: its lines' dots laid out with
numpy, the cells as textual-plot draws them). Median of --reps at 80x24, 120x36 and
200x50, after one warm-up. The read alone (3 x `metric_history` of 100,000 points,
and the arrays made of them) is printed too, as "load".

Usage: python bench/plot.py [--points 100000] [--reps 15]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, update
from table import _load, machine

from runs_tui.core import config, ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store, open_store
from runs_tui.core.metric_plot import EMPTY, line, read, run_label
from runs_tui.core.models import METRIC, POINT, RUN
from runs_tui.core.registry import register
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.plot import PlotScreen

TARGET_MS = 100.0
SIZES = ((80, 24), (120, 36), (200, 50))
PIPELINE = """
[pipeline]
name = "plot"
version = "1.0.0"
queue = "default"

[[steps]]
name = "fit"
command = ["true"]
"""


def build(folder: Path, points: int) -> Store:
    """3 Completed runs, each with `points` points of loss/val and its summary."""
    store = open_store(str(folder / "runs.db"))
    (folder / "plot.toml").write_text(PIPELINE)
    register(store, folder / "plot.toml")
    rng = random.Random(14)
    for n in range(3):
        run_id = ops.new_run(store, "plot").id
        values = [
            (1 + n) * math.exp(-i / (points / 5)) + 0.05 * rng.random() for i in range(points)
        ]
        values[points * (n + 2) // 6] = 5.0  # a spike, which the chart must show
        with store.write() as s:
            s.execute(update(RUN).where(RUN.c.id == run_id).values(status="completed"))
            s.execute(
                insert(POINT),
                [
                    {
                        "run_id": run_id,
                        "attempt": 1,
                        "title": "loss",
                        "series": "val",
                        "step": i,
                        "value": v,
                        "time": 0.0,
                    }
                    for i, v in enumerate(values)
                ],
            )
            s.execute(
                insert(METRIC).values(
                    run_id=run_id,
                    title="loss",
                    series="val",
                    last=values[-1],
                    min=min(values),
                    max=max(values),
                    updated=0.0,
                )
            )
    return store


async def until(condition, deadline: float = 600.0) -> None:  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            raise TimeoutError("the plot was not drawn")
        await asyncio.sleep(0.005)


async def measure(store: Store, size: tuple[int, int], reps: int) -> dict[str, float]:
    settings = config.load()
    settings.settings.refresh = 3600.0
    source = SqlSource(store)
    app = RunsApp(
        source,
        pipeline="plot",
        columns=parse_columns("run,status,m:loss/val:last"),
        settings=settings,
        clock=lambda: 1_764_000_000.0,
    )
    out: dict[str, float] = {}
    async with app.run_test(size=size) as pilot:
        await until(lambda: bool(getattr(app.screen, "table", None) and app.screen.table.order))
        await pilot.press("space", "space", "space")
        start = time.perf_counter()
        await pilot.press("g")
        await until(lambda: isinstance(app.screen, PlotScreen) and len(app.screen.lines) == 3)
        await pilot.pause()
        out["g to drawn (wall)"] = (time.perf_counter() - start) * 1000
        screen = app.screen
        assert isinstance(screen, PlotScreen) and screen.key is not None
        rows, traces, key = screen.rows, screen.traces, screen.key
        assert all(len(t) == len(traces[rows[0].id]) for t in traces.values())

        cpu = time.process_time()
        for r in rows:
            read(source, r.id, key, EMPTY)
        out["load: 3 histories read (CPU)"] = (time.process_time() - cpu) * 1000

        thin, draw = [], []
        for rep in range(reps + 1):
            log = rep % 2 == 1  # a linear and a log scale in turn
            cpu = time.process_time()
            lines = [line(run_label(r), traces[r.id], screen.chart.buckets, log) for r in rows]
            mid = time.process_time()
            screen.chart.draw(lines, log)
            await pilot.pause()
            end = time.process_time()
            if rep:  # the first is a warm-up
                thin.append((mid - cpu) * 1000)
                draw.append((end - mid) * 1000)
            drawn = sum(len(ln.x) for ln in lines)
        out["thin 3 x history (CPU)"] = statistics.median(thin)
        out["draw + frame (CPU)"] = statistics.median(draw)
        out["after load, total (CPU)"] = statistics.median(
            [a + b for a, b in zip(thin, draw, strict=True)]
        )
        out["points drawn (3 runs)"] = drawn
        out["chart width (cells)"] = screen.chart.buckets
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    os.environ["RUNS_TUI_CONFIG"] = str(Path(tempfile.mkdtemp()) / "config.toml")
    print(f"machine: {machine()}; load average {_load()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        store = build(Path(folder), args.points)
        print(f"built 3 x {args.points:,} points in {time.perf_counter() - started:.1f} s")
        try:
            for size in SIZES:
                figures = asyncio.run(measure(store, size, args.reps))
                print(f"\n{size[0]}x{size[1]}:")
                for name, value in figures.items():
                    print(f"  {name:<32} {value:>9,.1f}")
                total = figures["after load, total (CPU)"]
                verdict = "ok" if total < TARGET_MS else "OVER"
                print(f"  target: after load < {TARGET_MS:.0f} ms CPU: {verdict}")
        finally:
            store.dispose()
    print(f"\nload average at the end {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
