"""The main screen: the runs table of one pipeline, its status line and the details.

Queries run in thread workers and come back as messages; a refresh applies only what
changed. The source failing shows a banner and retries; the last data stays. Actions
are flows (`ui.flows`) run as workers of this screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Input
from textual.worker import Worker, get_current_worker

from runs_tui.core.actions import ACTIONS, ActionKind, by_key
from runs_tui.core.changes import Watch
from runs_tui.core.columns import Column, parse_column
from runs_tui.core.count_cache import CountCache
from runs_tui.core.records import PipelineSummary, RunId, RunQuery
from runs_tui.core.source import SourceError
from runs_tui.core.status import Action
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView, opening_view
from runs_tui.ui import loading
from runs_tui.ui.context import Context
from runs_tui.ui.flows import actions, marks, view
from runs_tui.ui.messages import Counted, DetailsLoaded, StoreFailed, WindowLoaded
from runs_tui.ui.screens.main_keys import MAIN_BINDINGS
from runs_tui.ui.screens.main_marks import MarksScreen
from runs_tui.ui.widgets.action_bar import ActionBar
from runs_tui.ui.widgets.banner import Banner
from runs_tui.ui.widgets.details import DetailsPanel
from runs_tui.ui.widgets.runs_table import RunsTable, header_markers
from runs_tui.ui.widgets.search_input import SearchInput
from runs_tui.ui.widgets.status_line import StatusLine, cell_detail

PAGE = 200
LOAD_MORE_WITHIN = 20
MARGIN = 20  # rows refreshed above and below what is on screen
VIEW_COLUMNS = ("run", "status")


class MainScreen(MarksScreen):
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    paused: reactive[bool] = reactive(False)

    def __init__(
        self,
        context: Context,
        pipeline: str | None = None,
        columns: list[Column] | None = None,
        view: TableView | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.wanted_pipeline = pipeline
        self.start_view = view
        self.start_columns = tuple(c.spec for c in columns) if columns else None
        self.pipeline: PipelineSummary | None = None
        self.run_query: RunQuery | None = None
        self.view = TableView()
        self.limit = PAGE
        self.shown_query: RunQuery | None = None  # the query of the rows in the table
        self.changes: Watch | None = None  # how far changes have been seen
        self._threads: dict[Worker[None], int] = {}  # window loads under way: their threads
        self.total: int | None = 0  # None: the shown query's rows are in, not yet counted
        self.all_runs: int | None = 0
        self.counts = CountCache(context.source.count)
        self.updated: float | None = None
        self.mode = "table"
        self.page = PAGE
        self.follow_run: RunId | None = None
        self.mark_info = ""

    def compose(self) -> ComposeResult:
        yield Banner(id="banner")
        with Container(id="body"):
            yield RunsTable(id="runs")
            yield DetailsPanel(id="details")
        yield SearchInput(
            placeholder="search run number, tags, user, parameters (enter)", id="search"
        )
        yield ActionBar(id="action-bar")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def flow(self, work: Coroutine[Any, Any, None]) -> None:
        """Run an action's flow as a worker of this screen."""
        self.run_worker(work, group="flow")

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.open_pipeline(self.wanted_pipeline)
        self.set_interval(self.context.settings.refresh, self._tick, name="auto-refresh")

    def _tick(self) -> None:
        if not self.paused:
            self.reload(force=False)

    @work(thread=True, exclusive=True, group="pipeline")
    def open_pipeline(self, name: str | None) -> None:
        """Find the pipeline (`name`, else the first) and show its runs."""
        try:
            chosen, found = self.context.source.find_pipeline(name)
        except SourceError as exc:
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

    def _set_pipeline(self, summary: PipelineSummary | None) -> None:
        self.pipeline = summary
        if summary is None:
            self.sub_title = "no pipelines: register one with `runs-tui pipeline register FILE`"
            self._show_status()
            return
        self.context.remember_pipeline(summary.name)
        saved = self.context.settings.pipelines.get(summary.name) or TableView()
        opened = opening_view(saved, self.view.archived, self.start_view, self.start_columns)
        self.start_view, self.start_columns = None, None
        self.apply_view(*opened)

    def apply_view(self, view: TableView, save: bool = True) -> None:
        """Show `view`: columns, headers, query; saved for the pipeline unless told not to."""
        self.view = view
        self._show_columns()
        if self.pipeline is None:
            return
        self.run_query = view.query(self.pipeline.id)
        self.sub_title = self.title_for()
        self.limit = self.page
        if save:
            self.context.save_view(self.pipeline.name, view.with_(archived=False))
        self.marks_changed(set())
        self.reload()

    def _show_columns(self) -> None:
        specs = [c for c in self.view.columns if self.mode != "view" or c in VIEW_COLUMNS]
        self.table.set_columns(
            [parse_column(c) for c in specs or VIEW_COLUMNS],
            self.view.width_map,
            set(self.view.precise),
            header_markers(self.view),
        )

    def reload(self, force: bool = True) -> None:
        """Show the query's rows: a new query from the top; the same one by refreshing what
        is visible and what changed (every time when `force`, else only if anything did)."""
        q, source, at = self.run_query, self.context.source, self.context.clock()
        if q is None:
            return
        if q != self.shown_query:
            limit = self.limit
            self._load(lambda: loading.fresh(source, q, limit, at))
        elif force or not self._loading("fresh", "more", "refresh"):
            table = self.table
            top = max(int(table.scroll_y) - MARGIN, 0)
            height = table.scrollable_content_region.height or PAGE
            span = min(height + 2 * MARGIN, max(len(table.order) - top, 1))  # not beyond
            above = table.order[top - 1] if 0 < top <= len(table.order) else None
            shown = loading.Visible(top, span, table.positions().keys(), above)
            watch = self.changes
            self._load(lambda: loading.refresh(source, q, at, shown, watch, force))
        self._reload_details()

    def _loading(self, *names: str, group: str = "window") -> bool:
        """A load of these kinds is under way: a tick must not supersede it (a load that
        takes longer than a tick would never end)."""
        return any(w.name in names and w.is_running for w in self.workers if w.group == group)

    def _reload_details(self, fresh: bool = False) -> None:
        """Load the cursor run's details when they are shown; only new log lines unless
        it is another run (or `fresh`)."""
        run = self.table.cursor_run
        if self.mode == "table" or run is None:
            return
        panel = self.query_one(DetailsPanel)
        if fresh or run.id != panel.run_id:
            self._load_details(run.id, 0)
        else:
            self._load_details(run.id, panel.last_log)

    def _load(self, fetch: Callable[[], Message], name: str = "", group: str = "window") -> None:
        """Run `fetch` in a worker. A newer load of its group supersedes it: its query is
        stopped in the database (from another thread: a cancel may cost a round trip), its
        result dropped."""
        superseded = [
            (w, t) for w, t in list(self._threads.items()) if w.is_running and w.group == group
        ]
        if superseded:
            self.run_worker(partial(self._stop, superseded), thread=True, group="stop")
        fresh = self.run_query != self.shown_query
        self.run_worker(
            partial(self._fetch, fetch),
            name=name or ("fresh" if fresh else "refresh"),
            group=group,
            exclusive=True,
            thread=True,
        )

    def _stop(self, loads: list[tuple[Worker[None], int]]) -> None:
        """Interrupt the threads of loads still under way: a thread id is reused once its
        thread ends, and another worker's query must not be stopped by mistake."""
        for worker, thread in loads:
            if self._threads.get(worker) == thread:
                self.context.source.interrupt(thread)

    def _fetch(self, fetch: Callable[[], Message]) -> None:
        worker = get_current_worker()
        self._threads[worker] = threading.get_ident()
        try:
            loaded = fetch()
        except SourceError as exc:
            if not worker.is_cancelled:  # else: stopped on purpose, superseded
                self.post_message(StoreFailed(str(exc).splitlines()[0]))
            return
        finally:
            self._threads.pop(worker, None)
        if not worker.is_cancelled:
            self.post_message(loaded)

    @work(thread=True, exclusive=True, group="details")
    def _load_details(self, run_id: RunId, after: int) -> None:
        at = self.context.clock()
        try:
            loaded = self.context.source.details(run_id, after_log=after)
        except SourceError as exc:
            self.post_message(StoreFailed(str(exc).splitlines()[0]))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(DetailsLoaded(run_id, loaded, at))

    @on(WindowLoaded)
    def _window_loaded(self, message: WindowLoaded) -> None:
        if message.query != self.run_query:
            return
        table = self.table
        if message.span is None:
            self.shown_query = message.query
            self.total = self.all_runs = None  # until they are counted
        elif message.query != self.shown_query:
            return  # a refresh of rows a fresh load has replaced meanwhile
        self.query_one(Banner).clear()
        if message.watch is not None:
            self.changes = message.watch
        if message.span is None:
            changed = table.apply(message.rows, message.at)
        else:
            changed = table.splice(message.start, message.span, message.rows, message.at)
            changed |= table.update_rows(message.changed)
            top = max(int(table.scroll_y) - MARGIN, 0)
            changed |= table.retime(message.at, top, top + table.size.height + 2 * MARGIN)
        if changed or self.updated is None:
            self.updated = message.at
        if self.follow_run is not None and table.move_to_run(self.follow_run):
            self.follow_run = None
        self._show_status()
        if message.span is None or message.span:  # rows were read: count them again
            self._count(message)
        if table.marks:  # count again the marked runs that changed (all: the query did)
            runs = message.changed_ids
            if runs is None:
                self._recount_marks(None)
            elif moved := {r for r in runs if r in table.marks}:
                self._recount_marks(moved)

    def _count(self, loaded: WindowLoaded) -> None:
        """Count the query in a worker of its own, after its rows are shown: a page load
        does not stop it, a new query does. Fewer rows than asked of a fresh load are all
        the query has; a tick does not stop a count under way (it may take longer)."""
        q, at, counts = loaded.query, loaded.at, self.counts
        known = len(loaded.rows) if loaded.span is None and len(loaded.rows) < self.limit else None
        if loaded.span is not None and self._loading("count", group="count"):
            return
        self._load(lambda: loading.count(counts, q, at, known), name="count", group="count")

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if message.query != self.run_query or message.query != self.shown_query:
            return
        if (message.total, message.all_runs) != (self.total, self.all_runs):
            self.total, self.all_runs = message.total, message.all_runs
            self.updated = message.at
            self._show_status()

    @on(DetailsLoaded)
    def _details_loaded(self, message: DetailsLoaded) -> None:
        current = self.table.cursor_run
        if current is not None and current.id == message.run_id:
            self.query_one(DetailsPanel).show(message.details, message.at)

    def title_for(self) -> str:
        if self.pipeline is None:
            return ""
        name = one_line(self.pipeline.name)
        return f"{name} · ARCHIVE" if self.archive_view else name

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.query_one(Banner).show(message.error, self.context.settings.refresh)

    @on(DataTable.CellHighlighted)
    def _cursor_moved(self, event: DataTable.CellHighlighted) -> None:
        self._show_status()
        loaded = len(self.table.order)
        if (
            event.coordinate.row >= loaded - LOAD_MORE_WITHIN
            and (self.total is None or loaded < self.total)
            and not self._loading("more")
            and self.run_query is not None
            and self.run_query == self.shown_query
        ):
            q, source, at = self.run_query, self.context.source, self.context.clock()
            last, page = self.table.order[-1], self.page
            self._load(lambda: loading.more(source, q, at, loaded, last, page), name="more")
        run = self.table.cursor_run
        if run is not None and run.id != self.query_one(DetailsPanel).run_id:
            self._reload_details()

    def _show_status(self) -> None:
        table = self.table
        self.query_one(StatusLine).show(
            loaded=len(table.order),
            total=self.total,
            everything=self.all_runs,
            updated=self.updated,
            paused=self.paused,
            extra=self.mark_info,
            detail=cell_detail(table.cursor_run, table.cursor_spec, self.context.clock()),
        )

    def action_mark(self) -> None:
        marks.toggle(self)

    def action_extend(self, step: int) -> None:
        marks.extend(self, step)

    def clear_marks(self) -> None:
        marks.clear(self)

    def action_clear_marks(self) -> None:
        marks.clear(self)

    def action_select_menu(self) -> None:
        self.flow(actions.select(self))

    def action_menu(self) -> None:
        self.flow(actions.menu(self))

    def action_act(self, name: str) -> None:
        """An action's key: `x` restores in the archive, `c` continues or retries."""
        spec = ACTIONS[Action(name)]
        spec = by_key(spec.key, self.archive_view) or spec
        if spec.kind is ActionKind.NEW_RUN:
            self.flow(actions.new_run(self))
        elif spec.kind is ActionKind.TAGS:
            self.flow(actions.tag(self))
        else:
            self.flow(actions.act(self, spec.action, resume=spec.action is Action.CONTINUE))

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
        self._reload_details(fresh=True)
        self.table.focus()

    def action_pick_pipeline(self) -> None:
        from runs_tui.ui.screens.pipelines import PipelinePicker

        def chosen(name: str | None) -> None:
            if name:
                self.open_pipeline(name)

        current = self.pipeline.name if self.pipeline else None
        self.app.push_screen(PipelinePicker(self.context.source, current), chosen)

    def action_toggle_archive(self) -> None:
        """The archive is another table: marks do not follow into it."""
        marks.clear(self)
        self.apply_view(self.view.with_(archived=not self.view.archived), save=False)

    def action_copy_cell(self) -> None:
        text = cell_detail(self.table.cursor_run, self.table.cursor_spec, self.context.clock())
        if text:
            value = text.split(": ", 1)[1]
            self.app.copy_to_clipboard(value)
            self.notify(f"Copied {one_line(value, limit=60)}", markup=False)

    def action_sort(self, secondary: bool = False) -> None:
        spec = view.cursor_spec(self)
        if spec is not None:
            view.sort_by(self, spec, secondary)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key and key != "__mark":
            view.sort_by(self, key, secondary=False)

    def action_filter(self) -> None:
        self.flow(view.filter_column(self))

    def action_clear_filters(self) -> None:
        view.clear_filters(self)

    def action_search(self) -> None:
        box = self.query_one("#search", SearchInput)
        box.value = self.view.search
        box.display = True
        box.focus()

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#search", SearchInput).display = False
        self.table.focus()
        self.apply_view(self.view.with_(search=event.value.strip()))

    def action_columns(self) -> None:
        self.flow(view.choose_columns(self))

    def action_hide_column(self) -> None:
        view.hide_column(self)

    def action_move_column(self, step: int) -> None:
        view.move_column(self, step)

    def action_width(self, delta: int) -> None:
        view.width(self, delta)

    def action_precise(self) -> None:
        view.precise(self)

    def action_copy_view(self) -> None:
        view.copy_view(self)

    def action_export(self) -> None:
        self.flow(view.export_runs(self))
