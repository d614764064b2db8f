"""Real agents with `--executor slurm` on the single-node cluster of `.ci/slurm.sh`:
pipelines run to the end with their metrics and console, many runs through two agents
run once each, abort leaves no job or process, and a job cancelled behind the agent's
back fails its run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slurm_support import needs_slurm, queued
from sqlalchemy import select
from support import Agents, pids_with, pipeline_toml, wait_for
from ui_support import SIZE, make_app, settle, visible_rows

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import LOG, METRIC, RUN, STEP
from runs_tui.core.registry import register

pytestmark = needs_slurm
PY = sys.executable


def slurm_agent(agents, db: Path, tmp_path: Path, *args: str, name: str = "s0"):
    a: Agents = agents(str(db))
    spool = tmp_path / "spool"
    return a, a.start(
        "--executor", "slurm", "--spool", str(spool), "--poll", "0.3", *args, name=name
    )


def jobs_of(store: Store) -> list[str]:
    with store.read() as s:
        return [j for (j,) in s.execute(select(STEP.c.external_id)).all() if j]


@pytest.fixture(autouse=True)
def _no_job_left_behind(store: Store):
    """A failed test must not leave jobs that hold the cluster's slots for the next."""
    yield
    jobs = jobs_of(store)
    if jobs:
        subprocess.run(["scancel", *jobs], check=False, capture_output=True)


def statuses(store: Store, ids: list[int]) -> dict[int, str]:
    with store.read() as s:
        return dict(s.execute(select(RUN.c.id, RUN.c.status).where(RUN.c.id.in_(ids))).all())


