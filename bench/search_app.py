"""`/` search at 1,000,000 runs in the real app: what the user waits for after Enter.

The real app (App.run_test, 120x36, real clock, auto-refresh off) on bench/search.py's
indexed databases (SQLite, and PostgreSQL with --pg). For each of bench/search.py's
terms, a new app: `/`, the term, then timed from Enter to
- rows: the search's rows drawn (the first frame drawn after the table holds them);
- first count: the status line giving a number of runs ("1,000+ runs" for a needle
  more than `loading.BOUND` runs hold, else the exact count);
- exact count: the status line's exact count.
Median of --reps apps after one warm-up app. Target: rows and first count <= 100 ms.

Usage: python bench/search_app.py [--runs 1000000] [--pg ADMIN_URL | --no-pg] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from marks import settled, until
from search import TARGET_MS, TERMS, _load, database_args, pg_dbs, sqlite_dbs
from table import PIPELINE, machine
from textual.screen import Screen

from runs_tui.core.db import open_store
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.main import MainScreen
from runs_tui.ui.widgets.status_line import StatusLine

Frame = tuple[float, object, str]  # when a frame was drawn, the query shown, the status
DRAWN: list[Frame] = []  # each frame: the screen's compositor done


def _drawn_at() -> None:
    """Note each frame as it is drawn (the screen's private `_compositor_refresh`, used
    by this benchmark only), with the query the table then held and the status line:
    rows are waited for until they are on screen, not until the table holds them. Read
    at the frame, not by polling: a poll that wakes after the rows' frame took the next
    frame for it (a frame of 30 ms late)."""
    draw = Screen._compositor_refresh

    def timed(screen: Screen[object]) -> None:
        draw(screen)
        at = time.perf_counter()
        if isinstance(screen, MainScreen):
            DRAWN.append((at, screen.shown_query, screen.query_one(StatusLine).plain))

    Screen._compositor_refresh = timed  # type: ignore[method-assign]


COUNTED = re.compile(r"(?:^|· )[\d,]+ of [\d,]+\+? runs?\b")  # not "200 of … runs"
EXACT = re.compile(r"(?:^|· )[\d,]+ of [\d,]+ runs?\b")


async def drawn(after: float, shows: Callable[[Frame], bool]) -> float:
    """When the first frame after `after` showed what `shows` looks for."""
    await until(lambda: any(f[0] > after and shows(f) for f in DRAWN))
    return min(f[0] for f in DRAWN if f[0] > after and shows(f))


async def one(url: str, needle: str) -> tuple[float, float, float, str]:
    """Seconds from Enter to the rows, the first count and the exact count; the status."""
    os.environ["RUNS_TUI_CONFIG"] = str(Path(tempfile.mkdtemp()) / "config.toml")
    DRAWN.clear()
    store = open_store(url)  # above: a new config, so the app opens without a search
    app = RunsApp(SqlSource(store), pipeline=PIPELINE, clock=time.time)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.screen
            assert isinstance(screen, MainScreen)
            screen.paused = True
            await settled(app)
            status = screen.query_one(StatusLine)
            await pilot.press("slash", *needle)
            await pilot.pause()
            gc.collect()  # earlier apps' garbage: a user's process has one app, not many
            t = time.perf_counter()
            # not awaited: Pilot.press returns when the app is idle, the counts done
            pressed = asyncio.create_task(pilot.press("enter"))
            await until(lambda: screen.run_query is not None and screen.run_query.search == needle)
            q = screen.run_query

            rows = await drawn(t, lambda f: f[1] == q) - t  # the rows, drawn
            first = await drawn(t, lambda f: f[1] == q and COUNTED.search(f[2]) is not None) - t
            exact = await drawn(t, lambda f: f[1] == q and EXACT.search(f[2]) is not None) - t
            await pressed
            shown = status.plain.removeprefix("⏸ PAUSED · ").split(" · updated")[0]
            return rows, first, exact, shown
    finally:
        store.dispose()


def measure(url: str, reps: int) -> list[tuple[str, list[float], str]]:
    out = []
    print(f"  {url}", flush=True)
    for label, needle in TERMS:
        asyncio.run(one(url, needle))  # warm-up: the database's pages in memory
        runs = [asyncio.run(one(url, needle)) for _ in range(reps)]
        figures = [statistics.median(r[i] for r in runs) * 1000 for i in range(3)]
        out.append((f"{label} {needle!r}", figures, runs[-1][3]))
        print(f"    {out[-1][0]}: " + ", ".join(f"{f:.0f}" for f in figures), flush=True)
    return out


def report(title: str, got: list[tuple[str, list[float], str]]) -> str:
    heads = ["term", "rows", "first count", "exact count", "status line then"]
    rows = [heads]
    for label, (shown, first, exact), status in got:
        cells = [label]
        for ms in (shown, first):
            cells.append(f"{ms:,.0f} {'ok' if ms <= TARGET_MS else 'MISSED'}")
        rows.append([*cells, f"{exact:,.0f}", status])
    widths = [max(len(r[k]) for r in rows) for k in range(len(heads))]
    target = f"target <= {TARGET_MS:.0f} ms for rows and first count"
    lines = [title, f"  ms from Enter, median; {target}"]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_args(parser, reps=3)
    args = parser.parse_args()
    _drawn_at()
    print(machine())
    print(f"load average before: {_load()}")
    backends = [("SQLite", sqlite_dbs(args.data, args.runs, False)[1])]
    if args.pg and not args.no_pg:
        backends.append(("PostgreSQL", pg_dbs(args.pg, args.runs, False)[1]))
    reports = [
        report(f"{name}, {args.runs:,} runs, in the app", measure(url, args.reps))
        for name, url in backends
    ]
    print()
    print("\n\n".join(reports))
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
