"""Regenerate screenshots/*.svg from the demo data with a fixed clock.

Run from the repository root: `python screenshots/make.py`. It never touches the
user's config or data: everything lives in a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

HERE = Path(__file__).parent
FIXED_NOW = 1_764_000_000.0
SIZE = (120, 36)
Steps = Callable[[Pilot[None]], Awaitable[None]]


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def keys(pilot: Pilot[None], *pressed: str) -> None:
    await settle(pilot)
    await pilot.press(*pressed)
    await settle(pilot)


async def at_error(pilot: Pilot[None]) -> None:
    """`E` on the first Failed run."""
    from runs_tui.ui.widgets.runs_table import RunsTable

    await settle(pilot)
    table = pilot.app.screen.query_one(RunsTable)
    failed = next(i for i, r in enumerate(table.order) if table.rows_by_id[r].status == "failed")
    await keys(pilot, *["down"] * failed, "E")


SHOTS: dict[str, Steps] = {
    "table": settle,
    "details-pane": lambda p: keys(p, "down", "down", "down", "enter"),
    "details-view": lambda p: keys(p, "down", "down", "down", "down", "v"),
    "help": lambda p: keys(p, "question_mark"),
    "table-80x24": lambda p: keys(p, "down", "down", "down", "enter"),
    "compare": lambda p: keys(p, "space", "space", "space", "down", "space", "space", "d"),
    # three marked runs, then loss/val from the picker (the third metric)
    "plot": lambda p: keys(
        p, *["down"] * 4, "space", "space", "space", "g", "down", "down", "enter"
    ),
    "overview": lambda p: keys(p, "O"),
    "console": at_error,
}
SIZES = {"table-80x24": (80, 24)}  # the others are taken at SIZE


async def shoot(db: str, name: str, steps: Steps) -> None:
    from runs_tui.core import config
    from runs_tui.sources import open_source
    from runs_tui.ui.app import RunsApp

    source = open_source(db)
    try:
        app = RunsApp(
            source,
            pipeline="train-resnet",
            clock=lambda: FIXED_NOW,
            settings=config.Loaded(config.Settings(refresh=3600)),
        )
        async with app.run_test(size=SIZES.get(name, SIZE)) as pilot:
            await steps(pilot)
            app.save_screenshot(f"{name}.svg", str(HERE))
    finally:
        source.close()


def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RUNS_TUI_CONFIG"] = str(Path(tmp) / "config.toml")
        from runs_tui.core.db import open_store
        from runs_tui.demo.seed import seed

        db = str(Path(tmp) / "demo.db")
        store = open_store(db)
        seed(store, FIXED_NOW)
        store.dispose()
        wanted = sys.argv[1:] or list(SHOTS)
        for name in wanted:
            asyncio.run(shoot(db, name, SHOTS[name]))
            print(f"screenshots/{name}.svg")


if __name__ == "__main__":
    main()
