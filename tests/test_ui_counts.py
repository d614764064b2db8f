"""A query's rows never wait for its count: counting a search term that a million runs
hold takes a second, reading its first rows a few milliseconds (issue 12). A search is
first counted up to a bound, beside its rows; the exact count follows. The count is a
load of its own: paging down does not stop it, a new query does."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from test_exports import many_runs
from textual import events
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Input
from ui_support import main_screen, make_app, settle, status_line, table

from runs_tui.core.db import Store
from runs_tui.core.records import RunId, RunQuery, RunRow
from runs_tui.sources.sql import SqlSource
from runs_tui.ui import loading
from runs_tui.ui.screens import main
from runs_tui.ui.screens.main_loads import PAGE
from runs_tui.ui.widgets.runs_table import RunsTable

SIZE = (120, 36)


class HeldCount(SqlSource):
    """The real source, whose counts wait until the test lets them go."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.gate = threading.Event()
        self.asked: list[RunQuery] = []

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        self.asked.append(q)
        assert self.gate.wait(60), "the test never let the count go"
        return super().count(q, limit)


async def until(pilot, ready: Callable[[], bool], what: str, deadline: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + deadline
    while not ready():
        assert time.monotonic() < give_up, f"never: {what} (status: {status_line(pilot)!r})"
        await pilot.pause(0.02)


async def test_rows_come_before_the_count_and_paging_does_not_stop_it(store: Store, simple: str):
    many_runs(store, simple, PAGE + 150)
    source = HeldCount(store)
    app = make_app(store, source=source)
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(120, source.gate.set)  # a failing test does not hang its exit
        await until(pilot, lambda: len(table(pilot).order) == PAGE, "the first page drawn")
        assert status_line(pilot).startswith(f"{PAGE} of … runs · counting…")
        assert table(pilot).get_row_at(0)[1].plain == f"#{PAGE + 150}", "newest first"

        table(pilot).move_cursor(row=PAGE - 1)  # the end of the page: the next one loads
        await until(pilot, lambda: len(table(pilot).order) == PAGE + 150, "the next page")
        assert "counting…" in status_line(pilot)

        source.gate.set()
        await until(pilot, lambda: "counting" not in status_line(pilot), "the count shown")
        assert status_line(pilot).startswith(f"{PAGE + 150} of {PAGE + 150} runs")
        assert len(source.asked) == 1, "one count: paging neither stopped nor repeated it"


async def test_a_query_with_fewer_runs_than_a_page_is_counted_by_its_rows(
    store: Store, simple: str
):
    many_runs(store, simple, 30)
    source = HeldCount(store)
    app = make_app(store, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert status_line(pilot).startswith("30 of 30 runs")
        assert source.asked == [], "the rows were all there is: nothing to count"
        assert main_screen(pilot).total == 30


class HeldWindow(SqlSource):
    """The real source, whose windows of a search wait until the test lets them go (a
    server that takes seconds to read)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.gate = threading.Event()

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        if q.search:
            assert self.gate.wait(60), "the test never let the window go"
        return super().window(q, offset, limit)


@asynccontextmanager
async def thirty_runs(
    store: Store, simple: str, source: HeldWindow, refresh: float | None = None
) -> AsyncIterator[Pilot[None]]:
    """The app on 30 runs of `simple` through `source`, settled; the held window let go
    after 120 s so that a failing test does not hang its exit."""
    many_runs(store, simple, 30)
    app = make_app(store, source=source, refresh=refresh)
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(120, source.gate.set)
        await settle(pilot)
        yield pilot


async def test_a_new_query_says_loading_until_its_rows_come(store: Store, simple: str):
    source = HeldWindow(store)
    async with thirty_runs(store, simple, source) as pilot:
        assert status_line(pilot).startswith("30 of 30 runs")
        await pilot.press("slash", "3", "enter")
        await until(pilot, lambda: "loading runs…" in status_line(pilot), "loading said")
        assert "0 of" not in status_line(pilot)
        source.gate.set()
        await until(pilot, lambda: "loading" not in status_line(pilot), "the rows shown")
        await settle(pilot)
        shown = len(table(pilot).order)
        assert 0 < shown < 30 and status_line(pilot).startswith(f"{shown} of {shown} runs")


async def test_the_search_box_closes_with_the_rows_it_searched_for(
    store: Store, simple: str, monkeypatch
) -> None:
    monkeypatch.setattr(main, "CLOSE_SEARCH_AFTER", 120)  # only the rows close it here
    source = HeldWindow(store)
    async with thirty_runs(store, simple, source) as pilot:
        box = pilot.app.screen.query_one("#search")
        await pilot.press("slash", "3", "enter")
        await until(pilot, lambda: "loading runs…" in status_line(pilot), "loading said")
        assert box.display and box.has_focus, "open while the rows are read"
        source.gate.set()
        await until(pilot, lambda: not box.display, "the box closed")
        assert "loading" not in status_line(pilot), "closed with the rows, not before"
        await until(pilot, lambda: table(pilot).has_focus, "the focus back on the table")


async def test_a_slow_search_closes_its_box_before_its_rows(
    store: Store, simple: str, monkeypatch
) -> None:
    monkeypatch.setattr(main, "CLOSE_SEARCH_AFTER", 0.05)
    source = HeldWindow(store)
    async with thirty_runs(store, simple, source) as pilot:
        box = pilot.app.screen.query_one("#search")
        await pilot.press("slash", "3", "enter")
        await until(pilot, lambda: not box.display, "the box closed")
        assert "loading runs…" in status_line(pilot)
        await until(pilot, lambda: table(pilot).has_focus, "the focus back on the table")
        source.gate.set()
        await until(pilot, lambda: "loading" not in status_line(pilot), "the rows shown")


class CountedWindows(HeldWindow):
    """A held window that counts how often a search's window was asked for."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.searches = 0

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        if q.search:
            self.searches += 1
        return super().window(q, offset, limit)


async def test_ticks_do_not_restart_a_new_query_still_being_read(store: Store, simple: str):
    source = CountedWindows(store)
    async with thirty_runs(store, simple, source, refresh=0.05) as pilot:  # ticks faster
        await pilot.press("slash", "3", "enter")
        await until(pilot, lambda: source.searches == 1, "the search's window asked for")
        await pilot.pause(0.5)  # ten ticks
        assert source.searches == 1, "a tick started the same window again"
        source.gate.set()
        await until(pilot, lambda: "…" not in status_line(pilot), "the rows shown and counted")
        shown = len(table(pilot).order)
        assert 0 < shown < 30 and status_line(pilot).startswith(f"{shown} of {shown} runs")


class HeldExact(SqlSource):
    """The real source, whose exact counts of a search wait until the test lets them go
    (a needle a million runs hold); a count up to a bound, and the pipeline's, do not."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.gate = threading.Event()
        self.bounds: list[int] = []
        self.exact = 0

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        if limit is not None:
            self.bounds.append(limit)
        elif q.search:
            self.exact += 1
            assert self.gate.wait(60), "the test never let the count go"
        return super().count(q, limit)


async def test_a_search_many_runs_hold_shows_a_bound_until_its_exact_count(
    store: Store, simple: str, monkeypatch
) -> None:
    many_runs(store, simple, PAGE + 150)
    monkeypatch.setattr(loading, "BOUND", PAGE + 50)
    source = HeldExact(store)
    app = make_app(store, source=source, refresh=3600)  # no tick loads the query again
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(120, source.gate.set)  # a failing test does not hang its exit
        await settle(pilot)
        await pilot.press("slash", *"simple", "enter")
        bound = f"{PAGE} of {PAGE + 50:,}+ runs · {PAGE + 50:,}+ of {PAGE + 150} match"
        await until(pilot, lambda: status_line(pilot).startswith(bound), "the bound shown")
        assert "counting…" in status_line(pilot)
        assert source.bounds == [PAGE + 51]

        await until(pilot, lambda: source.exact == 1, "the exact count asked for")
        source.gate.set()
        await until(pilot, lambda: "counting" not in status_line(pilot), "the exact count")
        assert status_line(pilot).startswith(f"{PAGE} of {PAGE + 150} runs ·")
        assert "+" not in status_line(pilot).split("·")[0]


async def test_a_search_fewer_runs_hold_than_the_bound_is_counted_once(
    store: Store, simple: str, monkeypatch
) -> None:
    many_runs(store, simple, PAGE + 150)
    monkeypatch.setattr(loading, "BOUND", PAGE + 500)
    source = HeldExact(store)  # its gate stays shut: an exact count would never come
    app = make_app(store, source=source, refresh=3600)  # no tick counts it exactly
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(120, source.gate.set)
        await settle(pilot)
        await pilot.press("slash", *"simple", "enter")
        await until(pilot, lambda: "counting" not in status_line(pilot), "the count")
        assert status_line(pilot).startswith(f"{PAGE} of {PAGE + 150} runs")
        assert source.exact == 0, "below the bound, the bound is the count"


class CountedBesideRows(SqlSource):
    """The real source: a search's rows are read once its bound is counted (else they
    never are: the bound must start beside them, and it comes first); notes which rows
    the table had drawn when the page's rest and the exact count were read."""

    def __init__(self, store: Store, drawn: list[frozenset[RunId]]) -> None:
        super().__init__(store)
        self.drawn = drawn
        self.bounded = threading.Event()
        self.rest: list[list[frozenset[RunId]]] = []
        self.exact: list[list[frozenset[RunId]]] = []

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        if q.search and limit is None:
            self.exact.append(list(self.drawn))
        n = super().count(q, limit)
        if q.search and limit is not None:
            self.bounded.set()
        return n

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        if q.search:
            assert self.bounded.wait(30), "the rows were read before the bound was counted"
        return super().window(q, offset, limit)

    def window_after(self, q: RunQuery, run_id: RunId, limit: int = 200) -> list[RunRow] | None:
        if q.search:
            self.rest.append(list(self.drawn))
        return super().window_after(q, run_id, limit)


async def test_a_search_is_counted_beside_its_rows_and_the_rest_follows_them(
    store: Store, simple: str, monkeypatch
) -> None:
    """A search's first count (a bound: an index read of at most BOUND + 1 runs) starts
    with its rows, so the status line has it with them or just after. What follows
    waits until they are drawn, as its thread would hold the GIL while the frame that
    shows them is made: the rest of the page (hundreds of rows made in Python) and the
    exact count the bound calls for (a worker that reads every match)."""
    drawn: list[frozenset[RunId]] = []  # the runs the table held each time it drew
    render_lines = RunsTable.render_lines

    def noted(self: RunsTable, crop: Region) -> list[Strip]:
        drawn.append(frozenset(self.order))
        return render_lines(self, crop)

    monkeypatch.setattr(RunsTable, "render_lines", noted)
    monkeypatch.setattr(loading, "BOUND", 5)
    many_runs(store, simple, 2 * PAGE)  # half of them alice's: more than a screen
    with store.write() as s:
        s.execute(text("UPDATE run SET user = 'alice' WHERE number % 2 = 0"))
    with store.read() as s:
        alice = {i for (i,) in s.execute(text("SELECT id FROM run WHERE user = 'alice'"))}
    source = CountedBesideRows(store, drawn)
    app = make_app(store, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"alice", "enter")
        await until(pilot, lambda: len(table(pilot).order) == PAGE, "the page's rest")
        await until(pilot, lambda: status_line(pilot).startswith(f"{PAGE} of {PAGE} runs"), "count")
        assert source.rest, "the page's rest was read"
        for before in source.rest:
            assert any(rows and rows <= alice for rows in before), "read before rows drawn"
        assert len(source.exact) == 1, "one exact count"
        assert any(rows and rows <= alice for rows in source.exact[0]), "asked before drawn"


async def test_keys_typed_with_the_slash_go_to_the_search_box(store: Store, simple: str):
    """Keys that come in one read with `/` (typed fast over SSH) are the search's text,
    not table commands (`e` would open the export, `r` refresh, `-` hide a column)."""
    many_runs(store, simple, 30)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = [c.spec for c in table(pilot).columns_shown]
        for key, char in (("slash", "/"), ("e", "e"), ("r", "r"), ("minus", "-"), ("x", "x")):
            app.post_message(events.Key(key, char))  # one read: no pause between keys
        await settle(pilot)
        box = app.screen.query_one("#search", Input)
        assert isinstance(app.screen, main.MainScreen), "a key opened another screen"
        assert box.display and box.value == "er-x"
        assert [c.spec for c in table(pilot).columns_shown] == shown, "`-` hid a column"
        await pilot.press("slash")
        assert box.value == "er-x/", "`/` in the box is text"


async def test_keys_typed_after_enter_are_the_tables(store: Store, simple: str):
    """ "/", a term, Enter and more keys in one read (typed fast over SSH): the search is
    the term as it was at Enter, and the keys after it are the table's (the box, still
    open until the rows come, passes them on), as after any prompt."""
    many_runs(store, simple, 30)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = [("slash", "/"), ("2", "2"), ("enter", "\r"), ("j", "j"), ("down", None)]
        keys.append(("down", None))  # "j": a key the table has no use for
        for key, char in keys:
            app.post_message(events.Key(key, char))  # one read: no pause between keys
        await settle(pilot)
        screen = main_screen(pilot)
        assert screen.run_query is not None and screen.run_query.search == "2"
        box = screen.query_one("#search", Input)
        assert not box.display and box.value == "2"
        # on the rows then shown, old or new; the run it is on is kept when they change
        assert table(pilot).has_focus and table(pilot).cursor_row > 0, "the downs moved it"


async def test_a_search_with_fewer_runs_than_a_screen_is_counted_with_its_rows(
    store: Store, simple: str
):
    """Fewer rows than the first read asked for are all the search has: the status line
    gives their number with the rows, and the pipeline's runs as last counted, while the
    counts (held here) run after."""
    many_runs(store, simple, 30)
    source = HeldCount(store)
    app = make_app(store, source=source)
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(120, source.gate.set)
        source.gate.set()
        await settle(pilot)
        assert status_line(pilot).startswith("30 of 30 runs")
        source.gate.clear()
        await pilot.press("slash", *"#2", "enter")
        await until(pilot, lambda: table(pilot).row_count == 11, "#2 and #20-#29")
        assert status_line(pilot).startswith("11 of 11 runs · 11 of 30 match"), "counting…?"
        source.gate.set()
