"""A source that cannot say which runs changed (MLflow: no searchable update time): a
refresh reads the visible rows again, and new runs at the top must not push the runs
already shown out of the table."""

from __future__ import annotations

from ui_support import make_app, settle, visible_rows

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.records import PipelineId, RunId
from runs_tui.sources.sql import SqlSource


class NoChanges(SqlSource):
    """The store, as a source that cannot tell what changed since a time."""

    def changed_since(
        self, pipeline_id: PipelineId | None, since: float | None
    ) -> list[tuple[RunId, float]] | None:
        return None


async def test_new_runs_do_not_push_shown_runs_out(store: Store, simple: str) -> None:
    for _ in range(3):
        ops.new_run(store, simple)
    app = make_app(store, source=NoChanges(store), refresh=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert [r[1] for r in visible_rows(pilot)] == ["#3", "#2", "#1"]
        ops.new_run(store, simple)
        ops.new_run(store, simple)
        await pilot.press("r")
        await settle(pilot)
        assert [r[1] for r in visible_rows(pilot)] == ["#5", "#4", "#3", "#2", "#1"]
