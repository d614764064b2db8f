"""The agent records where each step ran, says once what the local executor ignores, and
refuses an executor it does not know."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import tomli_w
from sqlalchemy import select
from support import Agents, run_cli, wait_for

from runs_tui.agent.worker import AgentConfig, make_launcher
from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import LOG, RUN, STEP
from runs_tui.core.registry import register

PY = sys.executable
PRINT_PID = "import os; print(os.getpid())"


def test_steps_record_executor_and_pid_and_ignored_resources_are_said_once(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    doc = {
        "pipeline": {"name": "p", "version": "1.0.0", "queue": "default"},
        "steps": [
            {
                "name": "first",
                "command": [PY, "-c", PRINT_PID],
                "resources": {"cpus": 2, "gpus": 1, "time": "1:00:00"},
            },
            {
                "name": "second",
                "command": ["python", "-c", PRINT_PID],
                "parents": ["first"],
                "resources": {"gpus": 2, "extra": ["--partition=gpu"]},
            },
        ],
    }
    path = tmp_path / "p.toml"
    path.write_text(tomli_w.dumps(doc))
    register(store, path)
    run = ops.new_run(store, "p")
    a: Agents = agents(str(db_path))
    assert a.start("--once", "--poll", "0.2").wait(timeout=60) == 0, a.log("agent0")
    with store.read() as s:
        assert s.execute(select(RUN.c.status).where(RUN.c.id == run.id)).scalar() == "completed"
        steps = s.execute(
            select(STEP.c.name, STEP.c.executor, STEP.c.external_id).order_by(STEP.c.id)
        ).all()
        pids = dict(s.execute(select(LOG.c.step, LOG.c.line)).all())
    assert [tuple(row) for row in steps] == [
        ("first", "local", pids["first"]),
        ("second", "local", pids["second"]),
    ]
    assert pids["first"].isdigit() and pids["first"] != pids["second"]
    log = a.log("agent0")
    assert log.count("local executor ignores resources") == 1, log
    assert "local executor ignores resources: cpus, gpus, time (step p#1/first" in log


def test_unknown_executor_is_refused_naming_option_and_value():
    known = r"\(known: local, slurm\)"
    with pytest.raises(ValueError, match=rf"^--executor 'k8s': unknown executor {known}$"):
        AgentConfig(executor="k8s").check()
    AgentConfig(executor="local").check()
    with pytest.raises(ValueError, match=r"unknown executor 'k8s' \(known: local, slurm\)"):
        make_launcher("k8s")
    assert make_launcher("local").executor == "local"


def test_detach_is_refused_for_local_steps_and_odd_spools_are_refused(db_path: Path):
    with pytest.raises(ValueError, match=r"^--detach: local steps end with their agent"):
        AgentConfig(detach=True).check()
    AgentConfig(executor="slurm", detach=True).check()
    with pytest.raises(ValueError, match=r"^--spool '/data/100%/x': Slurm cannot take"):
        AgentConfig(executor="slurm", spool="/data/100%/x").check()
    done = run_cli("agent", "--db", str(db_path), "--detach", "--once")
    assert done.returncode == 2 and "--detach: local steps end with their agent" in done.stderr


def test_a_second_live_agent_of_the_same_name_is_refused(db_path: Path, agents, store: Store):
    """Two processes of one name would follow, and adopt, the same runs."""
    a: Agents = agents(str(db_path))
    first = a.start("--poll", "0.2", name="twin")
    wait_for(lambda: "queues default" in a.log("twin"), 60, "the first agent to start")
    done = run_cli("agent", "--db", str(db_path), "--name", "twin", "--once")
    assert done.returncode == 2, done.stderr
    assert f"agent 'twin' is already running on {socket.gethostname()} (pid {first.pid})" in (
        done.stderr
    )
    assert first.poll() is None
    first.kill()
    first.wait(timeout=30)
    again = run_cli("agent", "--db", str(db_path), "--name", "twin", "--once")
    assert again.returncode == 0, again.stderr  # the killed one is not alive: its name is free
