"""Select All at 100,000 and 1,000,000 runs, then refresh ticks while agents write.

The real app (App.run_test, 120x36, real clock, auto-refresh off so only the measured
ticks run) on bench/table.py's SQLite databases, and with --pg on bench/search.py's
PostgreSQL ones (the same data, search index installed). The user presses `*` and
picks "All in pipeline". Timed: from the key to the action bar showing the marks'
counts (what the user waits for), and the longest the UI thread was blocked meanwhile
(the largest gap of a 5 ms heartbeat on the event loop). Then --ticks ticks: the 20
Running runs (all marked) get what their agents write between two ticks
(bench/table.py's `agent_writes`), and the screen's tick runs to its end, the marks'
count included: wall time, CPU time of the process (every thread), longest UI stall.

"before" is what each tick cost before the marks were kept from changes: counting every
mark again (`state_counts` and `hidden` over all ids, as the screen did on each tick in
which a marked run changed), timed on the same database.

Usage: python bench/marks.py [--sizes 100000,1000000] [--ticks 10] [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from search import no_search_index, pg_dbs
from sqlalchemy import create_engine, text
from table import PIPELINE, ensure_db, machine
from textual.worker import WorkerCancelled

from runs_tui.core.db import open_store
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.main import MainScreen
from runs_tui.ui.screens.menus import SelectionMenu
from runs_tui.ui.widgets.action_bar import ActionBar

UI_TARGET_MS = 100.0  # a stall users notice as a stutter in typing or scrolling


def agent_writes(url: str, ids: list[int]) -> None:
    """bench/table.py's agent writes, through SQLAlchemy so they run on both backends."""
    t = time.time()
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    params = {"t": t, **{f"i{n}": i for n, i in enumerate(ids)}}
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE run SET progress = LEAST(coalesce(progress, 0) + 0.01, 0.99), "
                f"updated = :t, heartbeat = :t WHERE id IN ({marks})"
                if engine.dialect.name == "postgresql"
                else "UPDATE run SET progress = min(coalesce(progress, 0) + 0.01, 0.99), "
                f"updated = :t, heartbeat = :t WHERE id IN ({marks})"
            ),
            params,
        )
        conn.execute(
            text(f"UPDATE metric SET last = last * 0.997, updated = :t WHERE run_id IN ({marks})"),
            params,
        )
    engine.dispose()


async def settled(app: RunsApp) -> None:
    """Every worker done; one superseded by a newer load (cancelled) is no error."""
    while True:
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


class Heartbeat:
    """The longest the event loop went without running a 5 ms timer: UI blocked."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.005)
            last = now

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._beat())

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return self.worst


async def until(condition, deadline: float = 600.0) -> None:  # type: ignore[no-untyped-def]
    give_up = time.perf_counter() + deadline
    while not condition():
        if time.perf_counter() > give_up:
            raise TimeoutError("the app never got there")
        await asyncio.sleep(0.002)


async def measure(url: str, ticks: int) -> dict[str, list[float]]:
    store = open_store(url)
    source = SqlSource(store)
    with store.read() as s:
        running = [r for (r,) in s.execute(text("SELECT id FROM run WHERE status = 'running'"))]
    app = RunsApp(source, pipeline=PIPELINE, clock=time.time)
    out: dict[str, list[float]] = {"all": [], "all_ui": [], "wall": [], "cpu": [], "ui": []}
    beat = Heartbeat()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.paused = True
        await settled(app)
        await pilot.pause()
        await pilot.press("asterisk")
        await until(lambda: isinstance(app.screen, SelectionMenu))
        await pilot.pause()
        bar = screen.query_one(ActionBar)
        beat.start()
        t = time.perf_counter()
        await pilot.press("enter")
        total = screen.all_runs
        await until(lambda: screen._tally is not None and len(screen._tally) == total)
        await until(lambda: bar.display and f"{total:,} marked" in bar.plain)
        out["all"].append(time.perf_counter() - t)
        out["all_ui"].append(beat.stop())
        assert len(screen.table.marks) == total
        for _ in range(ticks):
            agent_writes(url, running)
            beat.start()
            wall, cpu = time.perf_counter(), time.process_time()
            screen.reload(force=False)
            await settled(app)
            await until(lambda: not screen._marks_counting)
            await pilot.pause()
            out["wall"].append(time.perf_counter() - wall)
            out["cpu"].append(time.process_time() - cpu)
            out["ui"].append(beat.stop())
        ids = list(screen.table.marks)
        q = screen.run_query
        assert q is not None
        t = time.perf_counter()
        source.state_counts(ids)
        source.hidden(q, ids)
        out["before"] = [time.perf_counter() - t]
    store.dispose()
    return out


def backends(data: Path, n: int, pg: str | None) -> list[tuple[str, str]]:
    """The databases of `n` runs to measure: bench/table.py's SQLite one (built without
    the search index, which these benches do not use: the fast bulk build), and with `pg`
    bench/search.py's PostgreSQL one (the same rows)."""
    with no_search_index():
        found = [("SQLite", str(ensure_db(data, n, False)))]
    if pg:
        found.append(("PostgreSQL", pg_dbs(pg, n, False)[1]))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--pg", default=None, help="PostgreSQL admin URL (else SQLite only)")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-table"
    )
    args = parser.parse_args()
    # never the user's own config: the app saves its view (a search) there
    os.environ["RUNS_TUI_CONFIG"] = str(Path(tempfile.mkdtemp()) / "config.toml")
    print(machine())
    print(
        f"{'backend':<10} {'runs':>9} {'All: bar':>9} {'UI max':>7} "
        f"{'tick wall':>10} {'tick CPU':>9} {'UI max':>7} {'before':>8}"
        "   (ms; ticks: medians)"
    )
    print(f"target: the UI thread never blocked longer than {UI_TARGET_MS:.0f} ms (UI max)")
    for n in (int(s) for s in args.sizes.split(",")):
        for name, url in backends(args.data, n, args.pg):
            got = asyncio.run(measure(url, args.ticks))
            ms = {k: statistics.median(v) * 1000 for k, v in got.items()}
            print(
                f"{name:<10} {n:>9,} {ms['all']:>9.0f} {ms['all_ui']:>7.0f} "
                f"{ms['wall']:>10.0f} {ms['cpu']:>9.0f} {ms['ui']:>7.0f} {ms['before']:>8.0f}  "
                + ("ok" if max(ms["all_ui"], ms["ui"]) <= UI_TARGET_MS else "MISSED"),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
