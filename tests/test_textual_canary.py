"""Canaries for the private Textual API runs-tui relies on (pinned in pyproject.toml):
`DataTable._data` and `DataTable._update_count`, used by `RunsTable._set_cell` to draw a
changed cell alone. A Textual release that changes them fails here first."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from runs_tui.ui.widgets.runs_table import RunsTable


class One(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable()


async def test_datatable_private_state_is_what_runs_table_expects():
    app = One()
    async with app.run_test() as pilot:
        table = app.query_one(RunsTable)
        table.add_column("a", key="a", width=10)
        table.add_row(Text("x"), key="r1")
        await pilot.pause()
        assert isinstance(table._update_count, int)
        assert isinstance(table._data, dict)
        before = table._update_count
        table._set_cell(0, 0, Text("y"))
        assert table.get_cell("r1", "a").plain == "y"
        assert table._update_count == before + 1
        await pilot.pause()
        assert "y" in app.export_screenshot()
        table._set_cell(0, 0, Text("a much longer value than the column"))
        await pilot.pause()
        assert table.get_cell("r1", "a").plain.startswith("a much longer")
