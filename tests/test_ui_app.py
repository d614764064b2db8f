"""Around the table: help, command palette, themes kept, the database going away."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static
from ui_support import SIZE, make_app, settle, status_line, table, visible_rows

from runs_tui.core import config, ops, paths
from runs_tui.core.db import Store
from runs_tui.ui.screens.help import HelpScreen


async def test_help_lists_every_key_with_its_id(store: Store, simple: str):
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {binding_id for _, _, binding_id in app.screen.bindings}
        assert {"quit", "help", "details", "view", "pause", "refresh", "pipeline", "precise"} <= ids
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_an_action(store: Store, simple: str):
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Pause")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.paused  # type: ignore[attr-defined]
        assert "PAUSED" in status_line(pilot)


async def test_theme_is_kept_in_the_config(store: Store, simple: str):
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await pilot.pause()
    assert config.load().settings.theme == "nord"
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "nord"


async def test_keymap_from_the_config_remaps_a_binding(store: Store, simple: str):
    config.save(config.Settings(keymap={"pause": "z"}))
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("z")
        await pilot.pause()
        assert "PAUSED" in status_line(pilot)


async def test_database_gone_shows_a_banner_keeps_data_and_recovers(
    store: Store, simple: str, db_path: Path
):
    run = ops.new_run(store, simple)
    app = make_app(store, refresh=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(visible_rows(pilot)) == 1
        aside = db_path.with_name("aside.db")
        os.replace(db_path, aside)
        await pilot.pause(1.2)
        await settle(pilot)
        banner = app.screen.query_one("#banner", Static)
        assert banner.has_class("-visible")
        assert "Database unavailable" in str(banner.render())
        assert len(visible_rows(pilot)) == 1, "the last data stays on screen"
        assert app.is_running
        os.replace(aside, db_path)
        ops.abort(store, [run.id])
        await until(pilot, lambda: not banner.has_class("-visible"), "the banner cleared")
        await settle(pilot)
        assert visible_rows(pilot)[0][4] == "Aborted"
        assert table(pilot).cursor_run is not None


async def until(pilot: Pilot[None], check: Callable[[], bool], what: str) -> None:
    """Poll `check` while the app runs, with a generous deadline."""
    give_up = time.monotonic() + 60
    while not check():
        assert time.monotonic() < give_up, f"not reached: {what}"
        await pilot.pause(0.05)


async def test_a_failing_source_is_retried_less_often_and_r_retries_now(
    store: Store, simple: str, db_path: Path
):
    """Each failure in a row doubles the wait (0.5 s, 1 s, 2 s...), said in the banner."""
    ops.new_run(store, simple)
    app = make_app(store, refresh=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        aside = db_path.with_name("aside.db")
        os.replace(db_path, aside)
        banner = app.screen.query_one("#banner", Static)
        for wait in ("0.5s", "1s", "2s", "4s"):
            await until(pilot, lambda w=wait: f"retrying in {w}" in str(banner.render()), wait)
        os.replace(aside, db_path)
        await pilot.press("r")  # at once, not in 4 s
        await until(pilot, lambda: not banner.has_class("-visible"), "the banner cleared")
        assert len(visible_rows(pilot)) == 1


async def test_a_broken_config_is_kept_aside_and_the_app_warns(store: Store, simple: str):
    path = paths.config_path()
    path.write_bytes(b"refresh = [unterminated\n\xff")
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "unreadable" in app.config_warning
        messages = [n.message for n in app._notifications]
        assert any("unreadable" in m for m in messages)
    kept = [p for p in path.parent.iterdir() if p.name.startswith("config.toml.broken-")]
    assert len(kept) == 1 and kept[0].read_bytes().endswith(b"\xff")
