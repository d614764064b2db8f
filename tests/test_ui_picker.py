"""`P` with a source that counts runs by reading them all (MLflow): the pipelines are
listed at once, "counting runs…" until the counts come, and one can be picked meanwhile."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from textual.widgets import OptionList
from ui_support import SIZE, make_app, settle, title_bar

from runs_tui.core.db import Store
from runs_tui.core.records import PipelineSummary
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.screens.pipelines import PipelinePicker


class SlowCounts(SqlSource):
    """The store, as a source whose counts take until `counted` is set."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.counted = threading.Event()

    def pipelines(self, counted: bool = True) -> list[PipelineSummary]:
        summaries = super().pipelines()
        if not counted:
            return [replace(s, counts={}, counted=False) for s in summaries]
        self.counted.wait(60)
        return summaries


def _lines(app: object) -> list[str]:
    options = app.screen.query_one(OptionList)  # type: ignore[attr-defined]
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def _until(pilot: object, check: object) -> None:
    for _ in range(600):
        if check():  # type: ignore[operator]
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError("not reached")


async def test_names_first_then_counts(demo: Store) -> None:
    source = SlowCounts(demo)
    app = make_app(demo, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await _until(pilot, lambda: isinstance(app.screen, PipelinePicker) and _lines(app))
        lines = _lines(app)
        assert all("counting runs…" in line for line in lines), lines
        assert any(line.startswith("train-resnet") for line in lines)
        source.counted.set()
        await _until(pilot, lambda: not any("counting" in line for line in _lines(app)))
        assert any("24 runs" in line for line in _lines(app)), _lines(app)


async def test_a_pipeline_is_picked_before_the_counts_come(demo: Store) -> None:
    source = SlowCounts(demo)
    app = make_app(demo, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = title_bar(pilot).split()[0]
        await pilot.press("P")
        await _until(pilot, lambda: isinstance(app.screen, PipelinePicker) and _lines(app))
        names = [line.split()[0] for line in _lines(app)]
        other = names.index(shown) + (1 if names.index(shown) == 0 else -1)
        await pilot.press("down" if other > names.index(shown) else "up", "enter")
        await _until(pilot, lambda: title_bar(pilot).startswith(f"{names[other]} "))
        source.counted.set()
        await asyncio.sleep(0)
        await settle(pilot)