async def test_a_three_step_pipeline_runs_on_slurm_and_shows_in_the_table(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    train = (
        "from runs_tui.report import log_metric, progress\n"
        "for i in range(4):\n"
        "    log_metric('loss/train', 1.0 / (i + 1), step=i)\n"
        "    progress((i + 1) / 4)\n"
        "print('trained', flush=True)\n"
    )
    path = tmp_path / "three.toml"
    path.write_text(
        pipeline_toml(
            "three",
            [
                ("prepare", ["sh", "-c", "echo prepared; echo warn >&2"], []),
                ("train", [PY, "-c", train], ["prepare"]),
                ("evaluate", ["echo", "evaluated"], ["train"]),
            ],
        )
    )
    register(store, path)
    run = ops.new_run(store, "three")
    a, proc = slurm_agent(agents, db_path, tmp_path, "--once")
    assert proc.wait(timeout=180) == 0, a.log("s0")
    assert statuses(store, [run.id]) == {run.id: "completed"}
    with store.read() as s:
        steps = s.execute(select(STEP.c.name, STEP.c.executor, STEP.c.external_id)).all()
        lines = s.execute(select(LOG.c.step, LOG.c.stream, LOG.c.line).order_by(LOG.c.id)).all()
        metric = s.execute(select(METRIC.c.last, METRIC.c.min)).one()
    assert [(n, e) for n, e, _ in steps] == [
        ("prepare", "slurm"),
        ("train", "slurm"),
        ("evaluate", "slurm"),
    ]
    assert all(job.isdigit() for _, _, job in steps)
    assert ("prepare", "stdout", "prepared") in lines and ("prepare", "stderr", "warn") in lines
    assert ("train", "stdout", "trained") in lines and ("evaluate", "stdout", "evaluated") in lines
    assert tuple(metric) == (0.25, 0.25)

    app = make_app(store, pipeline="three", columns=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert visible_rows(pilot)[0][1:5] == ["#1", "1.0.0", "", "Completed"]
        await pilot.press("enter")
        await settle(pilot)
        console = app.screen.query_one("#console")
        shown = "\n".join(console.lines)
        assert "[train] trained" in shown and "[prepare!] warn" in shown


def test_fifty_runs_through_two_slurm_agents_run_once_each(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    out = tmp_path / "executions"
    out.mkdir()
    step = ["sh", "-c", f'echo "$RUNS_TUI_RUN_ID $RUNS_TUI_ATTEMPT" >> "{out}/log"']
    path = tmp_path / "many.toml"
    path.write_text(pipeline_toml("many", [("one", step, [])]))
    register(store, path)
    ids = [ops.new_run(store, "many").id for _ in range(50)]
    a: Agents = agents(str(db_path))
    spool = str(tmp_path / "spool")
    procs = [
        a.start("--executor", "slurm", "--spool", spool, "--poll", "0.3", "--once",
                "--concurrency", "8", name=f"s{i}")
        for i in range(2)
    ]  # fmt: skip
    for i, p in enumerate(procs):
        assert p.wait(timeout=300) == 0, a.log(f"s{i}")
    assert set(statuses(store, ids).values()) == {"completed"}
    executions = (out / "log").read_text().split("\n")[:-1]
    assert sorted(executions) == sorted(f"{i} 1" for i in ids), "each run once, attempt 1"


def test_abort_leaves_no_job_and_no_process(store: Store, tmp_path: Path, agents, db_path: Path):
    marker = f"slurm-abort-{tmp_path.name}"
    step = ["sh", "-c", f'trap "" TERM; sleep 300 & wait; echo {marker}', marker]
    path = tmp_path / "long.toml"
    path.write_text(pipeline_toml("long", [("sleep", step, [])]))
    register(store, path)
    ids = [ops.new_run(store, "long").id for _ in range(10)]
    a, _ = slurm_agent(agents, db_path, tmp_path, "--concurrency", "10", "--grace", "2")
    wait_for(lambda: set(statuses(store, ids).values()) == {"running"}, 120, "ten running runs")
    wait_for(lambda: len(jobs_of(store)) == 10, 60, "ten jobs")
    jobs = jobs_of(store)
    wait_for(lambda: pids_with(marker), 120, "the steps to start on the node")
    result = ops.abort(store, ids)
    assert result.ok
    wait_for(lambda: not queued(jobs), 60, "no job left in squeue")
    wait_for(lambda: not pids_with(marker), 30, "no step process left")
    with store.read() as s:
        steps = set(s.execute(select(STEP.c.status)).scalars())
    wait_for(lambda: "aborted" in a.log("s0"), 30, "the agent to log the aborts")
    assert steps <= {"aborted", "running"}
    wait_for(lambda: len(abort_lines(store)) == 20, 60, "each run's log to say who and which job")
    said = abort_lines(store)
    assert sum(line.startswith("aborted by ") for line in said) == 10, said
    assert {line for line in said if line.startswith("cancelled")} == {
        f"cancelled slurm job {job}" for job in jobs
    }


def abort_lines(store: Store) -> list[str]:
    """The agent's lines in the runs' logs about their abort."""
    with store.read() as s:
        lines = s.execute(select(LOG.c.line).where(LOG.c.stream == "agent")).scalars()
        return [line for line in lines if line.startswith(("aborted by ", "cancelled "))]


def test_a_job_cancelled_behind_the_agents_back_fails_its_run(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    path = tmp_path / "victim.toml"
    path.write_text(pipeline_toml("victim", [("wait", ["sleep", "300"], [])]))
    register(store, path)
    run = ops.new_run(store, "victim")
    a, _ = slurm_agent(agents, db_path, tmp_path)
    wait_for(lambda: statuses(store, [run.id])[run.id] == "running", 60, "the run to start")
    job = wait_for(lambda: jobs_of(store), 60, "its job")[0]  # type: ignore[index]
    subprocess.run(["scancel", str(job)], check=True)
    wait_for(lambda: statuses(store, [run.id])[run.id] == "failed", 60, "the run to fail")
    with store.read() as s:
        message = s.execute(select(RUN.c.status_message)).scalar_one()
    assert "wait" in message and ("signal" in message or "cancel" in message.lower()), message
    assert a.procs[0].poll() is None, "the agent goes on"


def test_a_hostile_parameter_reaches_the_slurm_step_unchanged(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    hostile = "q'uo\"te $(touch /tmp/pwned) `id`; rm -rf x\nnew line\t" + "x" * 10_000
    out = tmp_path / "got"
    code = f"import sys; open({str(out)!r}, 'w', encoding='utf-8').write(sys.argv[1])"
    path = tmp_path / "hostile.toml"
    path.write_text(pipeline_toml("hostile", [("s", [PY, "-c", code, "{text}"], [])], {"text": ""}))
    register(store, path)
    run = ops.new_run(store, "hostile", {"text": hostile})
    a, proc = slurm_agent(agents, db_path, tmp_path, "--once")
    assert proc.wait(timeout=120) == 0, a.log("s0")
    assert statuses(store, [run.id]) == {run.id: "completed"}
    assert out.read_text(encoding="utf-8") == hostile


def test_the_job_of_a_run_failed_as_lost_is_cancelled(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    """Nothing runs unobserved: when no agent comes back for a run within --stale-after,
    the agent that fails it as lost cancels its Slurm job."""
    path = tmp_path / "orphan.toml"
    path.write_text(pipeline_toml("orphan", [("wait", ["sleep", "300"], [])]))
    register(store, path)
    run = ops.new_run(store, "orphan")
    a, first = slurm_agent(agents, db_path, tmp_path, "--heartbeat", "0.5", "--stale-after", "3")
    wait_for(lambda: jobs_of(store), 60, "the run's job")
    job = jobs_of(store)[0]
    wait_for(lambda: queued([job]), 60, "the job in the queue")
    first.kill()
    first.wait(timeout=30)
    a.start("--heartbeat", "0.5", "--stale-after", "3", "--queue", "nothing", name="watcher")
    wait_for(lambda: statuses(store, [run.id])[run.id] == "failed", 60, "the run failed as lost")
    wait_for(lambda: not queued([job]), 60, "the orphaned job cancelled")
    assert "cancelled the Slurm jobs of lost runs" in a.log("watcher")


async def test_a_waiting_job_is_visible_on_the_step_and_in_the_steps_tab(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    path = tmp_path / "held.toml"
    path.write_text(pipeline_toml("held", [("wait", ["sleep", "300"], [])]))
    register(store, path)
    run = ops.new_run(store, "held")
    # Submitted held, the job waits in Slurm whatever else the cluster is running.
    slurm_agent(agents, db_path, tmp_path, "--sbatch-arg=--hold")
    job = wait_for(lambda: jobs_of(store), 60, "the run's job")[0]  # type: ignore[index]

    def notes() -> tuple[str, str] | None:
        with store.read() as s:
            step = s.execute(select(STEP.c.message)).scalar() or ""
            message = s.execute(select(RUN.c.status_message)).scalar() or ""
        return (step, message) if "queued in Slurm" in step else None

    step, message = wait_for(notes, 60, "the step to say it is queued")  # type: ignore[misc]
    assert step.startswith("queued in Slurm (") and message == f"step wait: {step}"
    assert statuses(store, [run.id]) == {run.id: "running"}
    app = make_app(store, pipeline="held", clock=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#details-tabs").active = "tab-steps"
        await settle(pilot)
        shown = app.export_screenshot().replace("&#160;", " ")
        assert f"slurm {job}" in shown and "queued in Slurm" in shown
