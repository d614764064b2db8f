"""Marking runs from the keyboard. Marks are run ids held by the table; the screen
counts what they allow whenever they change."""

from __future__ import annotations

from runs_tui.core.mark_set import MarkSet
from runs_tui.ui.flows.host import Host


def toggle(host: Host) -> None:
    """`space`: mark or unmark the cursor run and move down."""
    table = host.table
    run = table.cursor_run
    if run is None:
        return
    table.marks.toggle(run.id)
    table.move_cursor(row=table.cursor_row + 1)
    host.marks_changed({run.id})


def extend(host: Host, step: int) -> None:
    """`shift+up/down`: mark the cursor run and the next one."""
    table = host.table
    before = table.cursor_run
    if before is None:
        return
    table.move_cursor(row=table.cursor_row + step)
    after = table.cursor_run
    changed = {before.id} | ({after.id} if after else set())
    table.marks.update(changed)
    host.marks_changed(changed)


def clear(host: Host) -> None:
    """Unmark every run: the loaded rows are drawn again, not each mark (a million)."""
    if host.table.marks:
        host.table.marks = MarkSet()
        host.marks_changed(None)
