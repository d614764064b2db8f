"""Clone (`N`, issue 14): the new-run form prefilled from the cursor run's parameters,
tags and queue, not the newest run's (what `n` prefills), as ClearML's clone."""

from __future__ import annotations

from sqlalchemy import select
from test_ui_actions import field, tags_by_run
from test_ui_view import notes
from textual.widgets import Input, Label, Select
from ui_support import SIZE, make_app, settle, table

from runs_tui.core import ops, paths
from runs_tui.core.db import Store
from runs_tui.core.models import PARAM, RUN
from runs_tui.ui.screens.forms import NewRunScreen
from runs_tui.ui.screens.help import HelpScreen


def params_of(store: Store, run_id: int) -> dict[str, str]:
    with store.read() as s:
        return dict(
            s.execute(select(PARAM.c.key, PARAM.c.value).where(PARAM.c.run_id == run_id)).all()
        )


async def test_clone_prefills_the_cursor_runs_params_tags_and_queue(store: Store, simple: str):
    cloned = ops.new_run(
        store, simple, {"lr": "0.5", "epochs": "7", "name": "keep me", "flag": "true"},
        queue="gpu", tags=["sweep", "best"],
    ).id  # fmt: skip
    ops.new_run(store, simple, {"lr": "0.9", "name": "newest"})  # what `n` would prefill
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table(pilot).move_cursor(row=table(pilot).order.index(cloned))
        await pilot.press("N")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen)
        title = app.screen.query_one(".dialog-title", Label)
        assert str(title.render()) == "Clone of simple#1"
        values = {k: field(app, k).value for k in ("lr", "epochs", "name", "flag")}
        assert values == {"lr": "0.5", "epochs": "7", "name": "keep me", "flag": "true"}
        assert app.screen.query_one("#new-run-tags", Input).value == "best, sweep"
        assert app.screen.query_one("#queue", Select).value == "gpu"
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert not isinstance(app.screen, NewRunScreen)
        with store.read() as s:
            new = s.execute(select(RUN).order_by(RUN.c.id.desc()).limit(1)).mappings().one()
        assert (new["number"], new["status"], new["queue"]) == (3, "pending", "gpu")
        assert params_of(store, new["id"]) == params_of(store, cloned)
        assert tags_by_run(store, [new["id"]]) == {new["id"]: {"sweep", "best"}}
        assert "Started simple#3 in queue gpu" in notes(app)
        cursor = table(pilot).cursor_run
        assert cursor is not None and cursor.id == new["id"], "the cursor is on the new run"

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = {b[2]: (b[0], b[1]) for b in app.screen.bindings}
        assert keys["clone"] == ("N", "Clone the cursor run")


async def test_clone_is_remappable_and_in_the_palette(store: Store, simple: str):
    ops.new_run(store, simple, {"lr": "0.25"})
    paths.config_path().write_text('[keymap]\nclone = "k"\n')
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Clone the cursor run" in titles
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen)
        assert field(app, "lr").value == "0.25"
