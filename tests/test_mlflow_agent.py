"""An MLflow server whose experiment is also a pipeline of runs-tui's own agent
(`?store=DB`): a new run from the table is queued for the agent, whose step logs to the
real server with the mlflow client and tags its run; continuing that failed MLflow run
continues the runs-tui run behind it. A run the agent did not start is left alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mlflow_support import Server, mlflow_bin
from sqlalchemy import select
from support import Agents, pipeline_toml
from ui_support import make_app, settle, table, visible_rows

from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.records import RunQuery
from runs_tui.core.registry import register
from runs_tui.core.source import SourceError
from runs_tui.core.status import Action
from runs_tui.sources import open_source
from runs_tui.sources.mlflow import MlflowSource
from runs_tui.ui.screens.forms import NewRunScreen

STEP = (
    "import os, sys, mlflow\n"
    "mlflow.set_experiment('trainer')\n"
    "with mlflow.start_run(tags={'runs_tui.run': os.environ['RUNS_TUI_RUN_ID']}):\n"
    "    mlflow.log_param('lr', os.environ['RUNS_TUI_PARAM_LR'])\n"
    "    mlflow.log_metric('loss', 0.5)\n"
    "    if os.environ['RUNS_TUI_ATTEMPT'] == '1':\n"
    "        sys.exit(3)\n"  # the first attempt fails, a continued one completes
)


def _runs(store: Store) -> list[tuple[str, int]]:
    with store.read() as s:
        return [(r.status, r.attempt) for r in s.execute(select(RUN.c.status, RUN.c.attempt))]


def _agent(agents: Agents, server: Server) -> None:
    """An agent that takes every Pending run, its steps logging to the server."""
    env = {"MLFLOW_TRACKING_URI": server.http}
    proc = agents.start("--once", "--poll", "0.2", env=env)
    assert proc.wait(timeout=180) == 0, agents.log("agent0")


def theirs(pilot) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The row of the MLflow run the agent's step logged (not the one made by hand)."""
    return next((r for r in visible_rows(pilot) if r[1] != "own"), None)


def _status(pilot) -> str | None:  # type: ignore[no-untyped-def]
    row = theirs(pilot)
    return None if row is None else row[4]


async def _until(pilot, check, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(60):
        if check():
            return
        await pilot.press("r")
        await settle(pilot)
    raise AssertionError(f"never: {what}: {visible_rows(pilot)}")


async def test_new_run_and_continue_go_to_the_agent(
    tmp_path: Path, store: Store, db_path: Path, agents
) -> None:
    python = str(mlflow_bin() / "python")
    path = tmp_path / "trainer.toml"
    path.write_text(pipeline_toml("trainer", [("fit", [python, "-c", STEP], [])], {"lr": 0.01}))
    register(store, path)
    server = Server(tmp_path / "mlflow")
    server.folder.mkdir()
    await asyncio.to_thread(server.start)
    try:
        source = open_source(f"mlflow+{server.http}?store={db_path}")
        assert isinstance(source, MlflowSource)
        assert source.capabilities.can(Action.RUN) and source.capabilities.can(Action.CONTINUE)
        source.client.post("experiments/create", {"name": "trainer"})
        stranger = source.client.post(
            "runs/create",
            {"experiment_id": source.pipeline("trainer").id, "run_name": "own", "start_time": 1},
        )["run"]["info"]["run_id"]
        source.client.post("runs/update", {"run_id": stranger, "status": "FAILED"})
        app = make_app(None, source=source, pipeline="trainer")  # type: ignore[arg-type]
        fleet: Agents = agents(str(db_path))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            assert isinstance(app.screen, NewRunScreen)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert _runs(store) == [("pending", 1)], "queued for the agent"

            await asyncio.to_thread(_agent, fleet, server)
            assert _runs(store) == [("failed", 1)]
            # a tick may have drawn the run while the agent ran it: wait for its end
            await _until(pilot, lambda: _status(pilot) == "Failed", "the agent's run Failed")
            row = theirs(pilot)
            assert row is not None
            assert "own" in [r[1] for r in visible_rows(pilot)], "the run shown before stays"
            table(pilot).move_cursor(row=visible_rows(pilot).index(row))
            await pilot.press("c")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert _runs(store) == [("pending", 2)], "continued in the runs-tui store"

            await asyncio.to_thread(_agent, fleet, server)
            assert _runs(store) == [("completed", 2)]
        result = source.resume([stranger])
        assert not result.ok and result.outcomes[0].reason == "not started by runs-tui's agent"
        assert _runs(store) == [("completed", 2)]
        newest = source.window(RunQuery(source.pipeline("trainer").id))[0]
        assert newest.status == "completed" and newest.name != "own"
        retried = source.transition(Action.RETRY, [newest.id])  # as the store judges it
        assert [(o.ref, o.affected, o.reason) for o in retried.outcomes] == [
            (newest.ref, False, "Completed")
        ]
        assert _runs(store) == [("completed", 2)]
        source.client.post("experiments/create", {"name": "notebooks"})
        with pytest.raises(SourceError, match="'notebooks' is not a pipeline of runs-tui's agent"):
            source.new_run_form("notebooks")
        source.close()
    finally:
        await asyncio.to_thread(server.stop)
