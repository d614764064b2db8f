"""The app on a real `mlflow server` (help naming its abort as MLflow does it) that stops
mid-session: the banner says so with the server's words, the last rows stay, ticks back
off, and the table comes back when the server does (`r` asks at once); then a search
MLflow cannot make is said to be made here, in the status line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from mlflow_support import Server, seed_random
from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey
from ui_support import make_app, settle, status_line, visible_rows

from runs_tui.sources import open_source
from runs_tui.ui.screens.help import HelpScreen


async def until(pilot: Pilot[None], check: Callable[[], bool], what: str) -> None:
    give_up = time.monotonic() + 120
    while not check():
        assert time.monotonic() < give_up, f"not reached: {what}"
        await pilot.pause(0.1)


async def test_server_stopped_mid_session_keeps_the_rows_and_recovers(tmp_path: Path):
    server = Server(tmp_path)
    await asyncio.to_thread(server.start)
    try:
        logged = seed_random(server, 12, "outage-", tmp_path)
        source = open_source(f"mlflow+{server.http}?prefix=outage-")
        app = make_app(None, source=source, refresh=0.5)  # type: ignore[arg-type]
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            rows = visible_rows(pilot)
            assert rows
            names = {r["name"] or r["id"][:8] for r in logged["runs"]}
            assert all(row[1] in names for row in rows), "RUN: the run's name, else its id"
            assert status_line(pilot).endswith(f"RUN: {rows[0][1]}")  # the cursor cell
            footer = {k.key: k.description for k in app.screen.query(FooterKey)}
            assert footer["a"] == "Mark killed"
            await pilot.press("question_mark")  # help names abort as MLflow does it
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            keys = {b[2]: b[1] for b in app.screen.bindings}
            assert keys["abort"] == "Mark killed (does not stop the process)"
            await pilot.press("escape")
            await settle(pilot)
            banner = app.screen.query_one("#banner", Static)
            await asyncio.to_thread(server.stop)
            await until(pilot, lambda: banner.has_class("-visible"), "the banner")
            text = str(banner.render())
            assert "not reachable" in text and "retrying in" in text, text
            await until(pilot, lambda: "retrying in 2s" in str(banner.render()), "backing off")
            assert visible_rows(pilot) == rows, "the last data stays"
            assert app.is_running
            await asyncio.to_thread(server.start)
            await pilot.press("r")
            await until(pilot, lambda: not banner.has_class("-visible"), "the banner cleared")
            await settle(pilot)
            assert [r[1:] for r in visible_rows(pilot)] == [r[1:] for r in rows]
            assert "applied here" not in status_line(pilot)
            await pilot.press("slash", *"run", "enter")  # a search MLflow cannot make
            await settle(pilot)
            assert "filters applied here (MLflow cannot), over at most 20,000 runs" in (
                status_line(pilot)
            )
        source.close()
    finally:
        server.stop()
