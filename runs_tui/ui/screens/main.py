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
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from runs_tui.core import details, lookup
from runs_tui.core.columns import Column, parse_column
from runs_tui.core.db import StoreError
from runs_tui.core.query import CountCache, RunQuery, window
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView
from runs_tui.ui.messages import DetailsLoaded, MarksCounted, StoreFailed, WindowLoaded
from runs_tui.ui.screens.view_actions import SearchInput, ViewActions
from runs_tui.ui.widgets.action_bar import ActionBar
from runs_tui.ui.widgets.details import DetailsPanel
from runs_tui.ui.widgets.runs_table import RunsTable
from runs_tui.ui.widgets.status_line import StatusLine, cell_detail

PAGE = 200


def header_markers(view: TableView) -> dict[str, str]:
    """Sort direction and order (▲1 ▼2) and a filter mark (≡) per column spec."""
    out: dict[str, str] = {}
    for i, key in enumerate(view.sort, 1):
        out[key.column] = ("▼" if key.desc else "▲") + (str(i) if len(view.sort) > 1 else "")
    for spec in view.filtered_columns():
        out[spec] = out.get(spec, "") + "≡"
    return out


LOAD_MORE_WITHIN = 20
VIEW_COLUMNS = ("run", "status")


class MainScreen(ViewActions):
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
        Binding("P", "pick_pipeline", "Pipeline", show=False, id="pipeline"),
        Binding("full_stop", "precise", "Precise", show=False, id="precise", key_display="."),
        Binding("y", "copy_cell", "Copy cell", show=False, id="copy_cell"),
        Binding("s", "sort", "Sort", id="sort"),
        Binding("S", "sort(True)", "Add sort", show=False, id="sort_secondary"),
        Binding("f", "filter", "Filter", id="filter"),
        Binding("F", "clear_filters", "Clear filters", show=False, id="clear_filters"),
        Binding("slash", "search", "Search", key_display="/", show=False, id="search"),
        Binding("C", "columns", "Columns", show=False, id="columns"),
        Binding(
            "minus", "hide_column", "Hide column", key_display="-", show=False, id="hide_column"
        ),
        Binding("shift+left", "move_column(-1)", "Move column left", show=False, id="move_left"),
        Binding("shift+right", "move_column(1)", "Move column right", show=False, id="move_right"),
        Binding(
            "less_than_sign", "width(-1)", "Narrow column", key_display="<", show=False, id="narrow"
        ),
        Binding(
            "greater_than_sign", "width(1)", "Widen column", key_display=">", show=False, id="widen"
        ),
        Binding(
            "equals_sign", "width(0)", "Auto-fit column", key_display="=", show=False, id="autofit"
        ),
        Binding("Y", "copy_view", "Copy view", show=False, id="copy_view"),
        Binding("e", "export", "Export", show=False, id="export"),
    ]

    paused: reactive[bool] = reactive(False)

    def __init__(
        self,
        pipeline: str | None = None,
        columns: list[Column] | None = None,
        view: TableView | None = None,
    ) -> None:
        super().__init__()
        self.wanted_pipeline = pipeline
        self.start_view = view
        self.start_columns = tuple(c.spec for c in columns) if columns else None
        self.pipeline: lookup.PipelineSummary | None = None
        self.run_query: RunQuery | None = None
        self.view = TableView()
        self.limit = PAGE
        self.total = 0
        self.all_runs = 0
        self.counts = CountCache()
        self.refreshed: float | None = None
        self.mode = "table"
        self.store_error = ""
        self.page = PAGE
        self.follow_run: int | None = None
        self.mark_info = ""

    def compose(self) -> ComposeResult:
        yield Static(id="banner")
        with Container(id="body"):
            yield RunsTable(id="runs")
            yield DetailsPanel(id="details")
        yield SearchInput(
            placeholder="search run number, tags, user, parameters (enter)", id="search"
        )
        yield ActionBar(id="action-bar")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.open_pipeline(self.wanted_pipeline)
        self.set_interval(self.runs_app.settings.refresh, self._tick, name="auto-refresh")

    def _tick(self) -> None:
        if not self.paused:
            self.reload()

    @work(thread=True, exclusive=True, group="pipeline")
    def open_pipeline(self, name: str | None) -> None:
        """Find the pipeline (`name`, else the first) and show its runs."""
        try:
            chosen, found = lookup.first_pipeline(self.runs_app.store, name)
        except (SQLAlchemyError, StoreError) as exc:
            self.post_message(StoreFailed(str(exc)))
            return
        if chosen is not None and not found:
            self.app.call_from_thread(
                self.notify,
                f"No pipeline {one_line(name or '')!r}; showing {one_line(chosen.name)!r}",
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
        saved = self.runs_app.settings.pipelines.get(summary.name)
        view, save = (saved or TableView()).with_(archived=self.view.archived), False
        if self.start_view is not None:
            view, save, self.start_view = self.start_view, True, None
        if self.start_columns is not None:
            view, save, self.start_columns = view.with_(columns=self.start_columns), True, None
        self.apply_view(view, save=save)

    def apply_view(self, view: TableView, *, save: bool = True) -> None:
        """Show `view`: columns, headers, query; saved for the pipeline unless told not to."""
        self.view = view
        self._show_columns()
        if self.pipeline is None:
            return
        self.run_query = view.query(self.pipeline.id)
        self.sub_title = self.title_for()
        self.limit = self.page
        if save:
            self.runs_app.save_view(self.pipeline.name, view.with_(archived=False))
        self.marks_changed(set())
        self.reload()

    def _show_columns(self) -> None:
        specs = [c for c in self.view.columns if self.mode != "view" or c in VIEW_COLUMNS]
        markers = header_markers(self.view)
        self.table.set_columns(
            [parse_column(c) for c in specs or VIEW_COLUMNS],
            self.view.width_map,
            set(self.view.precise),
            markers,
        )

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
            timed = q.with_(at=at)
            rows = window(store, timed, 0, limit)
            total = self.counts.count(store, timed)
            narrowed = bool(q.filters or q.tags or q.search.strip())
            everything = RunQuery(q.pipeline_id, archived=q.archived, at=at)
            all_runs = self.counts.count(store, everything) if narrowed else total
        except (SQLAlchemyError, StoreError) as exc:
            self.post_message(StoreFailed(str(exc).splitlines()[0]))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(WindowLoaded(q, rows, total, at, all_runs))

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
        self.all_runs = message.all_runs
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
            everything=self.all_runs,
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
            self._show_columns()
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

    def action_toggle_archive(self) -> None:
        """The archive is another table: marks do not follow into it."""
        self.action_clear_marks()
        self.apply_view(self.view.with_(archived=not self.view.archived), save=False)

    def action_copy_cell(self) -> None:
        text = cell_detail(self.table.cursor_run, self.table.cursor_spec, self.runs_app.clock())
        if text:
            value = text.split(": ", 1)[1]
            self.app.copy_to_clipboard(value)
            self.notify(f"Copied {one_line(value, limit=60)}", markup=False)
