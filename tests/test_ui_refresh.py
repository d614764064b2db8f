"""A refresh costs what is on screen, not what was scrolled past: after scrolling far, a
tick loads the visible rows plus a margin and the loaded runs that changed; a tick when
nothing changed loads no rows at all. What the user sees stays right."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from test_ui_table import _bulk_runs
from ui_support import SIZE, make_app, settle, status_line, table, visible_rows

from runs_tui.core import ops
from runs_tui.core.changes import Watch
from runs_tui.core.db import Store, now
from runs_tui.core.models import PIPELINE, RUN
from runs_tui.core.records import RunId, RunQuery, RunRow, ValueFilter
from runs_tui.sources.sql import SqlSource


class CountingSource(SqlSource):
    """The real SQL source, noting the windows and runs it was asked for."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.windows: list[tuple[int, int]] = []  # (offset, limit)
        self.after: list[tuple[RunId, int]] = []  # (the run above, limit)
        self.loaded: list[int] = []

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        self.windows.append((offset, limit))
        return super().window(q, offset, limit)

    def window_after(self, q: RunQuery, run_id: RunId, limit: int = 200) -> list[RunRow] | None:
        self.after.append((run_id, limit))
        return super().window_after(q, run_id, limit)

    def runs(self, ids: Sequence[RunId]) -> list[RunRow]:
        self.loaded.append(len(ids))
        return super().runs(ids)


def _pipeline_id(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(select(PIPELINE.c.id)).scalar_one())


def _touch(store: Store, number: int, **values: object) -> None:
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.number == number).values(updated=now(), **values))


async def test_a_tick_after_scrolling_far_loads_the_visible_rows_and_the_changed(
    store: Store, simple: str
):
    _bulk_runs(store, _pipeline_id(store), 700)
    source = CountingSource(store)
    app = make_app(store, source=source, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        while len(t.order) < 700:
            t.move_cursor(row=len(t.order) - 1)
            await settle(pilot)
        t.move_cursor(row=650)
        await settle(pilot)
        assert status_line(pilot).startswith("700 of 700 runs")
        source.windows.clear()
        source.after.clear()
        shown, far = (t.rows_by_id[t.order[i]].number for i in (650, 2))
        _touch(store, shown, status="failed")  # on screen: the cursor's row
        _touch(store, far, status="aborted")  # loaded, far above what is shown
        app.screen.reload(force=False)  # type: ignore[attr-defined]
        await settle(pilot)
        assert source.windows == [], "no OFFSET: the rows are read from their place"
        assert len(source.after) == 1
        above, limit = source.after[0]
        assert t.order.index(above) > 500 and limit < 100, source.after
        assert source.loaded == [1], "only the changed run off screen is loaded"
        assert t.rows_by_id[t.order[650]].status == "failed"
        assert t.rows_by_id[t.order[2]].status == "aborted"
        assert visible_rows(pilot)[650][4] == "Failed"
        assert len(t.order) == 700 and len(set(t.order)) == 700

        with store.write() as s:  # the changes are past the watermark's margin now
            s.execute(update(RUN).values(updated=RUN.c.updated - 60))
        app.screen.changes = Watch(now() - 30)  # type: ignore[attr-defined]
        source.windows.clear()
        source.after.clear()
        app.screen.reload(force=False)  # type: ignore[attr-defined]
        await settle(pilot)
        assert source.windows == source.after == [], "no change: no rows are loaded"
        assert visible_rows(pilot)[650][4] == "Failed"


async def test_new_runs_show_at_the_top_and_runs_leaving_the_filter_go(store: Store, simple: str):
    ids = [ops.new_run(store, simple).id for _ in range(5)]
    app = make_app(store, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        pending = ValueFilter("status", frozenset({"pending"}))
        screen.apply_view(screen.view.with_filter("status", pending))  # type: ignore[attr-defined]
        await settle(pilot)
        t = table(pilot)
        assert sorted(t.order) == sorted(ids)
        ops.abort(store, [ids[1]])
        new = ops.new_run(store, simple).id
        screen.reload(force=False)  # type: ignore[attr-defined]
        await settle(pilot)
        assert t.order[0] == new
        assert ids[1] not in t.order and len(t.order) == 5
        assert status_line(pilot).startswith("5 of 5 runs")


async def test_pages_loaded_while_runs_are_added_show_each_run_once(store: Store, simple: str):
    """A page is read after the last run loaded, not past an OFFSET: runs added above
    meanwhile neither repeat a run at the seam nor push one out of the table."""
    pid = _pipeline_id(store)
    _bulk_runs(store, pid, 700)
    source = CountingSource(store)
    app = make_app(store, source=source, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        first = len(t.order)
        assert first < 700
        _bulk_runs(store, pid, 7, start=701)  # newer: they sort above every loaded run
        while len(t.order) < 700:
            t.move_cursor(row=len(t.order) - 1)
            await settle(pilot)
        numbers = [t.rows_by_id[i].number for i in t.order]
        assert numbers == list(range(700, 0, -1)), "each run once, in order, none skipped"
        assert source.after and all(limit > 0 for _, limit in source.after)
