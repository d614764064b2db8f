"""Acting on runs at 120x36, demo data, fixed clock: the bar under the table with marks,
the action menu, the new-run modal with its advanced part open, a confirmation."""

from __future__ import annotations

from ui_support import SIZE, make_app, settle

from runs_tui.core.db import Store
from runs_tui.core.records import ValueFilter
from runs_tui.ui.screens.main import MainScreen


def _app(store: Store):
    return make_app(store, pipeline="train-resnet", refresh=3600)


async def table_laid_out(pilot) -> None:
    """The table measures its columns when idle: wait for that before a modal covers it,
    or the table behind the modal may be caught with header-wide columns."""
    table = next(s for s in pilot.app.screen_stack if isinstance(s, MainScreen)).table
    for _ in range(200):
        await pilot.pause()
        if table.row_count and not (table._require_update_dimensions or table._new_rows):
            return


async def _mark_top_five(pilot) -> None:
    """#24 Running, #23 Pending, #22 Running, then two finished runs."""
    await settle(pilot)
    await pilot.press("space", "space", "space", "down", "space", "space")
    await settle(pilot)
    await table_laid_out(pilot)


def test_action_bar_with_marks(demo: Store, snap_compare):
    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=_mark_top_five)


def test_action_menu(demo: Store, snap_compare):
    async def open_menu(pilot):
        await _mark_top_five(pilot)
        await pilot.press("m")
        await settle(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=open_menu)


def test_new_run_modal_with_advanced_open(demo: Store, snap_compare):
    async def open_form(pilot):
        await settle(pilot)
        await table_laid_out(pilot)
        await pilot.press("n")
        await settle(pilot)
        # dataset, lr, epochs, batch_size, fail_rate, tags, then the Advanced title
        await pilot.press("tab", "tab", "tab", "tab", "tab", "tab", "enter")
        await settle(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=open_form)


def test_confirm_abort_of_several_runs(demo: Store, snap_compare):
    async def confirm(pilot):
        await _mark_top_five(pilot)
        screen = pilot.app.screen  # only active runs shown: the two finished marks are hidden
        active = ValueFilter("status", frozenset({"running", "pending"}))
        screen.apply_view(screen.view.with_(filters=(active,)), save=False)
        await settle(pilot)
        await table_laid_out(pilot)
        await pilot.press("a")
        await settle(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=confirm)
