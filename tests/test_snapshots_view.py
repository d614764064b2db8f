"""The filter modals, the columns modal and a sorted, filtered table at 120x36, with the
demo data and a fixed clock (like test_snapshots.py)."""

from __future__ import annotations

from textual.widgets import Input
from ui_support import SIZE, make_app, settle, table

from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store


def _app(store: Store, columns: str | None = None):
    shown = parse_columns(columns) if columns else None
    return make_app(store, pipeline="train-resnet", columns=shown, refresh=3600)


async def _repaint(pilot) -> None:
    """Inputs stop blinking, so the cursor is drawn the same every time."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a steady cursor: the same picture every time
    await settle(pilot)


async def _to_column(pilot, spec: str) -> None:
    t = table(pilot)
    target = 1 + [c.spec for c in t.columns_shown].index(spec)
    await pilot.press(*["right"] * (target - t.cursor_column))


def _open_filter(spec: str, *keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await _to_column(pilot, spec)
        await pilot.press("f")
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)
        await _repaint(pilot)

    return run_before


def test_value_filter_modal_status(demo: Store, snap_compare):
    """Statuses with their counts from SQL, most frequent first; Failed chosen."""
    run_before = _open_filter("status", "down", "down", "down", "space")
    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=run_before)


def test_value_filter_modal_user_narrowed(demo: Store, snap_compare):
    """The list narrowed by typing."""
    run_before = _open_filter("user", "shift+tab", *"a")
    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=run_before)


def test_range_filter_modal_metric_with_an_error(demo: Store, snap_compare):
    """A metric's range; a bad minimum refused with the value in the message."""
    run_before = _open_filter("m:loss/val:last", *"0,5", "enter")
    app = _app(demo, "run,status,m:loss/val:last,p:args/lr")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_date_range_filter_modal_started(demo: Store, snap_compare):
    run_before = _open_filter("started", *"last 24h")
    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=run_before)


def test_tags_filter_modal(demo: Store, snap_compare):
    """First tag included, second excluded, ALL chosen."""
    run_before = _open_filter(
        "tags", "space", "down", "space", "space", "shift+tab", "down", "enter"
    )
    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=run_before)


def test_columns_modal(demo: Store, snap_compare):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        await _repaint(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=run_before)


def test_table_sorted_twice_and_filtered(demo: Store, snap_compare):
    """USER ascending then RUN TIME descending, STATUS filtered to two values: the header
    markers, and the status line counting the matches."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        await _to_column(pilot, "user")
        await pilot.press("s")
        await _to_column(pilot, "run_time")
        await pilot.press("S", "S")
        await pilot.press(*["left"] * 4, "f")
        await settle(pilot)
        await pilot.press("space", "down", "space", "ctrl+s")
        await settle(pilot)
        await _repaint(pilot)

    assert snap_compare(_app(demo), terminal_size=SIZE, run_before=run_before)
