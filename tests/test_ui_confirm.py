"""What a new user trips on when acting (issue 13): `x` on a Running run aborts it, so it
asks first and says so after; confirmations, summaries and counts say "1 run", not
"1 runs"; the command palette lists each command once, its key under its name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_ui_actions import FAILED_ONLY, archived_ids, make_runs, notes, states
from textual.widgets import Input, OptionList
from ui_support import SIZE, main_screen, make_app, settle, status_line, visible_rows

from runs_tui.core.db import Store
from runs_tui.core.records import ValueFilter
from runs_tui.ui.screens.columns import ExportScreen
from runs_tui.ui.screens.menus import ConfirmScreen, SelectionMenu

RUNNING_ONLY = (ValueFilter("status", frozenset({"running"})),)


async def test_x_on_a_running_run_asks_naming_the_abort_and_the_summary_says_so(
    store: Store, simple: str
):
    ids = make_runs(store, simple, ["completed", "running"])  # newest first: #2 running
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen), "archiving a Running run aborts it: ask"
        assert app.screen.title_text == "Archive 1 run?"
        assert app.screen.message == "1 run is Running and will be aborted first."
        await pilot.press("n")
        await settle(pilot)
        assert states(store, ids) == {ids[0]: "completed", ids[1]: "running"}
        assert archived_ids(store) == set()

        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "Archived 1 of 1 (1 aborted first)" in notes(app)
        assert states(store, [ids[1]]) == {ids[1]: "aborted"}
        assert archived_ids(store) == {ids[1]}

        await pilot.press("x")  # the Completed run, alone now: nothing to abort, no question
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert notes(app)[-1] == "Archived 1 of 1"
        assert archived_ids(store) == set(ids)


async def test_archiving_marked_runs_names_how_many_are_aborted(store: Store, simple: str):
    ids = make_runs(store, simple, ["completed", "pending", "running"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space", "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Archive 3 runs?"
        assert app.screen.message == (
            "3 of the 3 marked runs can be affected.\n"
            "2 runs are Pending or Running and will be aborted first."
        )
        await pilot.press("y")
        await settle(pilot)
        assert "Archived 3 of 3 (2 aborted first)" in notes(app)
        assert states(store, ids) == {ids[0]: "completed", ids[1]: "aborted", ids[2]: "aborted"}


async def test_confirmation_lines_agree_in_number(store: Store, simple: str):
    make_runs(store, simple, ["completed", "running"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")
        screen = main_screen(pilot)
        screen.apply_view(screen.view.with_(filters=RUNNING_ONLY), save=False)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Abort 1 run?"
        assert app.screen.message == (
            "1 of the 2 marked runs can be affected.\n"
            "1 of the marked runs is hidden by the current filter.\n"
            "The other run is left as it is."
        )
        await pilot.press("n")
        await settle(pilot)
        screen.apply_view(screen.view.with_(filters=FAILED_ONLY), save=False)
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert notes(app)[-1] == "Continue or retry: none of the 2 marked runs is eligible"


async def test_one_run_is_one_run_in_the_status_line_and_the_selection_menu(
    store: Store, simple: str
):
    make_runs(store, simple, ["completed"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert re.match(r"1 of 1 run\b", status_line(pilot)), status_line(pilot)
        await pilot.press("asterisk")
        await settle(pilot)
        assert isinstance(app.screen, SelectionMenu)
        options = app.screen.query_one(OptionList)
        prompts = [
            " ".join(str(options.get_option_at_index(i).prompt).split())
            for i in range(options.option_count)
        ]
        assert prompts[:2] == [
            "All in pipeline (1 run)",
            "Filtered (1 matching run) no filter is active",
        ]


async def test_export_of_one_run_says_one_run(
    store: Store, simple: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    make_runs(store, simple, ["completed"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        title = str(app.screen.query_one(".dialog-title").render())
        assert title == "Export the 1 matching run with the visible columns"
        path = app.screen.query_one("#export-path", Input)
        path.value = "one.csv"
        path.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert notes(app)[-1] == "Exported 1 run to one.csv"
        assert (tmp_path / "one.csv").read_text().count("\n") == 2


async def test_the_command_palette_lists_each_command_once_with_its_key(store: Store, simple: str):
    make_runs(store, simple, ["running"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        entries = [
            str(options.get_option_at_index(i).prompt).split("\n", 1)
            for i in range(options.option_count)
        ]
        titles = [title for title, *_ in entries]
        assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
        helps = dict((title, rest[0] if rest else "") for title, *rest in entries)
        assert helps["Abort"] == "key a"
        assert helps["Mark"] == "key space"
        assert helps["Quit"] == "keys q, ^q"
        repeated = [t for t, h in helps.items() if h.startswith(f"{t} (")]
        assert repeated == [], "a title is not said twice"
        await pilot.press(*"abort", "enter")
        await settle(pilot)
        assert [r[4] for r in visible_rows(pilot)] == ["Aborted"]
