"""The status line (issue 13): the cursor cell's RUN TIME as people read it beside its
exact seconds, and counts that never contradict the rows on screen ("25 of 24 runs")
when a slow count was kept in the cache while runs were added."""

from __future__ import annotations

import threading
import time

from sqlalchemy import update
from test_ui_counts import until
from test_ui_view import go_to_column
from ui_support import FIXED_NOW, SIZE, main_screen, make_app, settle, status_line, table

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.records import RunQuery
from runs_tui.core.status import Status
from runs_tui.sources.sql import SqlSource

SECONDS = 4032.0527992248535  # 1h 07m 12.05s


async def test_run_time_shows_the_duration_beside_the_exact_seconds(store: Store, simple: str):
    run = ops.new_run(store, simple).id
    started = FIXED_NOW - 10_000.0
    with store.write() as s:
        s.execute(
            update(RUN)
            .where(RUN.c.id == run)
            .values(status=Status.COMPLETED, started=started, finished=started + SECONDS)
        )
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go_to_column(pilot, "run_time")
        await settle(pilot)
        assert table(pilot).get_row_at(0)[-1].plain == "1h 07m"
        detail = status_line(pilot).split(" | ", 1)[1]
        assert detail.startswith(f"RUN TIME: 1h 07m ({SECONDS!r} s)"), detail
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == repr(SECONDS), "the exact value is what is copied"


class SlowCount(SqlSource):
    """The real source, whose counts take long enough to be kept in the count cache."""

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        time.sleep(0.05)
        return super().count(q, limit)


async def test_a_cached_count_never_says_fewer_runs_than_the_table_shows(store: Store, simple: str):
    for _ in range(24):
        ops.new_run(store, simple)
    app = make_app(store, source=SlowCount(store), refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert status_line(pilot).startswith("24 of 24 runs")
        await pilot.press("r")  # a refresh counts (slowly: the count is cached)
        await settle(pilot)
        assert status_line(pilot).startswith("24 of 24 runs")

        ops.new_run(store, simple)  # an agent, a colleague: a run is added
        await pilot.press("r")
        await settle(pilot)
        assert len(table(pilot).order) == 25
        assert status_line(pilot).startswith("25 of 25 runs"), status_line(pilot)
        assert main_screen(pilot).total == 25


async def test_a_narrowed_query_counts_its_pipeline_past_what_it_shows(store: Store, simple: str):
    for _ in range(3):
        ops.new_run(store, simple)
    app = make_app(store, source=SlowCount(store), refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        screen.apply_view(screen.view.with_(search="tester"), save=False)
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert status_line(pilot).startswith("3 of 3 runs"), status_line(pilot)
        assert screen.all_runs == 3
        for _ in range(2):
            ops.new_run(store, simple)
        await pilot.press("r")
        await settle(pilot)
        line = status_line(pilot)
        assert len(table(pilot).order) == 5
        assert line.startswith("5 of 5 runs"), line
        assert screen.all_runs == 5, line


class CountedThenHeld(SqlSource):
    """The real source; once `hold` is set, a count is made and then held back until the
    test lets it go: the count of a moment the table has moved past."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.hold, self.gate, self.made = False, threading.Event(), threading.Event()

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        n = super().count(q, limit)
        if self.hold:
            self.made.set()
            assert self.gate.wait(60), "the test never let the count go"
        return n


async def test_a_count_made_before_runs_were_added_is_made_again(store: Store, simple: str):
    for _ in range(24):
        ops.new_run(store, simple)
    source = CountedThenHeld(store)
    app = make_app(store, source=source, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(120, source.gate.set)  # a failing test does not hang its exit
        await settle(pilot)
        source.hold = True
        await pilot.press("r")  # counted (24), held
        await until(pilot, source.made.is_set, "the count made")
        ops.new_run(store, simple)
        await pilot.press("r")  # 25 rows; the count under way is not stopped
        await until(pilot, lambda: len(table(pilot).order) == 25, "the new run shown")
        source.hold = False
        source.gate.set()
        await until(pilot, lambda: main_screen(pilot).total is not None, "a count")
        await settle(pilot)
        assert status_line(pilot).startswith("25 of 25 runs"), status_line(pilot)
