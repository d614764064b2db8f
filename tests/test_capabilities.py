"""A source that cannot do an action: the menu, the bar, the keys, the help, the palette
and the CLI say so with the source's reason, and nothing is attempted."""

from __future__ import annotations

import contextlib
import io

import pytest
from sqlalchemy import select, update
from textual.widgets import OptionList
from ui_support import SIZE, make_app, settle, table

from runs_tui import cli
from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import RUN, TAG
from runs_tui.core.source import Capabilities
from runs_tui.core.status import Action, Status
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.screens.help import HelpScreen
from runs_tui.ui.screens.menus import ActionMenu
from runs_tui.ui.widgets.action_bar import ActionBar

WHY = "runs here cannot be stopped"


class NoAbortNoTags(SqlSource):
    """The store, as a source that can neither abort nor tag."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            actions=frozenset(Action) - {Action.ABORT, Action.ADD_TAG, Action.REMOVE_TAG},
            unavailable={Action.ABORT: WHY},
        )


def running_runs(store: Store, simple: str, n: int) -> list[int]:
    ids = [ops.new_run(store, simple).id for _ in range(n)]
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id.in_(ids)).values(status=Status.RUNNING))
    return ids


def statuses(store: Store) -> set[str]:
    with store.read() as s:
        return set(s.execute(select(RUN.c.status)).scalars())


async def test_menu_bar_keys_and_help_say_what_the_source_cannot_do(store, simple):
    running_runs(store, simple, 3)
    app = make_app(store, source=NoAbortNoTags(store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        bar = app.screen.query_one(ActionBar).plain
        assert "2 marked" in bar
        assert "Abort" not in bar and "Tag" not in bar and "Archive 2" in bar

        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        options = app.screen.query_one(OptionList)
        shown = {
            options.get_option_at_index(i).id: (
                " ".join(str(options.get_option_at_index(i).prompt).split()),
                options.get_option_at_index(i).disabled,
            )
            for i in range(options.option_count)
        }
        assert shown["abort"] == (f"a Abort unavailable: {WHY}", True)
        assert shown["add_tag"] == (
            "t Add / remove tags unavailable: not supported by this source",
            True,
        )
        assert shown["archive"] == ("x Archive 2 runs", False)
        await pilot.press("a")  # the letter of an unavailable entry picks nothing
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        await pilot.press("escape", "a")
        await settle(pilot)
        assert any(WHY in n.message for n in app._notifications)
        assert statuses(store) == {"running"}, "nothing was attempted"

        await pilot.press("t")
        await settle(pilot)
        assert any("not supported by this source" in n.message for n in app._notifications)
        with store.read() as s:
            assert s.execute(select(TAG)).first() is None

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = {b[2]: b[1] for b in app.screen.bindings}
        assert keys["abort"] == f"Abort (unavailable: {WHY})"
        assert keys["archive"] == "Archive"
        await pilot.press("escape")
        assert table(pilot).marks, "the marks are kept"


def test_cli_refuses_an_action_the_source_cannot_do(store, simple, monkeypatch, capsys):
    ids = running_runs(store, simple, 1)
    monkeypatch.setattr(cli, "open_source", lambda db: NoAbortNoTags(store))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["abort", f"simple#{1}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"runs-tui: error: abort: abort is unavailable here: {WHY}"
    assert statuses(store) == {"running"}
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tag", str(ids[0]), "--add", "x"])
    assert exit_info.value.code == 2
    assert "not supported by this source" in capsys.readouterr().err
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["archive", str(ids[0])]) == 0
    assert "Archived 1 of 1" in out.getvalue()
