"""Every screen and dialog of the app, opened on the demo data as a user would, for the
tests that try them at several terminal sizes (tests/test_ui_fit.py) and take their
pictures (tests/test_snapshots_sizes.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from region_support import assert_fits, assert_reachable
from textual.pilot import Pilot
from textual.widgets import Input
from ui_support import settle, table

from runs_tui.ui.screens.main import MainScreen

Steps = Callable[[Pilot[None]], Awaitable[None]]
SIZES = {"80x24": (80, 24), "200x50": (200, 50)}  # the snapshots' sizes
PILOT_SIZES = {"120x36": (120, 36), "250x70": (250, 70)}  # tried without pictures


async def laid_out(pilot: Pilot[None]) -> None:
    """The table measures its columns when idle: wait for that before a modal covers it,
    or the table behind the modal may be caught with header-wide columns."""
    await settle(pilot)
    main = next(s for s in pilot.app.screen_stack if isinstance(s, MainScreen))
    for _ in range(200):
        await pilot.pause()
        if main.table.row_count and not (
            main.table._require_update_dimensions or main.table._new_rows
        ):
            return


async def steady(pilot: Pilot[None]) -> None:
    """Settled, with inputs not blinking: the same picture every time."""
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await settle(pilot)


async def to_column(pilot: Pilot[None], spec: str) -> None:
    t = table(pilot)
    target = 1 + [c.spec for c in t.columns_shown].index(spec)
    await pilot.press(*["right"] * (target - t.cursor_column))


def keys(*pressed: str, column: str | None = None) -> Steps:
    """Open something with keys (after moving to `column`), then check what is drawn."""

    async def steps(pilot: Pilot[None]) -> None:
        await laid_out(pilot)
        if column is not None:
            await to_column(pilot, column)
        await pilot.press(*pressed)
        await steady(pilot)
        if pilot.app.screen is not None and not isinstance(pilot.app.screen, MainScreen):
            assert_fits(pilot)
        assert_reachable(pilot)

    return steps


async def export_dialog(pilot: Pilot[None]) -> None:
    """The suggested file is in the current folder: a fixed one keeps the picture the same."""
    await keys("e")(pilot)
    pilot.app.screen.query_one("#export-path", Input).value = "/tmp/runs.csv"
    await steady(pilot)
    assert_reachable(pilot)


async def console_at_error(pilot: Pilot[None]) -> None:
    """`E` on the first Failed run: its console at the traceback (tests/test_ui_console.py)."""
    await laid_out(pilot)
    t = table(pilot)
    failed = next(i for i, run_id in enumerate(t.order) if t.rows_by_id[run_id].status == "failed")
    await pilot.press(*["down"] * failed, "E")
    await steady(pilot)
    assert_reachable(pilot)


async def plot_of_three(pilot: Pilot[None]) -> None:
    """`g` on three marked runs (#20, #19, #18), loss/val picked: their lines overlaid."""
    from runs_tui.ui.screens.plot import PlotScreen

    await laid_out(pilot)
    await pilot.press(*["down"] * 4, "space", "space", "space", "g")
    await steady(pilot)
    await pilot.press("down", "down", "enter")  # accuracy/val, loss/train, loss/val
    for _ in range(600):
        await steady(pilot)
        screen = pilot.app.screen
        if isinstance(screen, PlotScreen) and len(screen.lines) == 3:
            break
    assert_reachable(pilot)


async def plot_metric_picker(pilot: Pilot[None]) -> None:
    await plot_of_three(pilot)
    await pilot.press("m")
    await steady(pilot)
    assert_fits(pilot)
    assert_reachable(pilot)


async def console_save(pilot: Pilot[None]) -> None:
    """`s` in the console; the suggested file is in the current folder: a fixed one."""
    await console_at_error(pilot)
    await pilot.press("s")
    await steady(pilot)
    pilot.app.screen.query_one("#save-path", Input).value = "/tmp/train-resnet-21-train.log"
    await steady(pilot)
    assert_fits(pilot)
    assert_reachable(pilot)


MARK_FIVE = ("space", "space", "space", "down", "space", "space")

SCREENS: dict[str, Steps] = {
    "plot": plot_of_three,
    "plot_metric_picker": plot_metric_picker,
    "table": keys(),
    "table_scrolled_right": keys(*["right"] * 12),
    "details_pane": keys("down", "down", "down", "enter"),
    "details_view": keys("down", "down", "down", "down", "v"),
    "details_view_metrics": keys("down", "down", "down", "down", "v", "tab", "right", "right"),
    "archive": keys("A"),
    "searched_and_paused": keys("slash", *"lr", "enter", "p"),
    "help": keys("question_mark"),
    "new_run": keys("n"),
    "tags": keys("down", "down", "t"),
    "export": export_dialog,
    "columns": keys("C", *["down"] * 18, "ctrl+down", "ctrl+down"),  # moved past the fold
    "pipelines": keys("P"),
    "value_filter": keys("f", column="status"),
    "range_filter": keys("f", column="run_time"),
    "date_filter": keys("f", *"last 24h", column="started"),
    "tags_filter": keys("f", column="tags"),
    "action_menu": keys(*MARK_FIVE, "m"),
    "selection_menu": keys("asterisk"),
    "confirm": keys(*MARK_FIVE, "a"),
    "console": console_at_error,
    "console_save": console_save,
    "overview": keys("O"),
    "compare": keys(*MARK_FIVE, "d"),
}
