"""An agent that comes back adopts the Slurm jobs its earlier process left: after kill -9
(the run goes on, its log has no gap and no duplicate line, and no agent ever fails it as
lost), and after a deliberate `--detach` (even when the job ended while no agent ran)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from slurm_support import needs_slurm, queued
from sqlalchemy import select, update
from support import Agents, pipeline_toml, wait_for

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import EVENT, LOG, POINT, RUN, STEP
from runs_tui.core.registry import register

pytestmark = needs_slurm


def counting(lines: int, pause: float) -> list[str]:
    """A step that writes `out i` to stdout and `err i` to stderr, a metric every tenth."""
    script = (
        f"i=1; while [ $i -le {lines} ]; do echo out $i; echo err $i >&2; "
        'if [ $((i % 10)) -eq 0 ]; then echo "::metric name=count value=$i step=$i"; fi; '
        f"i=$((i + 1)); sleep {pause}; done"
    )
    return ["sh", "-c", script]


def make_run(store: Store, tmp_path: Path, lines: int, pause: float) -> int:
    path = tmp_path / "adopt.toml"
    steps = [("count", counting(lines, pause), []), ("after", ["echo", "after ran"], ["count"])]
    path.write_text(pipeline_toml("adopt", steps))
    register(store, path)
    return ops.new_run(store, "adopt").id


def stored(store: Store, stream: str) -> list[str]:
    with store.read() as s:
        return list(
            s.execute(
                select(LOG.c.line)
                .where(LOG.c.step == "count", LOG.c.stream == stream)
                .order_by(LOG.c.id)
            ).scalars()
        )


def run_row(store: Store, run_id: int) -> tuple[str, str]:
    with store.read() as s:
        status, message = s.execute(
            select(RUN.c.status, RUN.c.status_message).where(RUN.c.id == run_id)
        ).one()
    return status, message


def job_of(store: Store) -> str:
    with store.read() as s:
        job = s.execute(select(STEP.c.external_id).where(STEP.c.name == "count")).scalar()
    return job or ""


def agent_log(store: Store) -> list[str]:
    with store.read() as s:
        return list(s.execute(select(LOG.c.line).where(LOG.c.stream == "agent")).scalars())


def assert_whole_output(store: Store, lines: int) -> None:
    assert stored(store, "stdout") == [f"out {i}" for i in range(1, lines + 1)]
    assert stored(store, "stderr") == [f"err {i}" for i in range(1, lines + 1)]


def start(agents: Agents, spool: Path, *args: str, name: str = "s0"):
    common = ("--executor", "slurm", "--spool", str(spool), "--poll", "0.3")
    return agents.start(*common, "--heartbeat", "0.5", *args, name=name)


def test_after_kill_9_a_new_agent_adopts_the_job_and_loses_no_line(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    lines = 200
    run_id = make_run(store, tmp_path, lines, 0.05)
    a: Agents = agents(str(db_path))
    spool = tmp_path / "spool"
    # A second agent that would fail the run as lost, were it left without heartbeats.
    a.start("--heartbeat", "0.5", "--stale-after", "8", "--queue", "none", name="watcher")
    first = start(a, spool)
    wait_for(lambda: len(stored(store, "stdout")) >= 30, 120, "30 lines of the step stored")
    job = job_of(store)
    first.kill()
    first.wait(timeout=30)
    seen = len(stored(store, "stdout"))
    assert seen < lines and queued([job]) == [job], "the job outlives its agent"
    second = start(a, spool, "--once")
    assert second.wait(timeout=180) == 0, a.log("s0")
    assert run_row(store, run_id) == ("completed", "completed")
    assert_whole_output(store, lines)
    with store.read() as s:
        events = [m for (m,) in s.execute(select(EVENT.c.message)).all()]
        last = s.execute(select(STEP.c.name).order_by(STEP.c.id.desc())).scalar()
        points = list(s.execute(select(POINT.c.step).order_by(POINT.c.id)).scalars())
    assert not [e for e in events if "lost" in e], events
    assert "failed lost runs" not in a.log("watcher")
    assert last == "after"
    assert points == list(range(10, lines + 1, 10)), "every metric point once"
    assert any(f"s0 adopted slurm job {job} (step count)" in line for line in agent_log(store))


def test_a_detached_agent_leaves_the_job_and_the_next_one_finishes_the_run(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    lines = 100
    run_id = make_run(store, tmp_path, lines, 0.06)
    a: Agents = agents(str(db_path))
    spool = tmp_path / "spool"
    first = start(a, spool, "--detach")
    wait_for(lambda: len(stored(store, "stdout")) >= 5, 120, "the step's first lines")
    job = job_of(store)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0, a.log("s0")
    status, message = run_row(store, run_id)
    assert status == "running" and message == (
        f"step count: slurm job {job} left running by s0 (detached)"
    )
    assert len(stored(store, "stdout")) < lines
    # The job ends while no agent follows it; its output waits in the spool.
    wait_for(lambda: not queued([job]), 120, "the job to end on its own")
    assert start(a, spool, "--once").wait(timeout=120) == 0, a.log("s0")
    assert run_row(store, run_id) == ("completed", "completed")
    assert_whole_output(store, lines)
    said = agent_log(store)
    assert f"s0 detached; slurm job {job} keeps running" in said
    assert any(f"s0 adopted slurm job {job}" in line for line in said)


def test_a_job_slurm_forgot_fails_its_run_saying_so(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    run_id = make_run(store, tmp_path, 400, 0.05)
    a: Agents = agents(str(db_path))
    spool = tmp_path / "spool"
    first = start(a, spool, "--detach")
    wait_for(lambda: stored(store, "stdout"), 120, "the step's first line")
    job = job_of(store)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0, a.log("s0")
    a.procs.remove(first)
    subprocess.run(["scancel", job], check=False)
    with store.write() as s:  # a job id no cluster knows (e.g. purged after MinJobAge)
        s.execute(update(STEP).where(STEP.c.name == "count").values(external_id="99999999"))
    assert start(a, spool, "--once").wait(timeout=120) == 0, a.log("s0")
    status, message = run_row(store, run_id)
    assert status == "failed"
    assert message == "step 'count': slurm job lost (job 99999999): Slurm no longer knows it"
