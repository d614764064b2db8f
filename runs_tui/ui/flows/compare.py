"""`d`: which runs to compare, then the compare screen (which loads them itself)."""

from __future__ import annotations

from runs_tui.core.compare import MAX_RUNS, MIN_RUNS
from runs_tui.core.records import RunId
from runs_tui.ui.flows.host import Host


def chosen(host: Host) -> list[RunId] | str:
    """The marked runs in the table's order (2 to 8), or with fewer marked the cursor run
    and the one above it (below it on the first row); else why there is nothing to do."""
    table = host.table
    marks = table.marks
    if len(marks) > MAX_RUNS:
        return (
            f"Compare takes {MIN_RUNS} to {MAX_RUNS} runs; {len(marks):,} are marked "
            "(esc clears the marks)"
        )
    if len(marks) >= MIN_RUNS:
        where = table.positions()
        return sorted(marks, key=lambda run_id: where.get(run_id, len(where)))
    row = table.cursor_row
    if len(table.order) < MIN_RUNS or not 0 <= row < len(table.order):
        return f"Compare needs {MIN_RUNS} runs: mark {MIN_RUNS} to {MAX_RUNS} with space"
    above = max(row, 1)
    return table.order[above - 1 : above + 1]


def open_compare(host: Host) -> None:
    from runs_tui.ui.screens.compare import CompareScreen

    ids = chosen(host)
    if isinstance(ids, str):
        host.notify(ids, severity="warning", markup=False)
    else:
        host.app.push_screen(CompareScreen(host.context, ids))
