"""`d` on the runs table: the marked runs (2 to 8) or the cursor run and the one above it,
side by side on the compare screen; `a` shows every row, escape goes back. The real app
on a real SQLite store, driven by keys."""

from __future__ import annotations

import re

from compare_runs import seed
from rich.style import Style
from textual.pilot import Pilot
from ui_support import SIZE, make_app, settle

from runs_tui.core import config, ops
from runs_tui.core.db import Store
from runs_tui.ui.screens.compare import CompareScreen
from runs_tui.ui.screens.help import HelpScreen
from runs_tui.ui.screens.main import MainScreen
from runs_tui.ui.widgets.compare_table import HIGH_STYLE, LOW_STYLE, CompareTable

RAW_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def heads(pilot: Pilot[None]) -> list[str]:
    """The run columns' heads, as drawn."""
    return [head.plain for head in pilot.app.screen.query_one(CompareTable).heads]


def shown(pilot: Pilot[None]) -> dict[str, list[str]]:
    """Each row's cells by its label, as drawn."""
    got = {}
    for _, row in pilot.app.screen.query_one(CompareTable).rows:
        label, *cells = (c.plain for c in row)
        got[label] = cells
    return got


def drawn_style(pilot: Pilot[None], label: str, cell: str) -> Style:
    """The style `cell` is drawn in on the row `label` (the cursor taken elsewhere)."""
    t = pilot.app.screen.query_one(CompareTable)
    index = next(i for i, (_, row) in enumerate(t.rows) if row[0].plain == label)
    t.scroll_to(y=index, animate=False, immediate=True)
    strip = t.render_line(index - int(t.scroll_y) + 1)
    found = next(s for s in strip if s.text.strip() == cell)
    assert found.style is not None
    return Style(color=found.style.color, bold=found.style.bold)


def title(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#compare-title").render())


def notes(pilot: Pilot[None]) -> list[str]:
    return [str(n.message) for n in pilot.app._notifications]


async def test_d_compares_the_marked_runs_in_the_table_order(store: Store, tmp_path):
    seed(store, tmp_path)
    app = make_app(store, pipeline="train", refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "space", "space", "up", "up", "up", "up", "space")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert heads(pilot) == ["#4", "#2", "#1"]
        assert title(pilot).startswith("Compare 3 runs of train")
        rows = shown(pilot)
        assert rows["Status"] == ["Pending", "Completed", "Failed"]
        assert rows["Exit code"] == ["—", "0", "3"]
        assert rows["args/lr"] == ["0.01", "0.1", "0.5"]
        note = rows["args/note"][2]  # made safe, cut to its column
        assert RAW_CONTROL.search(note) is None and note.startswith("a\u241b[31mb\\x9bc")
        drawn = [cell for label, cells in rows.items() for cell in [label, *cells]]
        assert not any(RAW_CONTROL.search(cell) for cell in drawn)  # the hostile metric too
        assert any(label.startswith("acca\u241b[31mb") for label in rows)
        assert rows["loss/val last"] == ["—", "▲0.5", "▼0.25"]
        assert drawn_style(pilot, "loss/val last", "▼0.25") == LOW_STYLE  # coloured
        assert drawn_style(pilot, "loss/val last", "▲0.5") == HIGH_STYLE
        assert rows["fit"] == ["not run", "Completed 0", "Failed 3"]
        assert rows["export"] == ["not run", "—", "—"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert len(app.screen.table.marks) == 3  # the marks stay


async def test_d_without_marks_compares_the_cursor_run_and_the_one_above(store: Store, tmp_path):
    seed(store, tmp_path)
    app = make_app(store, pipeline="train", refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "d")
        await settle(pilot)
        assert heads(pilot) == ["#3", "#2"]
        await pilot.press("escape", "up", "up", "d")  # the first row: it and the one below
        await settle(pilot)
        assert heads(pilot) == ["#4", "#3"]
        await pilot.press("escape", "space", "d")  # one mark is not enough: the cursor's
        await settle(pilot)
        assert heads(pilot) == ["#4", "#3"]


async def test_a_shows_every_row_and_again_only_what_differs(store: Store, tmp_path):
    seed(store, tmp_path)
    app = make_app(store, pipeline="train", refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "d")  # #4 (version 2) and #3: both pending
        await settle(pilot)
        rows = shown(pilot)
        assert "args/lr" in rows and "args/note" not in rows
        assert "export" in rows and "prepare" not in rows
        assert "Queue" not in rows
        assert "showing what differs" in title(pilot)
        await pilot.press("a")
        await pilot.pause()
        rows = shown(pilot)
        assert rows["args/note"] == ["base", "base"]
        assert rows["prepare"] == ["not run", "not run"]
        assert rows["Queue"] == ["default", "default"]
        assert "showing every row" in title(pilot)
        await pilot.press("end")  # the cursor on the last row stays on it
        await pilot.pause()
        t = app.screen.query_one(CompareTable)
        assert t.rows[t.cursor_row][0] == "s:export"
        await pilot.press("a")
        await pilot.pause()
        assert "args/note" not in shown(pilot)
        assert t.rows[t.cursor_row][0] == "s:export"
        await pilot.press("home")
        await pilot.pause()
        assert t.cursor_row == 0


async def test_eight_runs_at_80x24_scroll_sideways_with_names_cut(demo: Store):
    app = make_app(demo, pipeline="train-resnet", refresh=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*["space"] * 8, "d")
        await settle(pilot)
        t = app.screen.query_one(CompareTable)
        assert len(heads(pilot)) == 8
        assert all(name.endswith("…") for name in shown(pilot)["Name"])
        assert heads(pilot)[-1] not in t.render_line(0).text  # off to the right
        while t.scroll_x < t.max_scroll_x:
            await pilot.press("right")
            await pilot.pause()
        assert heads(pilot)[-1] in t.render_line(0).text
        assert t.render_line(1).text.startswith(" Name ")  # the labels stay
        await pilot.press("pagedown", "pagedown", "pagedown")
        await pilot.pause()
        assert t.cursor_row > 0 and t.scroll_y > 0


async def test_more_than_eight_marked_pushes_nothing(demo: Store):
    app = make_app(demo, pipeline="train-resnet", refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*["space"] * 9, "d")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "Compare takes 2 to 8 runs; 9 are marked (esc clears the marks)" in notes(pilot)
        await pilot.press("up", "space", "d")  # 8: compared
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert len(heads(pilot)) == 8


async def test_a_pipeline_of_one_run_has_nothing_to_compare(store: Store, simple: str):
    ops.new_run(store, simple)
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "Compare needs 2 runs: mark 2 to 8 with space" in notes(pilot)


async def test_compare_is_in_help_and_the_palette_and_remappable(store: Store, tmp_path):
    seed(store, tmp_path)
    config.save(config.Settings(keymap={"compare": "z"}))
    app = make_app(store, pipeline="train", refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Compare runs"] == "key z"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert ("z", "Compare runs", "compare") in app.screen.bindings
        await pilot.press("escape", "d")  # remapped away
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        ids = {binding_id for _, _, binding_id in app.screen.bindings}  # type: ignore[attr-defined]
        assert {"compare_all", "compare_close"} <= ids
