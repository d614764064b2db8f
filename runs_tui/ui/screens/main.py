"""The main screen: the runs table of one pipeline, its status line and the details.

Queries run in thread workers and come back as messages; a refresh applies only
what changed. The store failing shows a banner and retries; the last data stays.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from runs_tui.core import details, lookup
from runs_tui.core.columns import DEFAULT_COLUMNS, Column, parse_column
from runs_tui.core.db import StoreError
from runs_tui.core.query import RunQuery, count, window
from runs_tui.core.text import one_line
from runs_tui.ui.messages import DetailsLoaded, MarksCounted, StoreFailed, WindowLoaded
from runs_tui.ui.screens.run_actions import RunActions
from runs_tui.ui.widgets.action_bar import ActionBar
from runs_tui.ui.widgets.details import DetailsPanel
from runs_tui.ui.widgets.runs_table import RunsTable
from runs_tui.ui.widgets.status_line import StatusLine, cell_detail

PAGE = 200
LOAD_MORE_WITHIN = 20
VIEW_COLUMNS = ("run", "status")


class MainScreen(RunActions, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark", id="mark"),
        Binding("shift+up", "extend(-1)", "Mark up", show=False, id="extend_up"),
        Binding("shift+down", "extend(1)", "Mark down", show=False, id="extend_down"),
        Binding("asterisk", "select_menu", "Select", key_display="*", show=False, id="select"),
        Binding("escape", "clear_marks", "Clear marks", show=False, id="clear_marks"),
        Binding("m", "menu", "Menu", id="menu"),
        Binding("n", "new_run", "New run", id="new_run"),
        Binding("a", "abort", "Abort", id="abort"),
        Binding("c", "resume", "Continue", id="continue"),
        Binding("t", "tag", "Tag", id="tag"),
        Binding("x", "archive", "Archive", id="archive"),
        Binding("A", "toggle_archive", "Archive view", show=False, id="archive_view"),
        Binding("v", "toggle_view", "View", id="view"),
        Binding("p", "pause", "Pause", show=False, id="pause"),
        Binding("r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("P", "pick_pipeline", "Pipeline", id="pipeline"),
        Binding("full_stop", "precise", "Precise", show=False, id="precise", key_display="."),
        Binding("y", "copy_cell", "Copy", show=False, id="copy_cell"),
    ]

    paused: reactive[bool] = reactive(False)

    def __init__(self, pipeline: str | None = None, columns: list[Column] | None = None) -> None:
        super().__init__()
        self.wanted_pipeline = pipeline
        self.pipeline: lookup.PipelineSummary | None = None
        self.run_query: RunQuery | None = None
        self.columns = columns or [parse_column(c) for c in DEFAULT_COLUMNS]
        self.limit = PAGE
        self.total = 0
        self.refreshed: float | None = None
        self.mode = "table"
        self.store_error = ""
        self.page = PAGE
        self.archive_view = False
        self.follow_run: int | None = None
        self.mark_info = ""

    def compose(self) -> ComposeResult:
        yield Static(id="banner")
        with Container(id="body"):
            yield RunsTable(id="runs")
            yield DetailsPanel(id="details")
        yield ActionBar(id="action-bar")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.table.set_columns(self.columns)
        self.open_pipeline(self.wanted_pipeline)
        self.set_interval(self.runs_app.settings.refresh, self._tick, name="auto-refresh")

    def _tick(self) -> None:
        if not self.paused:
            self.reload()

    @work(thread=True, exclusive=True, group="pipeline")
    def open_pipeline(self, name: str | None) -> None:
        """Find the pipeline (`name`, else the first) and show its runs."""
        try:
            summaries = lookup.pipelines(self.runs_app.store)
        except (SQLAlchemyError, StoreError) as exc:
            self.post_message(StoreFailed(str(exc)))
            return
        chosen = next((p for p in summaries if p.name == name), None)
        if chosen is None and summaries:
            chosen = summaries[0]
            if name:
                self.app.call_from_thread(
                    self.notify,
                    f"No pipeline {one_line(name)!r}; showing {one_line(chosen.name)!r}",
                    severity="warning",
                    markup=False,
                )
        self.app.call_from_thread(self._set_pipeline, chosen)

    def _set_pipeline(self, summary: lookup.PipelineSummary | None) -> None:
        self.pipeline = summary
        if summary is None:
            self.sub_title = "no pipelines: register one with `runs-tui pipeline register FILE`"
            self._show_status()
            return
        self.runs_app.remember_pipeline(summary.name)
        self.run_query = RunQuery(summary.id, archived=self.archive_view)
        self.sub_title = self.title_for()
        self.limit = PAGE
        self.reload()

    def reload(self) -> None:
        if self.run_query is not None:
            self._load_window(self.run_query, self.limit)
            if self.mode != "table" and self.table.cursor_run is not None:
                self._load_details(self.table.cursor_run.id, self.query_one(DetailsPanel))

    @work(thread=True, exclusive=True, group="window")
    def _load_window(self, q: RunQuery, limit: int) -> None:
        at = self.runs_app.clock()
        store = self.runs_app.store
        try:
            rows = window(store, q.with_(at=at), 0, limit)
            total = count(store, q.with_(at=at))
        except (SQLAlchemyError, StoreError) as exc:
            self.post_message(StoreFailed(str(exc).splitlines()[0]))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(WindowLoaded(q, rows, total, at))

    @work(thread=True, exclusive=True, group="details")
    def _load_details(self, run_id: int, panel: DetailsPanel) -> None:
        after = panel.last_log if panel.run_id == run_id else 0
        at = self.runs_app.clock()
        try:
            loaded = details.load(self.runs_app.store, run_id, after_log=after)
        except (SQLAlchemyError, StoreError) as exc:
            self.post_message(StoreFailed(str(exc).splitlines()[0]))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(DetailsLoaded(run_id, loaded, at))

    @on(WindowLoaded)
    def _window_loaded(self, message: WindowLoaded) -> None:
        if message.query != self.run_query:
            return
        self._clear_error()
        self.total = message.total
        self.refreshed = message.at
        self.table.apply(message.rows, message.at)
        if self.follow_run is not None and self.table.move_to_run(self.follow_run):
            self.follow_run = None
        self._show_status()

    @on(DetailsLoaded)
    def _details_loaded(self, message: DetailsLoaded) -> None:
        current = self.table.cursor_run
        if current is not None and current.id == message.run_id:
            self.query_one(DetailsPanel).show(message.details, message.at)

    @on(MarksCounted)
    def _marks_counted(self, message: MarksCounted) -> None:
        if message.marks != self.table.marks:
            return
        n = len(message.marks)
        self.query_one(ActionBar).show(n, message.counts, message.hidden, self.archive_view)
        hidden = f" ({message.hidden:,} hidden by the filter)" if message.hidden else ""
        self.mark_info = f"{n:,} marked{hidden}" if n else ""
        self._show_status()

    def title_for(self) -> str:
        if self.pipeline is None:
            return ""
        return f"{self.pipeline.name} · ARCHIVE" if self.archive_view else self.pipeline.name

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.store_error = message.error
        banner = self.query_one("#banner", Static)
        banner.update(
            f"⚠ Database unavailable: {one_line(message.error, limit=300)} — "
            f"retrying every {self.runs_app.settings.refresh:g}s; showing the last data"
        )
        banner.add_class("-visible")

    def _clear_error(self) -> None:
        if self.store_error:
            self.store_error = ""
            self.query_one("#banner", Static).remove_class("-visible")

    @on(DataTable.CellHighlighted)
    def _cursor_moved(self, event: DataTable.CellHighlighted) -> None:
        self._show_status()
        loaded = len(self.table.order)
        if (
            event.coordinate.row >= loaded - LOAD_MORE_WITHIN
            and loaded < self.total
            and self.limit <= loaded
        ):
            self.limit += self.page
            self.reload()
        run = self.table.cursor_run
        panel = self.query_one(DetailsPanel)
        if self.mode != "table" and run is not None and run.id != panel.run_id:
            self._load_details(run.id, panel)

    def _show_status(self) -> None:
        table = self.table
        self.query_one(StatusLine).show(
            loaded=len(table.order),
            total=self.total,
            refreshed=self.refreshed,
            paused=self.paused,
            extra=self.mark_info,
            detail=cell_detail(table.cursor_run, table.cursor_spec, self.runs_app.clock()),
        )

    def watch_paused(self) -> None:
        self._show_status()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.notify("Auto-refresh paused" if self.paused else "Auto-refresh resumed")

    def action_refresh(self) -> None:
        self.reload()

    def action_details(self) -> None:
        self._set_mode("table" if self.mode == "pane" else "pane")

    def action_toggle_view(self) -> None:
        self._set_mode("table" if self.mode == "view" else "view")

    def _set_mode(self, mode: str) -> None:
        was = self.mode
        self.mode = mode
        self.set_class(mode == "pane", "-pane")
        self.set_class(mode == "view", "-view")
        if "view" in (was, mode):
            shown = (
                [c for c in self.columns if c.spec in VIEW_COLUMNS]
                if mode == "view"
                else self.columns
            )
            self.table.set_columns(shown, self.table.widths, self.table.precise)
        run = self.table.cursor_run
        if mode != "table" and run is not None:
            self._load_details(run.id, self.query_one(DetailsPanel))
        self.table.focus()

    def action_pick_pipeline(self) -> None:
        from runs_tui.ui.screens.pipelines import PipelinePicker

        def chosen(name: str | None) -> None:
            if name:
                self.open_pipeline(name)

        self.app.push_screen(PipelinePicker(self.pipeline.name if self.pipeline else None), chosen)

    def action_precise(self) -> None:
        column = self.table.cursor_spec
        if column is None:
            return
        precise = set(self.table.precise) ^ {column.spec}
        self.table.set_columns(self.table.columns_shown, self.table.widths, precise)
        on_off = "precise" if column.spec in precise else "rounded"
        self.notify(f"{one_line(column.header)}: {on_off} values", markup=False)

    def action_copy_cell(self) -> None:
        text = cell_detail(self.table.cursor_run, self.table.cursor_spec, self.runs_app.clock())
        if text:
            value = text.split(": ", 1)[1]
            self.app.copy_to_clipboard(value)
            self.notify(f"Copied {one_line(value, limit=60)}", markup=False)
