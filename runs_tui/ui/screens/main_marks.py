"""The main screen's marks: what the marked runs allow (the action bar, the status
line), counted in a worker, one count at a time, and afterwards only for the runs that
changed."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import nullcontext

from textual import on, work
from textual.screen import Screen

from runs_tui.core import collector
from runs_tui.core.actions import action_counts
from runs_tui.core.mark_tally import MarkTally, same_query
from runs_tui.core.records import RunId, RunQuery
from runs_tui.core.source import SourceError
from runs_tui.core.text import one_line
from runs_tui.ui.context import Context
from runs_tui.ui.messages import MarksCounted
from runs_tui.ui.widgets.action_bar import ActionBar
from runs_tui.ui.widgets.runs_table import RunsTable


class MarksScreen(Screen[None]):
    """Counting marks for the main screen, which provides the table, the query and the
    status line."""

    context: Context
    run_query: RunQuery | None
    mark_info: str
    _marks_counting = False  # a count of marks is under way
    _tally: MarkTally | None = None  # the marks as last counted
    _stale: set[RunId] | None = None  # marked runs to count again; None: all of them

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def archive_view(self) -> bool:
        return self.run_query is not None and self.run_query.archived

    def _show_status(self) -> None:
        """The status line, marks included: drawn by the main screen (abstract here)."""
        raise NotImplementedError

    def marks_changed(self, changed: set[RunId] | None = None) -> None:
        """Marks toggled (`changed`); or, empty, the runs' states or the query changed;
        or, None, the marks were replaced (select All): every one is counted again."""
        self.table.refresh_marks(changed)
        self._recount_marks(changed or None)

    def _recount_marks(self, stale: Iterable[RunId] | None) -> None:
        """Count what the marks allow again: only the `stale` runs (toggled, or changed
        in the store), all of them when None or when the query changed. One count at a
        time (a full one takes seconds at a million marks): asked meanwhile, it counts
        again once that one ends."""
        tally = self._tally
        if stale is None or tally is None or not same_query(tally.query, self.run_query):
            self._stale = None
        elif self._stale is not None:
            self._stale.update(stale)
        if not self._marks_counting:
            self._next_count()

    def _next_count(self) -> None:
        q, marks, stale = self.run_query, self.table.marks, self._stale
        self._stale = set()
        if not marks or q is None:
            self._tally = None
            self._show_marks()
        elif stale is None:  # a snapshot: marks may change while the worker reads it
            self._marks_counting = True
            self._count_marks(q, marks.snapshot(), None)
        elif stale:
            self._marks_counting = True
            marked = [i for i in stale if i in marks]
            self._count_marks(q, marked, frozenset(stale.difference(marked)))

    @work(thread=True, exclusive=True, group="marks")
    def _count_marks(
        self, q: RunQuery, marked: Collection[RunId], unmarked: frozenset[RunId] | None
    ) -> None:
        """The states of `marked`: every mark (`unmarked` None), or those that changed.
        Every mark: the tally is made here, not on the UI thread (a million entries)."""
        try:
            with collector.paused() if unmarked is None else nullcontext():
                states = self.context.source.mark_states(q, marked) if marked else {}
                tally = MarkTally.of(q, states) if unmarked is None else None
        except SourceError as exc:
            self.app.call_from_thread(self._marks_failed, exc)
            return
        gone = None if unmarked is None else unmarked.union(set(marked) - states.keys())
        self.post_message(MarksCounted(gone, states, tally))

    def _marks_failed(self, exc: SourceError) -> None:
        self._marks_counting, self._stale = False, None  # count all of them next time
        self.notify(one_line(str(exc).splitlines()[0]), severity="error", markup=False)

    @on(MarksCounted)
    def _marks_counted(self, message: MarksCounted) -> None:
        self._marks_counting = False
        if message.tally is not None:
            self._tally = message.tally
        elif self._tally is not None and message.gone is not None:
            self._tally.update(message.states, message.gone)
        if self._stale != set():  # marks toggled or runs changed meanwhile
            self._next_count()
        self._show_marks()

    def _show_marks(self) -> None:
        """The action bar and the status line for the marks as last counted."""
        n, tally = len(self.table.marks), self._tally
        counts = action_counts(tally.state_counts()) if tally is not None and n else {}
        hidden = tally.hidden if tally is not None and n else 0
        self.query_one(ActionBar).show(
            n, counts, hidden, self.archive_view, self.context.source.capabilities
        )
        note = f" ({hidden:,} hidden by the filter)" if hidden else ""
        self.mark_info = f"{n:,} marked{note}" if n else ""
        self._show_status()
