"""Marks at any size: what the marked runs allow is read from the store once, then only
for the marks toggled and the marked runs that change, so a tick with a million marks
costs what changed (issue 12)."""

from __future__ import annotations

import time
from collections.abc import Collection

from sqlalchemy import update
from test_ui_actions import FAILED_ONLY, apply_view, bar, bar_for, expected_counts, make_runs
from ui_support import main_screen, make_app, settle, status_line, table

from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.records import MarkState, RunId, RunQuery
from runs_tui.sources.sql import SqlSource

SIZE = (120, 36)


class CountingSource(SqlSource):
    """The real source, noting how many runs each count of the marks reads."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.read: list[int] = []

    def mark_states(self, q: RunQuery, ids: Collection[RunId]) -> dict[RunId, MarkState]:
        self.read.append(len(ids))
        return super().mark_states(q, ids)


def agent_sets(store: Store, run_id: int, status: str) -> None:
    """What an agent's write does to a run: a new status, and `updated` moves."""
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id == run_id).values(status=status, updated=time.time()))


async def tick(pilot) -> None:
    main_screen(pilot).reload(force=False)
    await settle(pilot)


async def test_marks_are_read_once_then_only_where_runs_change(store: Store, simple: str):
    ids = make_runs(store, simple, ["completed", "failed", "running", "pending"] * 30)
    source = CountingSource(store)
    app = make_app(store, clock=None, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("asterisk")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        marks = set(ids)
        assert table(pilot).marks == marks
        assert source.read == [120], "select All reads every mark once"
        assert bar(pilot) == bar_for(120, expected_counts(store, marks))

        await tick(pilot)
        assert source.read == [120], "a tick when nothing changed reads no mark"

        agent_sets(store, ids[2], "completed")  # a running run ends
        agent_sets(store, ids[3], "running")  # a pending one starts
        await tick(pilot)
        assert sorted(source.read[1:]) == [2], "a tick reads only the marked runs that changed"
        assert bar(pilot) == bar_for(120, expected_counts(store, marks))

        t = table(pilot)
        unmarked = t.cursor_run
        assert unmarked is not None
        await pilot.press("space")
        await settle(pilot)
        marks.discard(unmarked.id)
        assert source.read[2:] == [], "unmarking reads nothing"
        assert bar(pilot) == bar_for(119, expected_counts(store, marks))


async def test_a_marked_run_leaving_the_filter_counts_as_hidden(store: Store, simple: str):
    ids = make_runs(store, simple, ["failed"] * 5 + ["completed"] * 5)
    source = CountingSource(store)
    app = make_app(store, clock=None, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await apply_view(pilot, filters=FAILED_ONLY)
        await pilot.press("asterisk")
        await settle(pilot)
        await pilot.press("down", "enter")  # Filtered: the 5 failed runs
        await settle(pilot)
        assert table(pilot).marks == set(ids[:5])
        assert "5 marked" in status_line(pilot) and "hidden" not in status_line(pilot)
        before = len(source.read)

        agent_sets(store, ids[0], "pending")  # retried by someone else: no longer Failed
        await tick(pilot)
        assert source.read[before:] == [1]
        assert "5 marked (1 hidden by the filter)" in status_line(pilot)
        assert bar(pilot).startswith(" 5 marked (1 hidden by the filter)")


async def test_at_80_columns_the_bar_keeps_menu_and_clear_leaving_out_empty_actions(
    store: Store, simple: str
):
    make_runs(store, simple, ["failed", "completed", "running"])
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        shown = bar(pilot)
        assert shown.endswith("m menu · esc clear") and len(shown) <= 80, shown
        assert "Continue 0" not in shown, "an action no marked run allows gives way"
    async with make_app(store).run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        assert "Continue 0" in bar(pilot), "wide enough: every action, with its count"
