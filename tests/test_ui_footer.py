"""The footer is rebuilt only when the keys it shows change (each rebuild restyles every
key and redraws the bottom line), and still follows a change of keys."""

from __future__ import annotations

from textual.widgets._footer import FooterKey
from ui_support import SIZE, make_app, settle

from runs_tui.core.db import Store
from runs_tui.core.source import Capabilities
from runs_tui.core.status import Action
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.screens.help import HelpScreen
from runs_tui.ui.widgets.details import DetailsPanel


def _keys(app: object) -> list[FooterKey]:
    return list(app.screen.query(FooterKey))  # type: ignore[attr-defined]


async def test_a_screen_over_the_table_and_back_keeps_the_same_footer_keys(demo: Store) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = _keys(app)
        assert [k.description for k in before][:3] == ["Details", "Help", "Mark"]
        await pilot.press("question_mark")  # help over the table: its bindings are signalled
        await settle(pilot)
        await pilot.press("escape")  # and again on the way back, the same keys
        await settle(pilot)
        after = _keys(app)
        assert [id(k) for k in after] == [id(k) for k in before]  # not rebuilt


async def test_a_search_keeps_the_footer_as_it_is(demo: Store) -> None:
    """The search box borrows the focus for a moment: the footer keeps the table's keys
    while it is open and after (two rebuilds cost a search 100-250 ms before its rows)."""
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = _keys(app)
        await pilot.press("slash", "a")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#search")
        assert [id(k) for k in _keys(app)] == [id(k) for k in before]
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#runs")
        assert [id(k) for k in _keys(app)] == [id(k) for k in before]  # not rebuilt
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert [id(k) for k in _keys(app)] == [id(k) for k in before]


async def test_a_new_key_for_an_action_is_shown(demo: Store) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.update_keymap({"search": "ctrl+f"})
        await settle(pilot)
        shown = {k.description: k.key_display for k in _keys(app)}
        assert shown["Search"] == "^f"


async def test_the_details_tabs_are_built_when_first_opened(demo: Store) -> None:
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(DetailsPanel)
        assert not panel.query("#details-tabs")  # not styled with the first screen
        await pilot.press("down", "enter", "tab", "right")  # keys at once: the tabs exist
        await settle(pilot)
        assert app.screen.query_one("#details-tabs").active == "tab-params"  # type: ignore[attr-defined]


class OwnWords(SqlSource):
    """The store, as a source that names an abort its own way (as MLflow's does)."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            actions=frozenset(Action), labels={Action.ABORT: "Mark killed (it keeps running)"}
        )


async def test_the_footer_names_an_action_in_the_sources_words(demo: Store) -> None:
    app = make_app(demo, source=OwnWords(demo))
    async with app.run_test(size=(200, 36)) as pilot:
        await settle(pilot)
        shown = {k.key: k.description for k in _keys(app)}
        assert shown["a"] == "Mark killed"
        assert "Abort" not in shown.values()
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert {b[2]: b[1] for b in app.screen.bindings}[
            "abort"
        ] == "Mark killed (it keeps running)"
