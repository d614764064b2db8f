"""Canaries for the private Textual API runs-tui relies on (pinned in pyproject.toml):
`DataTable._data` and `DataTable._update_count`, used by `RunsTable._set_cell` to draw a
changed cell alone; `App._display(screen, renderable)` and the compositor's updates
(`LayoutUpdate.strips`/`region`, `ChopsUpdate.chops`/`spans`/`chop_ends`), which
`RunsApp` and `ui.lean` use to write only the cells that changed; `App._driver.write`,
which `ui.notifier.write_to_terminal` uses, as `App.bell` does, for desktop
notifications (tests/test_notify_terminal.py checks they reach a terminal);
`Input._on_key`, which `SearchInput` overrides to act on Enter at its key (Input's
Enter is a binding, acted on after the keys that follow it). A Textual release that
changes them fails here first."""

from __future__ import annotations

import inspect

from rich.console import RenderableType
from rich.text import Text
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Input

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


class Updates(App[None]):
    """Keeps what the compositor hands `_display`."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[RenderableType] = []

    def compose(self) -> ComposeResult:
        yield RunsTable()

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        if renderable is not None:
            self.updates.append(renderable)
        super()._display(screen, renderable)


async def test_compositor_updates_are_what_lean_output_expects():
    assert list(inspect.signature(App._display).parameters) == ["self", "screen", "renderable"]
    app = Updates()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(RunsTable)
        table.add_column("a", key="a", width=10)
        table.add_row(Text("x"), key="r1")
        await pilot.pause()
        full = [u for u in app.updates if isinstance(u, LayoutUpdate)]
        assert full, app.updates
        assert full[0].region == Region(0, 0, 40, 6)
        assert all(isinstance(s, Strip) for line in full[0].strips for s in line)
        app.updates.clear()
        table._set_cell(0, 0, Text("y"))
        await pilot.pause()
        partial = [u for u in app.updates if isinstance(u, ChopsUpdate)]
        assert partial, app.updates
        y, x1, x2 = partial[0].spans[0]
        assert 0 <= x1 < x2 <= 40
        chops, ends = partial[0].chops[y], partial[0].chop_ends[y]
        assert len(chops) == len(ends)
        assert any(isinstance(s, Strip) for s in chops.values())


async def test_the_driver_writes_as_app_bell_does():
    assert "self._driver.write(" in inspect.getsource(App.bell)
    app = One()
    async with app.run_test():
        assert callable(app._driver.write)


def test_input_types_in_its_own_key_handler_and_submits_by_binding():
    """What SearchInput's `_on_key` replaces: Input types a key's character there, and
    Enter is a binding to `submit` (so it does not come to `_on_key` first otherwise)."""
    assert "insert_text_at_cursor" in inspect.getsource(Input._on_key)
    enter = [b for b in Input.BINDINGS if isinstance(b, Binding) and b.key == "enter"]
    assert [b.action for b in enter] == ["submit"]
