"""SSH-lean rendering: a tick repaints only the rows whose cells changed, nothing when
nothing did, a relative time only when its text changes; and the terminal gets only the
cells that differ, to the same screen as Textual's own output.

The real app (headless) hands every compositor update to `Recording._display`, which
writes it to two model terminals: as Textual writes it and as `ui.lean` does."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import RenderableType
from rich.style import Style
from sqlalchemy import select, update
from test_ui_table import _bulk_runs
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from ui_support import FIXED_NOW, SIZE, settle, table
from vt_support import Terminal

import runs_tui.ui.app
from runs_tui.core import config
from runs_tui.core.columns import parse_column
from runs_tui.core.db import Store
from runs_tui.core.models import PIPELINE, RUN
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.widgets.status_line import StatusLine

MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")


@pytest.fixture(autouse=True)
def _style_codes_as_in_a_new_process() -> Iterator[None]:
    """Textual writes a style with the SGR codes Rich cached on the style object
    (`Style._ansi`) by whatever color system first rendered it in the process; the lean
    output computes them for the console's own. In one app's process that is one system,
    but earlier tests of this worker (screenshots) used others: forget the cached codes,
    so that the reference is what Textual writes in a process of its own. Objects an
    earlier test froze (`gc.freeze()`, as `ls` and the app do) are not listed: unfreeze."""
    gc.unfreeze()
    for obj in gc.get_objects():
        if isinstance(obj, Style):
            obj._ansi = None
    Strip.render_ansi.cache_clear()
    yield


class Recording(RunsApp):
    CSS_PATH = str(Path(runs_tui.ui.app.__file__).with_name(RunsApp.CSS_PATH))  # type: ignore[arg-type]

    def __init__(self, store: Store, clock: Callable[[], float], columns: str) -> None:
        loaded = config.load()
        loaded.settings.refresh = 3600  # ticks are the test's
        specs = [parse_column(c) for c in columns.split(",")]
        super().__init__(SqlSource(store), columns=specs, settings=loaded, clock=clock)
        self.stock, self.shown = Terminal(*SIZE), Terminal(*SIZE)
        self.updates: list[CompositorUpdate] = []
        self.written: list[str] = []
        self.stock_bytes = 0

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        if renderable is None:
            return
        assert isinstance(renderable, CompositorUpdate), renderable
        self.updates.append(renderable)
        stock = renderable.render_segments(self.console)
        self.stock.feed(stock)
        self.stock_bytes += len(stock.encode())
        lean = self.lean.prepare(renderable, self.console)
        if lean is not None:
            assert isinstance(lean, CompositorUpdate)
            sequence = lean.render_segments(self.console)
            self.shown.feed(sequence)
            self.written.append(sequence)

    def forget(self) -> None:
        self.updates.clear()
        self.written.clear()
        self.stock_bytes = 0

    def repainted_lines(self) -> set[int]:
        assert not any(isinstance(u, LayoutUpdate) for u in self.updates), "a full repaint"
        return {y for u in self.updates if isinstance(u, ChopsUpdate) for y, _, _ in u.spans}


def first_difference(app: Recording) -> str:
    """Where the lean screen differs from Textual's own: the line, both ways."""
    for y, (shown, stock) in enumerate(zip(app.shown.cells, app.stock.cells, strict=True)):
        if shown != stock:
            x = next(i for i, (a, b) in enumerate(zip(shown, stock, strict=True)) if a != b)
            return f"line {y} from x={x}: lean {shown[x : x + 6]} vs Textual {stock[x : x + 6]}"
    return "the same screen"


def _pipeline_id(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(select(PIPELINE.c.id)).scalar_one())


def _set(store: Store, number: int, **values: object) -> None:
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.number == number).values(**values))


def _index_of(pilot: Pilot[None], number: int) -> int:
    t = table(pilot)
    return next(i for i, run_id in enumerate(t.order) if t.rows_by_id[run_id].number == number)


