"""The app at the terminal sizes it is opened in: every screen and dialog at 120x36 and
250x70 (80x24 and 200x50 are in test_snapshots_sizes.py, with pictures); a terminal too
small for it; the footer, the pinned columns, the status line and the details at 80
columns."""

from __future__ import annotations

import pytest
from region_support import assert_reachable, visible
from rich.console import Console
from screens_support import PILOT_SIZES, SCREENS, laid_out
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, OptionList, Static
from ui_support import make_app, settle, status_line, table

from runs_tui.core.db import Store
from runs_tui.ui.screens.help import HelpScreen
from runs_tui.ui.screens.main import MainScreen
from runs_tui.ui.screens.too_small import TooSmallScreen
from runs_tui.ui.widgets.details import DetailsPanel

SMALL = (80, 24)


def _app(store: Store):
    return make_app(store, pipeline="train-resnet", refresh=3600)


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("size", list(PILOT_SIZES))
async def test_every_screen_fits(demo: Store, size: str, screen: str):
    """Buttons, the focused widget and its highlighted row on screen (checked by the steps)."""
    app = _app(demo)
    async with app.run_test(size=PILOT_SIZES[size]) as pilot:
        await SCREENS[screen](pilot)


class _Overflowing(App[None]):
    """A dialog wider than an 80x24 terminal, and a list scrolled away from its highlight:
    what the checks must catch."""

    CSS = """
    #dialog { width: 90; height: 10; }
    #options { height: 5; }
    #buttons { align-horizontal: right; height: 3; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield OptionList(*(f"option {i}" for i in range(30)), id="options")
            with Horizontal(id="buttons"):
                yield Button("Far right", id="far")


async def test_the_checks_catch_a_cut_button_and_a_hidden_highlight():
    app = _Overflowing()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        with pytest.raises(AssertionError, match="Far right"):
            assert_reachable(pilot)
        app.query_one("#far").display = False
        options = app.query_one(OptionList)
        options.focus()
        options.highlighted = 20
        await pilot.pause()
        assert_reachable(pilot)  # scrolled into view by the list itself
        options.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        with pytest.raises(AssertionError, match="highlighted row"):
            assert_reachable(pilot)


async def test_a_terminal_too_small_gets_a_notice_until_it_grows(demo: Store):
    app = _app(demo)
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        notice = app.screen.query_one("#too-small", Static)
        assert "70x20" in str(notice.content) and "80x24" in str(notice.content)
        await pilot.press("n", "question_mark")  # nothing under the notice acts
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)

        await pilot.press("question_mark")
        await settle(pilot)
        await pilot.resize_terminal(79, 30)  # too narrow, tall enough: still too small
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)  # what was open is back, as it was


async def test_the_footer_shows_help_and_the_main_keys_first_at_80_columns(demo: Store):
    app = _app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await laid_out(pilot)
        footer = app.screen.query_one(Footer)
        bounds = app.screen.region
        whole = [
            key.key
            for key in footer.query("FooterKey")
            if bounds.contains_region(visible(app.screen, key))
            and visible(app.screen, key) == key.region
        ]
        for key in ("question_mark", "enter", "space", "m", "slash", "f", "s"):
            assert key in whole, (key, whole)
        assert whole.index("question_mark") <= 1


async def test_run_and_the_mark_column_stay_when_scrolled_right(demo: Store):
    app = _app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await laid_out(pilot)
        t = table(pilot)
        assert t.columns_shown[0].spec == "run" and t.fixed_columns == 2
        await pilot.press(*["right"] * len(t.columns_shown))
        await settle(pilot)
        assert t.scroll_x > 0  # scrolled: the last column is in view
        assert_reachable(pilot)
        # A pinned cell is redrawn where it is drawn: not moved left by the scroll.
        mark_width = t.ordered_columns[0].get_render_width(t)
        assert t._cell_region(0, 1).x == mark_width and t._cell_region(0, 2).x < mark_width
        await pilot.press(*["left"] * (t.cursor_column - 1), "shift+right")  # RUN moved away
        await settle(pilot)
        assert t.columns_shown[1].spec == "run" and t.fixed_columns == 1


async def test_the_paused_badge_is_whole_on_both_lines_at_80_columns(demo: Store):
    """Marks and a long cursor cell make the status line full; the badge comes first."""
    app = _app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await laid_out(pilot)
        await pilot.press("space", "space", "space", "p")
        await settle(pilot)
        assert status_line(pilot).startswith("⏸ PAUSED · ")
        screen = app.screen
        status_y, title_y = screen.region.height - 2, 0
        badge = len("⏸ PAUSED")

        def bg(x: int, y: int) -> object:
            return screen.get_style_at(x, y).bgcolor

        yellow = bg(1, status_y)  # the status line: first, after its padding
        assert [bg(x, status_y) for x in range(1, 1 + badge)] == [yellow] * badge
        assert bg(1 + badge, status_y) != yellow
        right = screen.region.width - 1  # the title bar: last, before its padding
        assert [bg(x, title_y) for x in range(right - badge, right)] == [yellow] * badge
        assert bg(right - badge - 1, title_y) != yellow


def _text(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_details_keep_metric_names_whole_in_a_narrow_view(demo: Store):
    """The details view at 80 columns leaves the details 45: names before decoration."""
    app = _app(demo)
    async with app.run_test(size=SMALL) as pilot:
        await laid_out(pilot)
        await pilot.press("down", "down", "down", "down", "v")
        await settle(pilot)
        panel = app.screen.query_one(DetailsPanel)
        assert panel.content_size.width < 50
        metrics = app.screen.query_one("#metrics", Static).content
        shown = _text(metrics, panel.content_size.width)
        for name in ("accuracy/val", "loss/train", "loss/val"):
            assert name in shown, shown
        assert "…" not in shown
        await pilot.press("v")  # the table again, and the details pane under it: full width
        await pilot.press("enter")
        await settle(pilot)
        wide = _text(app.screen.query_one("#metrics", Static).content, panel.content_size.width)
        assert "Step" in wide and "loss/train" in wide
