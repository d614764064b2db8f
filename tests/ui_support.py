"""Driving the real app in tests: a fixed clock, settled workers, what the user sees."""

from __future__ import annotations

import time

from textual.pilot import Pilot

from runs_tui.core import config
from runs_tui.core.columns import Column
from runs_tui.core.db import Store
from runs_tui.core.source import RunSource
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.flows.host import ASKING
from runs_tui.ui.screens.main import MainScreen
from runs_tui.ui.widgets.runs_table import RunsTable
from runs_tui.ui.widgets.status_line import StatusLine
from runs_tui.ui.widgets.title_bar import TitleBar

FIXED_NOW = 1_764_000_000.0
SIZE = (120, 36)


def make_app(
    store: Store,
    *,
    pipeline: str | None = None,
    columns: list[Column] | None = None,
    refresh: float | None = None,
    clock: float | None = FIXED_NOW,
    source: RunSource | None = None,
) -> RunsApp:
    """The app on `store` (or on `source`, made on it) with settings from RUNS_TUI_CONFIG
    (a temp file in tests)."""
    loaded = config.load()
    if refresh is not None:
        loaded.settings.refresh = refresh
    return RunsApp(
        source or SqlSource(store),
        pipeline=pipeline,
        columns=columns,
        settings=loaded,
        clock=(lambda: clock) if clock is not None else time.time,
    )


async def settle(pilot: Pilot[None], rounds: int = 3, deadline: float = 60.0) -> None:
    """Let workers finish and their messages be handled: the app is settled when every
    worker is done or is a flow waiting for the user's answer in a modal."""
    give_up = time.monotonic() + deadline
    for _ in range(rounds):
        while any(not w.is_finished and w not in ASKING for w in pilot.app.workers):
            if time.monotonic() > give_up:
                busy = [w for w in pilot.app.workers if not w.is_finished and w not in ASKING]
                raise AssertionError(f"workers still busy after {deadline}s: {busy}")
            await pilot.pause(0.01)
        await pilot.pause()


def main_screen(pilot: Pilot[None]) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen), screen
    return screen


def table(pilot: Pilot[None]) -> RunsTable:
    return main_screen(pilot).query_one(RunsTable)


def visible_rows(pilot: Pilot[None]) -> list[list[str]]:
    """The table's loaded rows as the plain text of each cell (the mark column first)."""
    t = table(pilot)
    return [[cell.plain for cell in t.get_row(str(run_id))] for run_id in t.order]


def status_line(pilot: Pilot[None]) -> str:
    return main_screen(pilot).query_one(StatusLine).plain


def title_bar(pilot: Pilot[None]) -> str:
    """The line over the table, whole (however narrow the terminal)."""
    return main_screen(pilot).query_one(TitleBar).plain
