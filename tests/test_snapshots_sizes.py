"""Every screen and dialog at 80x24 (the default terminal, and many SSH sessions) and at
200x50, demo data, fixed clock; each also checked for buttons and the highlighted row
inside the screen (tests/region_support.py). The 120x36 pictures are in the other
test_snapshots files."""

from __future__ import annotations

import pytest
from screens_support import SCREENS, SIZES
from textual.geometry import Size
from ui_support import make_app, settle

from runs_tui.core.db import Store, open_store
from runs_tui.ui.screens.too_small import TooSmallScreen


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("size", list(SIZES))
def test_screen(demo: Store, snap_compare, size: str, screen: str):
    app = make_app(demo, pipeline="train-resnet", refresh=3600)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=SCREENS[screen])


@pytest.mark.parametrize("size", list(SIZES))
def test_empty_database(tmp_path, snap_compare, size: str):
    """No pipeline: the columns, and how to register one."""
    store = open_store(str(tmp_path / "empty.db"))
    try:
        assert snap_compare(make_app(store), terminal_size=SIZES[size], run_before=settle)
    finally:
        store.dispose()


def test_too_small(demo: Store, snap_compare):
    async def run_before(pilot) -> None:
        await settle(pilot)
        assert isinstance(pilot.app.screen, TooSmallScreen)
        assert pilot.app.size == Size(70, 20)

    app = make_app(demo, pipeline="train-resnet", refresh=3600)
    assert snap_compare(app, terminal_size=(70, 20), run_before=run_before)
