"""The main screen: the runs table of one pipeline, its status line and the details.

Queries run in thread workers and come back as messages; a refresh applies only what
changed. The source failing shows a banner and retries; the last data stays. Actions
are flows (`ui.flows`) run as workers of this screen.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker

from runs_tui.core.actions import ACTIONS, ActionKind, by_key
from runs_tui.core.changes import Watch
from runs_tui.core.columns import Column, parse_column
from runs_tui.core.count_cache import CountCache
from runs_tui.core.records import PipelineSummary, RunId, RunQuery
from runs_tui.core.source import Capabilities, SourceError
from runs_tui.core.status import Action
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView, opening_view
from runs_tui.ui.context import Context
from runs_tui.ui.flows import actions, compare, marks, overview, view
from runs_tui.ui.messages import Counted, StoreFailed, WindowLoaded
from runs_tui.ui.notifier import Notifier
from runs_tui.ui.screens.main_keys import MAIN_BINDINGS, own_words
from runs_tui.ui.screens.main_loads import PAGE, LoadsScreen
from runs_tui.ui.widgets.action_bar import ActionBar
from runs_tui.ui.widgets.banner import Banner
from runs_tui.ui.widgets.details import DetailsPanel
from runs_tui.ui.widgets.footer import QuietFooter
from runs_tui.ui.widgets.runs_table import RunsTable, header_markers
from runs_tui.ui.widgets.search_input import SearchInput
from runs_tui.ui.widgets.status_line import StatusLine, cell_detail, cell_value
from runs_tui.ui.widgets.title_bar import TitleBar, Where, empty_hint

VIEW_COLUMNS = ("run", "status")


CLOSE_SEARCH_AFTER = 0.5  # seconds the search box waits for the search's rows, at most


class MainScreen(LoadsScreen):
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
        self.overview = False  # every pipeline's runs (flows/overview.py)
        self.pipeline_view: TableView | None = None  # the pipeline's, while in the overview
        self.run_query: RunQuery | None = None
        self.view = TableView()
        self.limit = PAGE
        self.shown_query: RunQuery | None = None  # the query of the rows in the table
        self.changes: Watch | None = None  # how far changes have been seen
        self._threads: dict[Worker[None], int] = {}  # window loads under way: their threads
        self.failures, self.retry_at = 0, 0.0
        self.total: int | None = 0  # None: the shown query's rows are in, not yet counted
        self.at_least: int | None = None
        self._early_count: Counted | None = None  # a first count before its rows
        self.all_runs: int | None = 0
        self.counts = CountCache(context.source.count)
        self.updated: float | None = None
        self.mode = "table"
        self.page = PAGE
        self.follow_run: RunId | None = None
        self.mark_info = ""

    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        yield Banner(id="banner")
        with Container(id="body"):
            yield RunsTable(id="runs")
            yield Static(id="empty-hint", markup=False)
            yield DetailsPanel(id="details")
        yield SearchInput(
            placeholder="search run number, tags, user, parameters (enter)", id="search"
        )
        yield ActionBar(id="action-bar")
        yield StatusLine(id="status")
        yield Notifier(self.context, id="notifier")
        yield QuietFooter()

    def flow(self, work: Coroutine[Any, Any, None]) -> None:
        """Run an action's flow as a worker of this screen."""
        self.run_worker(work, group="flow")

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.open_pipeline(self.wanted_pipeline)
        self.set_interval(self.context.settings.refresh, self._tick, name="auto-refresh")

    def _tick(self) -> None:
        self.query_one(Notifier).tick()  # paused or not: a failure is still news
        if not self.paused and self.due():
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
        self.overview, self.pipeline_view = False, None
        if summary is None:
            self._show_columns()
            self._show_status()
            return
        self.context.remember_pipeline(summary.name)
        self.query_one(Notifier).follow(summary.id)
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
        self.run_query = view.query(None if self.overview else self.pipeline.id)
        self.limit = self.page
        if save and not self.overview:
            self.context.save_view(self.pipeline.name, view.with_(archived=False))
        self.marks_changed(set())
        self.reload()
        self._show_status()

    def _show_columns(self) -> None:
        specs = [c for c in self.view.columns if self.mode != "view" or c in VIEW_COLUMNS]
        self.table.set_columns(
            [parse_column(c) for c in specs or VIEW_COLUMNS],
            self.view.width_map,
            set(self.view.precise),
            header_markers(self.view),
        )

    def _show_status(self) -> None:
        """The status line, the title bar and, when there are no rows, what to do."""
        table = self.table
        where = Where.of(
            self.pipeline, self.view, self.paused, self.overview, self.context.read_only
        )
        self.query_one(TitleBar).show(where)
        empty = not table.order and (self.pipeline is None or self.shown_query is not None)
        hint = self.query_one("#empty-hint", Static)
        told = empty_hint(where, self.context.source.capabilities)
        if empty and hint.content != told:  # a tick changes nothing: no redraw
            hint.update(told)
        if hint.display != empty:  # on these two only: a class on the screen restyles all
            hint.display = empty
            table.styles.height = "auto" if empty else "1fr"
        self.query_one(StatusLine).show(
            loaded=len(table.order),
            total=self.total,
            at_least=self.at_least,
            everything=self.all_runs,
            updated=self.updated,
            paused=self.paused,
            extra=" · ".join(filter(None, (self.mark_info, self._query_note()))),
            detail=cell_detail(table.cursor_run, table.cursor_spec, self.context.clock()),
            loading=self.run_query is not None and self.run_query != self.shown_query,
        )

    def _query_note(self) -> str:
        """How the source answers the query, when the user should know (its words)."""
        q = self.run_query
        return "" if q is None else one_line(self.context.source.query_note(q))

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
        elif spec.kind is ActionKind.CLONE:
            self.flow(actions.clone(self))
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
        self.query_one(Notifier).tick()

    def action_jump_error(self) -> None:
        from runs_tui.ui.screens.console import jump_to_error

        jump_to_error(self)

    async def action_details(self) -> None:
        await self._set_mode("table" if self.mode == "pane" else "pane")

    async def action_toggle_view(self) -> None:
        await self._set_mode("table" if self.mode == "view" else "view")

    async def _set_mode(self, mode: str) -> None:
        if mode != "table":
            await self.query_one(DetailsPanel).build()
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

    def action_overview(self) -> None:
        overview.toggle(self)

    def action_toggle_archive(self) -> None:
        """The archive is another table: marks do not follow into it."""
        marks.clear(self)
        self.apply_view(self.view.with_(archived=not self.view.archived), save=False)

    def action_copy_cell(self) -> None:
        run, spec = self.table.cursor_run, self.table.cursor_spec
        if run is not None and spec is not None:
            value = cell_value(run, spec, self.context.clock())
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` (a priority key) is text while the search box has the focus."""
        return action != "search" or not self.query_one("#search", SearchInput).has_focus

    def action_search(self) -> None:
        self.query_one("#search", SearchInput).open(self.view.search)

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        """Search; the box closes with the search's rows drawn (see SearchInput)."""
        event.stop()
        self.apply_view(self.view.with_(search=event.value.strip()))
        box = self.query_one("#search", SearchInput)
        if self.run_query is None or self.run_query == self.shown_query:
            box.action_close()  # nothing new to wait for
        else:
            box.close_soon(event.value, CLOSE_SEARCH_AFTER)

    @on(WindowLoaded)
    def _rows_came(self, message: WindowLoaded) -> None:
        if message.query == self.run_query:
            self.query_one("#search", SearchInput).close_pending()

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

    def action_plot(self) -> None:
        from runs_tui.ui.screens.plot import open_plot

        open_plot(self)

    def action_compare(self) -> None:
        compare.open_compare(self)


def main_screen_for(caps: Capabilities) -> type[MainScreen]:
    """MainScreen, or, for a source with its own words for an action, a subclass whose
    keys (and so the footer) say them."""
    keys = own_words(caps)
    return type("MainScreen", (MainScreen,), {"BINDINGS": keys}) if keys else MainScreen
