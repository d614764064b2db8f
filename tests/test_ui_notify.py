"""Notifications: a run a real agent fails while the app is open is told once (a toast
naming it and why, the bell); a burst is one summary; runs that failed before are not
news; `scope = "all"` tells other pipelines' runs; in a real terminal, the bell and the
desktop notification (OSC 777, OSC 9) reach it."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import tomli_w
from failing_support import REASON, new_runs, register_failing, register_passing, run_agent
from textual.notifications import Notification
from textual.pilot import Pilot
from ui_support import SIZE, settle

from runs_tui.core import config, paths
from runs_tui.core.db import Store
from runs_tui.core.status import Action
from runs_tui.sources.sql import SqlSource
from runs_tui.ui import app as app_module
from runs_tui.ui.app import RunsApp


class Belled(RunsApp):
    """The app, counting its bells (headless, `App.bell` writes nothing)."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))
    bells = 0

    def bell(self) -> None:
        self.bells += 1
        super().bell()


def write_config(**notify: object) -> None:
    paths.config_path().write_text(tomli_w.dumps({"notify": notify}))


def app_on(store: Store, pipeline: str, refresh: float) -> Belled:
    loaded = config.load()
    assert not loaded.warning, loaded.warning
    loaded.settings.refresh = refresh
    return Belled(SqlSource(store), pipeline=pipeline, settings=loaded, clock=time.time)


NOTICE = re.compile(r"^(Run (failed|completed)|\d+ runs? (failed|completed))")


def told(app: RunsApp) -> list[Notification]:
    """The notifications about runs (the app's own messages are not among them)."""
    return [n for n in app._notifications if NOTICE.match(n.title)]


async def until(pilot: Pilot[None], check, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.1)


async def agent_runs(agents, db_path: Path, *args: str) -> None:
    """A real agent empties the queue (in a thread: the app goes on meanwhile)."""
    await asyncio.to_thread(run_agent, agents(str(db_path)), *args)


def passing_and_failing(store: Store, tmp_path: Path) -> tuple[str, str]:
    """A passing pipeline (the one the app shows) and a failing one, a new run in each."""
    shown = register_passing(store, tmp_path)
    other = register_failing(store, tmp_path)
    new_runs(store, other)
    new_runs(store, shown)
    return shown, other


async def run_both(pilot: Pilot[None], agents, db_path: Path) -> None:
    """An agent runs both pipelines' runs, then the table is refreshed (`r`)."""
    await settle(pilot)
    await agent_runs(agents, db_path)
    await pilot.press("r")


async def test_a_run_failing_under_the_open_app_is_told_once(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    name = register_failing(store, tmp_path)
    new_runs(store, name)
    app = app_on(store, name, refresh=0.3)  # the table's own ticks find it
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await agent_runs(agents, db_path)
        await until(pilot, lambda: told(app), "the failure to be told")
        for _ in range(10):  # more ticks, more changes of the run: told once
            await pilot.pause(0.1)
        (toast,) = told(app)
        assert toast.title == "Run failed" and toast.severity == "error"
        assert toast.message == f"{name} #1 failed: {REASON}"
        assert app.bells == 1


async def test_a_burst_of_failures_is_one_summary(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    name = register_failing(store, tmp_path)
    new_runs(store, name, 7)
    app = app_on(store, name, refresh=3600)  # only `r` refreshes: all 7 in one look
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await agent_runs(agents, db_path, "--concurrency", "4")
        await pilot.press("r")
        await until(pilot, lambda: told(app), "the summary")
        await settle(pilot)
        (toast,) = told(app)
        assert toast.title == f"7 runs failed in {name}"
        assert toast.message.startswith(f"{name} #") and toast.message.endswith("and 4 more")
        assert app.bells == 1


async def test_failed_before_opening_is_not_news_failing_again_is(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    name = register_failing(store, tmp_path)
    (run_id,) = new_runs(store, name)
    run_agent(agents(str(db_path)))  # failed before the app opens
    app = app_on(store, name, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert told(app) == [] and app.bells == 0
        retried = await asyncio.to_thread(app.source.transition, Action.RETRY, [run_id])
        assert retried.outcomes[0].affected
        await pilot.press("r")
        await settle(pilot)
        assert told(app) == [], "Pending again is not news"
        await asyncio.to_thread(run_agent, agents(str(db_path)))
        await pilot.press("r")
        await until(pilot, lambda: told(app), "the second failure")
        (toast,) = told(app)
        assert toast.message == f"{name} #1 failed: {REASON}"


async def test_scope_all_and_completed_when_asked(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    write_config(on=["failed", "completed"], scope="all", bell=False)
    shown, other = passing_and_failing(store, tmp_path)
    app = app_on(store, shown, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await run_both(pilot, agents, db_path)
        await until(pilot, lambda: told(app), "the summary")
        await settle(pilot)
        (toast,) = told(app)
        assert toast.title == "1 run failed and 1 completed in 2 pipelines"
        assert f"{other} #1" in toast.message and f"{shown} #1" in toast.message
        assert app.bells == 0, "bell = false"


async def test_scope_pipeline_keeps_to_the_open_one(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    shown, _ = passing_and_failing(store, tmp_path)
    app = app_on(store, shown, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await run_both(pilot, agents, db_path)
        await settle(pilot)
        await pilot.press("r")  # a second look, should the first have raced the agent
        await settle(pilot)
        assert told(app) == [] and app.bells == 0, "completed is not asked by default"


async def test_a_bad_notify_setting_is_named_and_the_app_starts_on_defaults(store: Store):
    write_config(on=["failed", "crashed"])
    loaded = config.load()
    assert loaded.warning.startswith(f"config {paths.config_path()} unreadable (notify.on: ")
    assert "'crashed'" in loaded.warning and "\n" not in loaded.warning
    assert loaded.settings.notify == config.NotifySettings()
