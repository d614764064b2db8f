"""Read-only mode (issue 14): `runs-tui --read-only` or `read_only = true` in the settings.
Every action that changes a run is unavailable, with the reason "read-only", wherever
actions show (menu, action bar, help, palette) and refused when its key is pressed; the
title bar carries an RO badge; the CLI refuses the commands that write, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from test_ui_actions import set_state
from test_ui_view import notes
from textual.widgets import OptionList
from ui_support import FIXED_NOW, SIZE, make_app, settle, table, title_bar

from runs_tui.core import config, ops, paths
from runs_tui.core.db import Store
from runs_tui.core.models import PARAM, RUN, TAG
from runs_tui.core.status import Status
from runs_tui.sources.sql import SqlSource
from runs_tui.ui.app import RunsApp
from runs_tui.ui.screens.help import HelpScreen
from runs_tui.ui.screens.menus import ActionMenu
from runs_tui.ui.widgets.action_bar import ActionBar


def everything(store: Store) -> tuple[object, ...]:
    """What any action would change: runs (state, archive, attempt), tags, parameters."""
    with store.read() as s:
        runs = s.execute(
            select(RUN.c.id, RUN.c.status, RUN.c.archived, RUN.c.attempt, RUN.c.updated)
        ).all()
        tags = s.execute(select(TAG.c.run_id, TAG.c.tag)).all()
        params = s.execute(select(PARAM.c.run_id, PARAM.c.key)).all()
    return tuple(sorted(runs)), tuple(sorted(tags)), tuple(sorted(params))


def runs_of_every_state(store: Store, pipeline: str) -> dict[Status, int]:
    made = {}
    for state in (Status.RUNNING, Status.ABORTED, Status.FAILED, Status.COMPLETED):
        made[state] = ops.new_run(store, pipeline, tags=["kept"]).id
        set_state(store, made[state], state)
    archived = ops.new_run(store, pipeline).id
    set_state(store, archived, Status.COMPLETED, archived=True)
    return made


def read_only_app(store: Store, *, flag: bool) -> RunsApp:
    """The app in read-only mode: by `--read-only` (the flag) or by the settings."""
    if flag:
        return RunsApp(
            SqlSource(store), read_only=True, settings=config.load(), clock=lambda: FIXED_NOW
        )
    paths.config_path().write_text("read_only = true\n")
    return make_app(store, refresh=3600)


@pytest.mark.parametrize("flag", [True, False], ids=["flag", "settings"])
async def test_every_action_key_is_refused_and_nothing_changes(
    store: Store, simple: str, flag: bool
):
    made = runs_of_every_state(store, simple)
    before = everything(store)
    app = read_only_app(store, flag=flag)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert title_bar(pilot).endswith(" RO "), title_bar(pilot)
        keys = {
            "a": Status.RUNNING,  # abort
            "c": Status.ABORTED,  # continue
            "x": Status.COMPLETED,  # archive
            "t": Status.COMPLETED,  # tags
            "n": Status.COMPLETED,  # new run
            "N": Status.COMPLETED,  # clone
        }
        for key, state in (*keys.items(), ("c", Status.FAILED)):  # and retry
            seen = len(app._notifications)
            table(pilot).move_cursor(row=table(pilot).order.index(made[state]))
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is pilot.app.screen and not app.screen.is_modal, key
            said = notes(app)[seen:]
            assert said and all("read-only" in n for n in said), (key, said)
        await pilot.press("A")  # the archive: restore
        await settle(pilot)
        seen = len(app._notifications)
        await pilot.press("x")
        await settle(pilot)
        assert notes(app)[seen:] == ["Restore: read-only"]
        await pilot.press("A")
        await settle(pilot)
        assert title_bar(pilot).endswith(" RO ")
    assert everything(store) == before, "nothing changed in the store"
    if flag:  # the flag is for this session: the settings do not keep it
        saved = paths.config_path()
        assert not saved.exists() or "read_only" not in saved.read_text(encoding="utf-8")


async def test_menu_bar_help_and_palette_mark_every_change_read_only(store: Store, simple: str):
    runs_of_every_state(store, simple)
    app = read_only_app(store, flag=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "down", "space", "down", "space")
        await settle(pilot)
        bar = app.screen.query_one(ActionBar).plain
        assert "3 marked" in bar
        for word in ("Abort", "Continue", "Retry", "Tag", "Archive"):
            assert word not in bar, bar

        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        options = app.screen.query_one(OptionList)
        prompts = {
            options.get_option_at_index(i).id: (
                " ".join(str(options.get_option_at_index(i).prompt).split()),
                options.get_option_at_index(i).disabled,
            )
            for i in range(options.option_count)
        }
        changing = {k: v for k, v in prompts.items() if k != "details"}
        assert set(changing) >= {"run", "abort", "continue", "retry", "add_tag", "archive"}
        for action, (prompt, disabled) in changing.items():
            assert disabled and prompt.endswith("unavailable: read-only"), (action, prompt)
        assert not prompts["details"][1]
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        described = {b[2]: b[1] for b in app.screen.bindings}
        for binding in ("new_run", "clone", "abort", "continue", "tag", "archive"):
            assert described[binding].endswith("(unavailable: read-only)"), described[binding]
        assert "unavailable" not in described["menu"]
        await pilot.press("escape")
        await settle(pilot)
        helps = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert helps["Abort"].endswith("unavailable: read-only")
        assert helps["Clone the cursor run"].endswith("unavailable: read-only")


async def test_without_read_only_there_is_no_badge(store: Store, simple: str):
    ops.new_run(store, simple)
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "RO" not in title_bar(pilot).split()


def test_the_cli_refuses_what_writes_in_read_only_mode(
    cli, store: Store, simple: str, pipeline_file: Path
):
    run = ops.new_run(store, simple).id
    before = everything(store)
    refused = [
        ("abort", "simple#1"),
        ("continue", str(run)),
        ("retry", str(run)),
        ("archive", str(run)),
        ("restore", str(run)),
        ("tag", str(run), "--add", "x"),
        ("run", simple),
        ("pipeline", "register", str(pipeline_file)),
        ("agent", "--once"),
    ]
    for argv in refused:
        for where in ("before", "after"):
            args = ["--read-only", *argv] if where == "before" else [*argv, "--read-only"]
            code, out, err = cli(*args)
            assert (code, out) == (2, ""), args
            command = "pipeline register" if argv[0] == "pipeline" else argv[0]
            assert err == (
                f"runs-tui: error: {command}: refused in read-only mode "
                "(it changes runs or pipelines)\n"
            ), err
    code, out, _ = cli("--read-only", "ls", "simple")
    assert code == 0 and "#1" in out, "reading is fine"

    paths.config_path().write_text("read_only = true\n")
    assert cli("abort", "simple#1")[0] == 2
    assert cli("show", "simple#1")[0] == 0
    assert everything(store) == before

    paths.config_path().write_text('read_only = "yes"\n')  # not known: said, and not read-only
    code, out, err = cli("abort", "simple#1")
    assert code == 0 and "Aborted 1 of 1" in out
    assert err.startswith("runs-tui: warning: config ") and "read_only: expected bool" in err


def test_read_only_in_the_settings_is_validated_and_kept(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('read_only = "yes"\n')
    loaded = config.load(path)
    assert loaded.warning.startswith(f"config {path} unreadable (read_only: expected bool")
    assert loaded.settings.read_only is False
    path.write_text("read_only = true\n")
    settings = config.load(path).settings
    assert settings.read_only is True
    config.save(settings, path)
    assert config.load(path).settings.read_only is True, "a save keeps it"
