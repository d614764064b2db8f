"""Checked and unchecked boxes read differently without colour (issue 13): `[x]` / `[ ]`
in the Columns, value-filter and tag lists, `(•)` / `( )` for the ANY / ALL choice, with
colours and with NO_COLOR (a terminal, or a user, that shows none)."""

from __future__ import annotations

import html
import re

import pytest
from test_ui_actions import make_runs
from test_ui_view import go_to_column
from textual.widgets import RadioButton, SelectionList
from ui_support import SIZE, make_app, settle

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.view import TableView
from runs_tui.ui.screens.columns import ColumnsScreen
from runs_tui.ui.screens.filters import TagFilterScreen, ValueFilterScreen
from runs_tui.ui.screens.forms import TagScreen


def boxes(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The drawn lines of the modal's list, as text: what a terminal without colour shows."""
    widget = app.screen.query_one(SelectionList)
    return [widget.render_line(y).text.rstrip() for y in range(widget.option_count)]


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """The text of the whole screen as drawn, from a screenshot: its styles and its
    spaces (which an SVG leaves out) dropped."""
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", app.export_screenshot())
    return re.sub(r"\s", "", html.unescape("".join(parts)))


@pytest.fixture(params=["colour", "NO_COLOR"])
def colour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    return str(request.param)


async def test_columns_dialog_boxes_read_without_colour(store: Store, simple: str, colour: str):
    make_runs(store, simple, ["completed"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color is (colour == "NO_COLOR")
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, ColumnsScreen)
        shown = len(TableView().columns)
        drawn = boxes(app)
        assert [line[:4] for line in drawn] == ["[x] "] * shown + ["[ ] "] * (len(drawn) - shown)
        assert drawn[0].startswith("[x] RUN")
        await pilot.press("space")  # hide RUN
        await settle(pilot)
        assert boxes(app)[0].startswith("[ ] RUN")
        await pilot.press("space")
        await settle(pilot)
        assert boxes(app)[0].startswith("[x] RUN")
        screen = screen_text(app)
        assert "[x]RUN" in screen and "[]QUEUE" in screen, "the boxes reach the screen"


async def test_value_filter_and_tag_boxes_read_without_colour(
    store: Store, simple: str, colour: str
):
    ids = make_runs(store, simple, ["completed", "failed"])
    ops.tag(store, ids, ["old"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go_to_column(pilot, "status")
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ValueFilterScreen)
        assert boxes(app) == ["[ ] Completed  (1)", "[ ] Failed  (1)"]
        await pilot.press("space")
        await settle(pilot)
        assert boxes(app) == ["[x] Completed  (1)", "[ ] Failed  (1)"]
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("t")  # the cursor run's tags: one to remove
        await settle(pilot)
        assert isinstance(app.screen, TagScreen)
        app.screen.query_one(SelectionList).focus()
        assert boxes(app) == ["[ ] old  (1 of 1)"]
        await pilot.press("space")
        await settle(pilot)
        assert boxes(app) == ["[x] old  (1 of 1)"]


async def test_any_all_choice_reads_without_colour(store: Store, simple: str, colour: str):
    ids = make_runs(store, simple, ["completed"])
    ops.tag(store, ids, ["old"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go_to_column(pilot, "tags")
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, TagFilterScreen)

        def choice() -> list[str]:
            return [r.render().plain.strip() for r in app.screen.query(RadioButton)]

        assert choice() == ["(•) ANY of the included", "( ) ALL of the included"]
        await pilot.press("shift+tab", "down", "enter")
        await settle(pilot)
        assert choice() == ["( ) ANY of the included", "(•) ALL of the included"]
