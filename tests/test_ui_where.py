"""Saying where you are: the title bar (pipeline and version, table or archive, filters and
search with how to clear them, paused), an empty database, and the keys that cannot act
saying why."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from screens_support import laid_out
from textual.widgets import Static
from ui_support import main_screen, make_app, settle, table, title_bar

from runs_tui.core.db import Store, open_store
from runs_tui.core.records import PipelineSummary, RangeFilter, TagFilter, ValueFilter
from runs_tui.core.registry import register
from runs_tui.core.source import Capabilities
from runs_tui.core.status import Action
from runs_tui.core.view import TableView
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.screens.pipelines import summary_text
from runs_tui.ui.widgets.title_bar import TitleBar, Where, filter_words, where_text

SMALL = (80, 24)
REGISTER = "runs-tui pipeline register FILE"


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_filters_in_words_untrusted_values_one_line_and_cut():
    view = TableView(
        filters=(
            ValueFilter("status", frozenset({"failed", "running"})),
            ValueFilter("user", frozenset({"[red]x\x1b[2J\nnext"})),
            RangeFilter("run_time", 60.0, None),
            RangeFilter("m:loss/val:last", None, 0.5),
        ),
        tags=TagFilter(frozenset({"prod", "sweep"}), frozenset({"debug"}), "all"),
    )
    assert filter_words(view) == (
        "STATUS: Failed, Running",
        "USER: [red]x␛[2J next",
        "RUN TIME ≥ 1m 00s",
        "loss/val (last) ≤ 0.5",
        "TAGS +prod +sweep not debug (all)",
    )


def test_the_line_keeps_pipeline_view_and_paused_whole_and_cuts_the_filters():
    where = Where(
        "train-resnet",
        "1.2.0",
        archived=True,
        filters=("STATUS: Failed, Running", "USER: " + "x" * 80),
        search="lr",
        paused=True,
    )
    whole = where_text(where).plain
    assert whole.startswith("train-resnet 1.2.0  ARCHIVE  A: back to the table")
    assert "search 'lr'  F clears" in whole and whole.endswith("⏸ PAUSED")
    line = where_text(where, 78)
    assert line.cell_len == 78
    assert line.plain.startswith("train-resnet 1.2.0  ARCHIVE ")
    assert line.plain.endswith("…  ⏸ PAUSED")
    assert where_text(where, 30).plain.endswith("⏸ PAUSED")  # the badge, whatever the width


def test_a_pipeline_name_is_text_not_markup():
    line = where_text(Where("[b]x[/b] [@click=app.quit]y[/]", "1"), 80)
    assert isinstance(line, Text)
    assert line.plain.startswith("[b]x[/b] [@click=app.quit]y[/] 1")


async def test_the_title_bar_says_pipeline_view_filters_search_and_paused(demo: Store):
    app = make_app(demo, pipeline="train-resnet", refresh=3600)
    async with app.run_test(size=SMALL) as pilot:
        await laid_out(pilot)
        bar = app.screen.query_one(TitleBar)
        assert title_bar(pilot) == "train-resnet 1.2.0  TABLE "
        assert not bar.has_class("-archive")
        await pilot.press("A")
        await settle(pilot)
        assert title_bar(pilot).startswith("train-resnet 1.2.0  ARCHIVE  A: back to the table")
        assert bar.has_class("-archive")  # the whole bar is coloured too
        await pilot.press("A", "slash", *"[red]lr", "enter")
        await settle(pilot)
        assert title_bar(pilot) == "train-resnet 1.2.0  TABLE   search '[red]lr'  F clears"
        main = main_screen(pilot)
        failed = ValueFilter("status", frozenset({"failed"}))
        main.apply_view(main.view.with_(filters=(failed,)))
        await pilot.press("p")
        await settle(pilot)
        assert title_bar(pilot) == (
            "train-resnet 1.2.0  TABLE   filter STATUS: Failed · search '[red]lr'  F clears"
            "  ⏸ PAUSED"
        )
        await pilot.press("F", "p")
        await settle(pilot)
        assert title_bar(pilot) == "train-resnet 1.2.0  TABLE "


async def test_an_empty_database_shows_the_columns_and_how_to_register(tmp_path: Path):
    store = open_store(str(tmp_path / "empty.db"))
    try:
        app = make_app(store, refresh=3600)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot)
            assert title_bar(pilot) == "No pipeline registered"
            assert [c.spec for c in table(pilot).columns_shown][:2] == ["run", "version"]
            hint = app.screen.query_one("#empty-hint", Static)
            assert hint.display and REGISTER in str(hint.content)
            for key, what in (("n", "New run"), ("f", "Filter"), ("C", "Columns"), ("e", "Export")):
                await pilot.press(key)
                await settle(pilot)
                said = f"{what}: no pipeline is registered; register one from a shell: {REGISTER}"
                assert said in notes(app), (key, notes(app))
    finally:
        store.dispose()


async def test_f_on_an_empty_table_says_why(store: Store, simple: str):
    app = make_app(store, pipeline=simple, refresh=3600)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        hint = app.screen.query_one("#empty-hint", Static)
        assert hint.display and "No runs yet: n starts one" in str(hint.content)
        await pilot.press("f")
        await settle(pilot)
        assert "Filter: no runs yet" in notes(app)
        await pilot.press("slash", *"nothing", "enter")
        await settle(pilot)
        assert "F clears" in str(hint.content)
        await pilot.press("f")
        await settle(pilot)
        assert "Filter: no run is shown; F clears the filters and search" in notes(app)


class StartsNoRuns(SqlSource):
    """The store, as a source whose runs are started elsewhere (as MLflow's are)."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            actions=frozenset(Action) - {Action.RUN}, unavailable={Action.RUN: "started elsewhere"}
        )


async def test_an_empty_table_of_a_source_that_starts_no_runs_says_so(store: Store, simple: str):
    app = make_app(store, pipeline=simple, refresh=3600, source=StartsNoRuns(store))
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        hint = app.screen.query_one("#empty-hint", Static)
        assert hint.display and str(hint.content) == "No runs yet (started elsewhere)."


async def test_the_hint_goes_once_there_are_runs(store: Store, pipeline_file: Path):
    from runs_tui.core import ops

    name = register(store, pipeline_file).name
    app = make_app(store, pipeline=name, refresh=3600)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#empty-hint", Static).display
        ops.new_run(store, name, {})
        await pilot.press("r")
        await settle(pilot)
        assert not app.screen.query_one("#empty-hint", Static).display
        assert app.screen.query_one("#runs").size.height > 1


def test_the_pipeline_picker_puts_the_counts_on_a_second_line_when_narrow():
    p = PipelineSummary(1, "train-resnet", "1.2.0", "default", {"completed": 11, "failed": 3})
    wide = summary_text(p, 120, 14)
    assert "\n" not in wide.plain and "11 Completed" in wide.plain
    narrow = summary_text(p, 40, 14)
    first, second = narrow.plain.split("\n")
    assert first.startswith("train-resnet ") and "11 Completed" in second
