"""The main screens at 120x36 with the demo data and a fixed clock."""

from __future__ import annotations

from ui_support import SIZE, make_app, settle

from runs_tui.core.db import Store


def _app(store: Store):
    return make_app(store, pipeline="train-resnet", refresh=3600)


def test_table_view(demo: Store, snap_compare):
    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=settle)


def test_details_pane(demo: Store, snap_compare):
    async def open_pane(pilot):
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")
        await settle(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=open_pane)


def test_details_view(demo: Store, snap_compare):
    async def open_view(pilot):
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "v")
        await settle(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=open_view)
