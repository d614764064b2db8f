"""Agents that die, freeze or are stopped, and steps that resist: nothing lost, nothing forced."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select
from support import kill_marked, pids_with, pipeline_toml, wait_for

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import EVENT, LOG, POINT, RUN
from runs_tui.core.registry import register

PY = sys.executable


def _pipeline(store: Store, tmp_path: Path, argv: list[str], name: str = "p") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(pipeline_toml(name, [("s", argv, [])]))
    return register(store, path).name


def _status(store: Store, run_id: int) -> tuple[str, int, str | None, str]:
    with store.read() as s:
        row = s.execute(
            select(RUN.c.status, RUN.c.attempt, RUN.c.agent, RUN.c.status_message).where(
                RUN.c.id == run_id
            )
        ).one()
    return row[0], row[1], row[2], row[3]


def _freeze_between_writes(proc, db_path: Path) -> None:
    """SIGSTOP the agent while it holds no write lock: stopped inside a write, it would
    block every writer of the file (what SQLite does; not what this test is about)."""
    for _ in range(50):
        proc.send_signal(signal.SIGSTOP)
        probe = sqlite3.connect(db_path, timeout=0.5, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            proc.send_signal(signal.SIGCONT)  # caught mid-write: let it finish, try again
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("the agent never left its write lock")


def _chatty(marker: str) -> list[str]:
    """A step that logs and reports a metric every 0.1 s until killed; `marker` names it."""
    code = (
        "import sys, time\n"
        "i = 0\n"
        "while True:\n"
        "    print('line %d' % i, flush=True)\n"
        "    print('::metric name=loss/x value=%d step=%d' % (i, i), flush=True)\n"
        "    i += 1; time.sleep(0.1)\n"
    )
    return [PY, "-c", code, marker]


def test_killed_agent_run_fails_as_lost_within_ten_seconds(store, tmp_path, agents, db_path):
    marker = f"marker-{uuid.uuid4().hex}"
    name = _pipeline(store, tmp_path, _chatty(marker))
    run = ops.new_run(store, name)
    fleet = agents(str(db_path))
    victim = fleet.start("--heartbeat", "1", "--stale-after", "5", "--poll", "0.2", name="victim")
    try:
        wait_for(lambda: _status(store, run.id)[0] == "running", 60, "the run to start")
        fleet.start(
            "--heartbeat",
            "1",
            "--stale-after",
            "5",
            "--poll",
            "0.2",
            "--queue",
            "other",
            name="watcher",
        )
        time.sleep(1.5)
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: _status(store, run.id)[0] == "failed", 10, "the run to fail as lost")
        assert time.monotonic() - killed < 10
        message = _status(store, run.id)[3]
        assert message.startswith("agent lost: victim silent for"), message
        with store.read() as s:
            by = s.execute(
                select(EVENT.c.user).where(EVENT.c.run_id == run.id, EVENT.c.to_status == "failed")
            ).scalar()
        assert by == "watcher"
    finally:
        kill_marked(marker)


def test_abort_kills_a_step_that_ignores_sigterm_and_its_grandchildren(
    store, tmp_path, agents, db_path
):
    token = f"{time.time_ns() % 10**6}"
    ready = tmp_path / "ready"
    code = (
        "import signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"subprocess.Popen(['sh', '-c', 'sleep 1000.{token} & wait'])\n"
        f"subprocess.Popen(['setsid', 'sleep', '1001.{token}'])\n"
        f"open({str(ready)!r}, 'w').close()\n"
        "time.sleep(1000)\n"
    )
    name = _pipeline(store, tmp_path, [PY, "-c", code, f"stubborn-{token}"])
    run = ops.new_run(store, name)
    poll, grace = 0.5, 2.0
    fleet = agents(str(db_path))
    fleet.start("--poll", str(poll), "--grace", str(grace))
    try:
        wait_for(ready.exists, 60, "the step and its children to start")
        wait_for(lambda: len(pids_with(token)) >= 4, 30, "four processes of the step")
        assert ops.abort(store, [run.id]).ok
        aborted = time.monotonic()
        wait_for(
            lambda: not pids_with(token),
            poll + grace + 1,
            f"every process of the step to be gone (left: {pids_with(token)})",
            every=0.05,
        )
        assert time.monotonic() - aborted <= poll + grace + 1
        assert _status(store, run.id)[0] == "aborted"
    finally:
        kill_marked(token)


def test_frozen_agent_changes_nothing_after_its_run_was_retried(store, tmp_path, agents, db_path):
    marker = f"marker-{uuid.uuid4().hex}"
    name = _pipeline(store, tmp_path, _chatty(marker))
    run = ops.new_run(store, name)
    fleet = agents(str(db_path))
    frozen = fleet.start("--heartbeat", "1", "--stale-after", "3", "--poll", "0.2", name="frozen")
    try:
        wait_for(lambda: _status(store, run.id)[0] == "running", 60, "the run to start")
        time.sleep(1)
        _freeze_between_writes(frozen, db_path)
        fleet.start("--heartbeat", "1", "--stale-after", "3", "--poll", "0.2", name="fresh")
        wait_for(lambda: _status(store, run.id)[0] == "failed", 60, "the run to fail as lost")
        assert ops.retry(store, [run.id]).ok
        wait_for(
            lambda: _status(store, run.id)[:3] == ("running", 2, "fresh"),
            60,
            "the retry to run on the fresh agent",
        )

        def attempt_one() -> tuple[int, int, int]:
            with store.read() as s:
                logs = s.execute(select(func.count()).where(LOG.c.attempt == 1)).scalar_one()
                points = s.execute(select(func.count()).where(POINT.c.attempt == 1)).scalar_one()
                events = s.execute(
                    select(func.count()).where(EVENT.c.user == "frozen")
                ).scalar_one()
            return logs, points, events

        before = attempt_one()
        frozen.send_signal(signal.SIGCONT)
        # the thawed agent finds its run taken (however long a busy machine makes that),
        # then has a second more to write anything
        taken = "no longer this agent's"
        wait_for(lambda: taken in fleet.log("frozen"), 60, "the thawed agent to see its run taken")
        time.sleep(1)
        assert attempt_one() == before, "the stale agent wrote after it was replaced"
        assert _status(store, run.id)[:3] == ("running", 2, "fresh")
    finally:
        frozen.send_signal(signal.SIGCONT)
        kill_marked(marker)


def test_graceful_stop_aborts_what_is_left_and_leaves_nothing_running(
    store, tmp_path, agents, db_path
):
    marker = f"marker-{uuid.uuid4().hex}"
    name = _pipeline(store, tmp_path, _chatty(marker))
    quick = _pipeline(store, tmp_path, [PY, "-c", "import time; time.sleep(0.8)"], name="quick")
    slow = [ops.new_run(store, name).id for _ in range(2)]
    fast = ops.new_run(store, quick).id
    fleet = agents(str(db_path))
    proc = fleet.start("--concurrency", "3", "--grace", "2", "--poll", "0.2")
    try:
        wait_for(
            lambda: all(_status(store, r)[0] == "running" for r in [*slow, fast]),
            60,
            "three runs running",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, fleet.log("agent0")
        assert _status(store, fast)[0] == "completed", "a run that could finish in grace"
        for run_id in slow:
            status, _, _, message = _status(store, run_id)
            assert status == "aborted" and message.endswith("agent stopped"), message
        with store.read() as s:
            running = s.execute(select(func.count()).where(RUN.c.status == "running")).scalar()
        assert running == 0
        assert not pids_with(marker)
    finally:
        kill_marked(marker)


def test_agent_rejects_bad_settings(agents, db_path):
    fleet = agents(str(db_path))
    proc = fleet.start("--stale-after", "1", "--heartbeat", "2")
    assert proc.wait(timeout=20) == 2
    assert "--stale-after 1.0 must be longer than --heartbeat 2.0" in fleet.log("agent0")
    assert os.path.exists(db_path)
