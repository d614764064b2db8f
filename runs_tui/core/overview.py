"""The overview: runs of every pipeline in one table (`O` in the app, `ls --all-pipelines`).

It opens on what a triage looks for first, Running and Failed runs updated in the last
24 hours, newest change first, with the PIPELINE column; from there it is a table like
any other (sort, filters, marks, actions). The 24 hours are counted from when it opens.
"""

from __future__ import annotations

from runs_tui.core.records import RangeFilter, SortKey, ValueFilter
from runs_tui.core.status import Status
from runs_tui.core.view import TableView

WINDOW = 24 * 3600.0
COLUMNS = ("pipeline", "run", "status", "updated", "run_time", "tags", "user")


def overview_view(at: float) -> TableView:
    """The overview's opening view at time `at`."""
    return TableView(
        columns=COLUMNS,
        sort=(SortKey("updated", True),),
        filters=(
            ValueFilter("status", frozenset({Status.RUNNING.value, Status.FAILED.value})),
            RangeFilter("updated", lo=at - WINDOW),
        ),
    )