def _line_of(app: Recording, index: int) -> int:
    t = app.screen.query_one("#runs")
    return t.region.y + 1 + index - int(t.scroll_y)  # below the header row


def _status_y(app: Recording) -> int:
    return app.screen.query_one(StatusLine).region.y


async def _tick(app: Recording, pilot: Pilot[None]) -> None:
    app.forget()
    app.screen.reload(force=False)  # type: ignore[attr-defined]
    await settle(pilot)


async def test_a_changed_cell_repaints_its_row_alone_and_only_the_cell_is_written(
    store: Store, simple: str
):
    _bulk_runs(store, _pipeline_id(store), 30)
    app = Recording(store, lambda: FIXED_NOW, "run,status,user")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.shown.text() == app.stock.text()
        assert "#30" in "".join(app.shown.text())

        _set(store, 5, status="failed", updated=FIXED_NOW + 1)
        await _tick(app, pilot)
        y = _line_of(app, _index_of(pilot, 5))
        assert app.repainted_lines() == {y}
        assert "Failed" in app.shown.text()[y]
        assert app.shown.cells == app.stock.cells, first_difference(app)
        sequence = "".join(app.written)
        assert [int(m[0]) - 1 for m in MOVE.findall(sequence)] == [y], sequence
        assert len(sequence.encode()) < app.stock_bytes / 2, (sequence, app.stock_bytes)


async def test_a_tick_when_nothing_changed_repaints_nothing(store: Store, simple: str):
    _bulk_runs(store, _pipeline_id(store), 30)
    app = Recording(store, lambda: FIXED_NOW, "run,version,tags,status,user,updated")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = app.screen.query_one(StatusLine).plain
        for _ in range(3):
            await _tick(app, pilot)
            assert app.updates == [] and app.written == []
        assert app.screen.query_one(StatusLine).plain == status


async def test_a_new_query_leaves_the_hidden_action_bar_alone(
    store: Store, simple: str, monkeypatch: pytest.MonkeyPatch
):
    """With nothing marked, a search (or sort, or filter) does not draw the hidden
    action bar again: its redraw asked for a layout pass of the whole screen, made while
    the search's rows were being read."""
    _bulk_runs(store, _pipeline_id(store), 30)
    app = Recording(store, lambda: FIXED_NOW, "run,status,user")
    laid_out: list[str] = []  # the widgets that asked for a layout pass
    refresh = Widget.refresh

    def noted(self: Widget, *regions: Region, **kwargs: bool) -> Widget:
        if kwargs.get("layout"):
            laid_out.append(type(self).__name__)
        return refresh(self, *regions, **kwargs)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr(Widget, "refresh", noted)
        await pilot.press("slash", *"#2", "enter")
        await settle(pilot)
        assert table(pilot).row_count == 11  # #2 and #20-#29
        assert "ActionBar" not in laid_out, laid_out


async def test_a_relative_time_is_repainted_only_when_its_text_changes(store: Store, simple: str):
    _bulk_runs(store, _pipeline_id(store), 5)
    _set(store, 1, started=FIXED_NOW - 190)  # "3m ago"
    now = [FIXED_NOW]
    app = Recording(store, lambda: now[0], "run,started")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        y = _line_of(app, _index_of(pilot, 1))
        assert "3m ago" in app.shown.text()[y]
        for later in (20, 40, 49):  # 3m 30s, 3m 50s, 3m 59s: the text stays
            now[0] = FIXED_NOW + later
            await _tick(app, pilot)
            assert app.updates == [], later
        now[0] = FIXED_NOW + 50  # 4m 00s
        await _tick(app, pilot)
        assert app.repainted_lines() <= {y, _status_y(app)}
        assert y in app.repainted_lines()
        assert "4m ago" in app.shown.text()[y]
        assert app.shown.cells == app.stock.cells
        row_writes = [m for m in MOVE.findall("".join(app.written)) if int(m[0]) - 1 == y]
        assert len(row_writes) == 1
