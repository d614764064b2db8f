"""The main screen's marks: what the marked runs allow (the action bar, the status
line), counted in a worker, one count at a time."""

from __future__ import annotations

from textual import on, work
from textual.screen import Screen

from runs_tui.core.actions import action_counts
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
    _marks_counting = False  # a count of non-empty marks is under way
    _marks_again = False  # and the marks or their runs changed meanwhile

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
        self.table.refresh_marks(changed)
        self._recount_marks()

    def _recount_marks(self) -> None:
        """Count what the marks allow, one count at a time (at a million marks one takes
        seconds; they must not pile up): asked meanwhile, it counts again once that ends."""
        marks = frozenset(self.table.marks)
        if marks and self._marks_counting:
            self._marks_again = True
            return
        self._marks_counting, self._marks_again = bool(marks), False
        self._count_marks(marks, self.run_query)

    @work(thread=True, exclusive=True, group="marks")
    def _count_marks(self, marks: frozenset[RunId], q: RunQuery | None) -> None:
        if not marks or q is None:
            self.post_message(MarksCounted(marks, {}, 0))
            return
        source = self.context.source
        try:
            counts = action_counts(source.state_counts(list(marks)))
            hidden = source.hidden(q, list(marks))
        except SourceError as exc:
            self.app.call_from_thread(self._marks_failed, exc)
            return
        self.post_message(MarksCounted(marks, counts, hidden))

    def _marks_failed(self, exc: SourceError) -> None:
        self._marks_counting = False
        self.notify(one_line(str(exc).splitlines()[0]), severity="error", markup=False)

    @on(MarksCounted)
    def _marks_counted(self, message: MarksCounted) -> None:
        if message.marks:
            self._marks_counting = False
            if self._marks_again:
                self._recount_marks()
        if message.marks != self.table.marks:
            return
        n = len(message.marks)
        self.query_one(ActionBar).show(
            n, message.counts, message.hidden, self.archive_view, self.context.source.capabilities
        )
        hidden = f" ({message.hidden:,} hidden by the filter)" if message.hidden else ""
        self.mark_info = f"{n:,} marked{hidden}" if n else ""
        self._show_status()
