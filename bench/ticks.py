"""Refresh ticks after scrolling far: what one tick costs once the user has scrolled to
row 10,000 (or 100,000) of a big pipeline, while agents write to its 20 Running runs.

The real app (App.run_test, 120x36, the real SQLite store of bench/table.py, the real
clock, auto-refresh off so only the measured ticks run) loads ROWS rows and puts the
cursor on the last one, as a user who scrolled there. Then, per tick: the 20 Running
runs get what their agents write between two ticks (progress, updated, metric
summaries: bench/table.py `agent_writes`), and the screen's tick (`reload(force=False)`)
runs to its end, applied. Timed per tick: wall time, CPU time of the process (every
thread: the worker's queries too) and the UI thread's share (RunsTable splice,
update_rows, retime: the time the UI is blocked). "idle" ticks change nothing.

Before this change a tick reloaded rows 0..ROWS: 2.5 s of CPU per 2 s tick at row
10,000 with the UI thread blocked 0.6 s (issue 12). The goal: a tick costs what is on
screen, the same at row 100,000 as at the top.

On PostgreSQL (--pg ADMIN_URL) the same rows, bench/search.py's databases.

Usage: python bench/ticks.py [--sizes 100000,1000000] [--rows 10000,100000] [--ticks 10]
                             [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import table as bench_table
from marks import agent_writes, backends, settled
from sqlalchemy import text

from runs_tui.core.db import open_store
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.main import MainScreen

TARGET = 1.3  # the product's goal for "as fast at 1M as at 1k", here far down vs near


async def measure(url: str, rows: int, ticks: int) -> dict[str, list[float]]:
    store = open_store(url)
    with store.read() as s:
        running = [r for (r,) in s.execute(text("SELECT id FROM run WHERE status = 'running'"))]
    app = RunsApp(SqlSource(store), pipeline=bench_table.PIPELINE, clock=time.time)
    out: dict[str, list[float]] = {"wall": [], "cpu": [], "ui": [], "idle_wall": [], "idle_ui": []}
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.paused = True
        await settled(app)
        await pilot.pause()
        screen.limit, screen.shown_query = rows, None  # the user scrolled down to `rows`
        screen.reload()
        await settled(app)
        await pilot.pause()
        table = screen.table
        assert len(table.order) == rows, len(table.order)
        table.move_cursor(row=rows - 1, animate=False)
        await pilot.pause()
        ui = [0.0]
        for name in ("splice", "update_rows", "retime", "apply"):
            original = getattr(table, name)

            def timed(*args: Any, _f: Any = original) -> Any:
                t = time.perf_counter()
                try:
                    return _f(*args)
                finally:
                    ui[0] += time.perf_counter() - t

            setattr(table, name, timed)
        for kind in ("busy", "idle"):
            for _ in range(ticks):
                if kind == "busy":
                    agent_writes(url, running)
                ui[0] = 0.0
                wall, cpu = time.perf_counter(), time.process_time()
                screen.reload(force=False)
                await settled(app)
                await pilot.pause()
                if kind == "busy":
                    out["wall"].append(time.perf_counter() - wall)
                    out["cpu"].append(time.process_time() - cpu)
                    out["ui"].append(ui[0])
                else:
                    out["idle_wall"].append(time.perf_counter() - wall)
                    out["idle_ui"].append(ui[0])
            assert table.cursor_row == rows - 1, "the cursor stays where the user left it"
    store.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL (else SQLite only)")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-table"
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    print(bench_table.machine())
    print(
        f"{'backend':<10} {'runs':>9} {'row':>7} {'tick wall':>10} {'tick CPU':>9} "
        f"{'UI thread':>10} {'idle wall':>10} {'idle UI':>8}   (medians, ms)"
    )
    print(f"target: a tick far down within {TARGET}x of the tick at the first row asked")
    for n in (int(s) for s in args.sizes.split(",")):
        for name, url in backends(args.data, n, args.pg):
            first = 0.0  # the tick at the first row asked: the others within TARGET of it
            for rows in (int(r) for r in args.rows.split(",")):
                if rows > n:
                    continue
                got = asyncio.run(measure(url, rows, args.ticks))
                med = {k: statistics.median(v) * 1000 for k, v in got.items()}
                first = first or med["wall"]
                print(
                    f"{name:<10} {n:>9,} {rows:>7,} {med['wall']:>10.0f} {med['cpu']:>9.0f} "
                    f"{med['ui']:>10.1f} {med['idle_wall']:>10.0f} {med['idle_ui']:>8.1f}  "
                    + ("ok" if med["wall"] <= TARGET * first else "MISSED"),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
