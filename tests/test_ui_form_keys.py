"""The New-run dialog (issue 13): Enter in a field moves to the next one, as in any form;
only ctrl+s (or the Run button) starts the run; the dialog and its help say so."""

from __future__ import annotations

from sqlalchemy import func, select
from textual.widgets import Input, Label
from ui_support import SIZE, make_app, settle

from runs_tui.core.db import Store
from runs_tui.core.models import PARAM, RUN
from runs_tui.ui.screens.forms import NewRunScreen
from runs_tui.ui.screens.help import HelpScreen


def run_count(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(select(func.count()).select_from(RUN)).scalar_one())


def field(app, name: str) -> Input:  # type: ignore[no-untyped-def]
    return app.screen.query_one(f"#param-args_{name}", Input)


async def test_enter_moves_to_the_next_field_and_ctrl_s_runs(store: Store, simple: str):
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen)
        hint = str(app.screen.query_one("#new-run-keys", Label).render())
        assert hint == "enter next field · ctrl+s run · esc cancel · f1 help"
        assert app.screen.focused is field(app, "lr")

        await pilot.press("ctrl+u", *"0.2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen), "enter does not submit"
        assert app.screen.focused is field(app, "epochs")
        assert run_count(store) == 0
        await pilot.press("enter", "enter", "enter")  # epochs, name, flag: on to the tags
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#new-run-tags", Input)
        await pilot.press(*"t1", "enter")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen)
        assert run_count(store) == 0

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, NewRunScreen)
        assert run_count(store) == 1
        with store.read() as s:
            lr = s.execute(select(PARAM.c.value).where(PARAM.c.key == "args/lr")).scalar()
        assert lr == "0.2"


async def test_help_opened_in_the_dialog_lists_enter_and_ctrl_s(store: Store, simple: str):
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("f1")  # `?` would be typed into the field
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        described = {description for _key, description, _id in app.screen.bindings}
        assert {"Next field", "Run", "Cancel", "Help"} <= described
        keys = {description: key for key, description, _id in app.screen.bindings}
        assert keys["Run"] == "^s"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen)
        assert run_count(store) == 0
