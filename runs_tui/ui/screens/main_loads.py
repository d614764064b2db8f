"""The main screen's loads: rows of the query in thread workers (a fresh window, a
refresh of what is visible and what changed, the next page), its counts, the cursor
run's details. A newer load of a kind supersedes an older one, whose statement is
stopped in the database; results come back as messages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

from textual import on, work
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker, get_current_worker

from runs_tui.core.changes import Watch
from runs_tui.core.columns import parse_column
from runs_tui.core.count_cache import CountCache
from runs_tui.core.records import RunId, RunQuery
from runs_tui.core.source import SourceError
from runs_tui.core.view import TableView
from runs_tui.ui import loading
from runs_tui.ui.messages import Counted, DetailsLoaded, StoreFailed, WindowLoaded
from runs_tui.ui.screens.main_marks import MarksScreen
from runs_tui.ui.widgets.banner import Banner
from runs_tui.ui.widgets.details import DetailsPanel

PAGE = 200
LOAD_MORE_WITHIN = 20
MARGIN = 20  # rows refreshed above and below what is on screen
MAX_BACKOFF = 60.0  # seconds between retries of a source that keeps failing, at most


class LoadsScreen(MarksScreen):
    """Loading for the main screen, which sets these up and draws the status."""

    shown_query: RunQuery | None  # the query of the rows in the table
    changes: Watch | None  # how far changes have been seen
    counts: CountCache
    total: int | None  # None: the shown query's rows are in, not yet counted
    at_least: int | None  # while `total` is None: a bound the first count found
    all_runs: int | None
    updated: float | None
    limit: int
    page: int
    mode: str
    follow_run: RunId | None
    view: TableView
    _threads: dict[Worker[None], int]  # loads under way: their threads
    _early_count: Counted | None  # the first count of a query whose rows are not in yet
    failures: int  # failed loads in a row: the ticks back off while the source fails
    retry_at: float  # time.monotonic() before which a tick does not try again

    def due(self) -> bool:
        """Whether a tick may load: not while backing off from a failing source."""
        return time.monotonic() >= self.retry_at

    def reload(self, force: bool = True) -> None:
        """Show the query's rows: a new query from the top; the same one by refreshing what
        is visible and what changed (every time when `force`, else only if anything did)."""
        q, source, at = self.run_query, self.context.source, self.context.clock()
        if q is None:
            return
        series = self._ranged()
        if q != self.shown_query:
            if not force and self._loading("fresh"):
                return  # its first rows are still being read: a tick must not start over
            height = self.table.scrollable_content_region.height or PAGE
            # a screen's rows first (read, made and measured sooner); the page's rest once
            # they are drawn
            limit = min(self.limit, height + 1)
            self._load(lambda: loading.fresh(source, q, limit, at, series, height))
            if q.narrowed:  # its bound beside the rows: an index read, not a scan
                self._early_count = None
                counts = self.counts
                self._load(lambda: loading.first_count(source, counts, q, at), "count", "count")
        elif force or not self._loading("fresh", "more", "refresh"):
            table = self.table
            top = max(int(table.scroll_y) - MARGIN, 0)
            height = table.scrollable_content_region.height or PAGE
            span = min(height + 2 * MARGIN, max(len(table.order) - top, 1))  # not beyond
            above = table.order[top - 1] if 0 < top <= len(table.order) else None
            shown = loading.Visible(top, span, table.positions().keys(), above, series)
            watch = self.changes
            self._load(lambda: loading.refresh(source, q, at, shown, watch, force))
        self._reload_details()

    def _ranged(self) -> frozenset[tuple[str, str]]:
        """The metric series whose min or max a column shows (read on demand by some
        sources, for the rows on screen only)."""
        columns = (parse_column(spec) for spec in self.view.columns)
        return frozenset((c.title, c.series) for c in columns if c.is_metric and c.agg != "last")

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
            q, before = message.query, self.shown_query
            same_runs = before is not None and before.everything() == q.everything().with_(
                at=before.at
            )
            self.shown_query = q
            # fewer rows than asked are all the query has: counted with the rows, and
            # the pipeline's runs as the last query counted them, until counted again
            shown = len(message.rows)
            self.total = shown if shown < message.asked else None
            self.all_runs = self.all_runs if same_runs and self.total is not None else None
            self.at_least = None
        elif message.query != self.shown_query:
            return  # a refresh of rows a fresh load has replaced meanwhile
        self.query_one(Banner).clear()
        self.failures, self.retry_at = 0, 0.0
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
        if message.span is None:
            early, self._early_count = self._early_count, None
            bound = False  # a bound shown with the rows: its exact count follows them
            if early is not None and early.query == message.query:
                self._counted(early, drawn=False)
                bound = early.at_least
            table.after_drawn(partial(self._after_fresh, message, bound))
            return
        if message.span:  # rows were read: count them again
            self._count(message)
        self._recount_changed_marks(message.changed_ids)

    def _after_fresh(self, message: WindowLoaded, bound: bool = False) -> None:
        """The page's rest and the counts of a query shown anew, once its rows are drawn:
        their workers would hold the GIL while the frame that draws them is made. A bound
        shown with the rows is followed by the exact count."""
        if message.query != self.run_query:
            return
        if message.asked == len(message.rows) < self.limit:
            self._load_more()  # the rest of the page, after the first screen's rows
        if bound and self.total is None:
            self._count_query(message.query, message.at)
        else:
            self._count(message)
        self._recount_changed_marks(None)

    def _recount_changed_marks(self, runs: frozenset[RunId] | None) -> None:
        """Count again the marked runs that changed (all of them when `runs` is None: the
        query did)."""
        marks = self.table.marks
        if runs is None and marks:
            self._recount_marks(None)
        elif runs and (moved := {r for r in runs if r in marks}):
            self._recount_marks(moved)

    def _count(self, loaded: WindowLoaded) -> None:
        """Count the query in a worker of its own, after its rows are shown: a page load
        does not stop it, a new query does. Fewer rows than asked of a fresh load are all
        the query has; a tick does not stop a count under way (it may take longer). A
        narrowed query's first count (a bound: "1,000+") started with its rows."""
        fresh = loaded.span is None
        known = len(loaded.rows) if fresh and len(loaded.rows) < loaded.asked else None
        if not fresh and self._loading("count", group="count"):
            return
        if fresh and known is None and loaded.query.narrowed:
            return
        self._count_query(loaded.query, loaded.at, known)

    def _count_query(self, q: RunQuery, at: float, known: int | None = None) -> None:
        """A count never below the rows on screen (a kept one is made afresh)."""
        counts, shown = self.counts, len(self.table.order)
        self._load(lambda: loading.count(counts, q, at, known, shown), name="count", group="count")

    def _load_more(self) -> None:
        """The page after the loaded rows (up to the page's end while fewer are loaded)."""
        q, source, at = self.run_query, self.context.source, self.context.clock()
        loaded = len(self.table.order)
        if q is None or not loaded:
            return
        last = self.table.order[-1]
        page = self.limit - loaded if loaded < self.limit else self.page
        self._load(lambda: loading.more(source, q, at, loaded, last, page), name="more")

    @on(Counted)
    def _counted(self, message: Counted, drawn: bool = True) -> None:
        """Show a count. A bound ("1,000+") is followed by the exact count: at once, or,
        for a bound shown with its rows (not `drawn` yet), once they are drawn
        (`_after_fresh`): its worker would hold the GIL while their frame is made."""
        if message.query != self.run_query:
            return
        if message.query != self.shown_query:  # before its rows: shown with them
            self._early_count = message
            return
        if message.at_least:  # the bound to show while the exact count runs
            self.at_least, self.all_runs = message.total, message.all_runs
            self._show_status()
            if drawn:
                self._count_query(message.query, message.at)
            return
        if message.total < len(self.table.order) and message.shown < len(self.table.order):
            self._count_query(message.query, self.context.clock())  # runs came meanwhile
            return
        if (message.total, message.all_runs) != (self.total, self.all_runs):
            self.total, self.all_runs, self.at_least = message.total, message.all_runs, None
            self.updated = message.at
            self._show_status()

    @on(DetailsLoaded)
    def _details_loaded(self, message: DetailsLoaded) -> None:
        current = self.table.cursor_run
        if current is not None and current.id == message.run_id:
            self.query_one(DetailsPanel).show(message.details, message.at)

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        """Each failure in a row doubles the wait before a tick tries again (a server
        that is down is not asked every tick); `r` tries at once."""
        self.failures += 1
        wait = min(self.context.settings.refresh * 2 ** (self.failures - 1), MAX_BACKOFF)
        self.retry_at = time.monotonic() + wait
        self.query_one(Banner).show(message.error, wait)

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
            self._load_more()
        run = self.table.cursor_run
        if run is not None and run.id != self.query_one(DetailsPanel).run_id:
            self._reload_details()
