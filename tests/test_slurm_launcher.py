"""The Slurm launcher on a real single-node cluster: how steps become jobs, what the
handle says while a job waits, jobs cancelled or lost behind the agent's back, and one
`squeue` per poll for all jobs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from slurm_support import job_state, needs_slurm
from support import wait_for

from runs_tui.agent.launcher import LaunchError
from runs_tui.agent.slurm import SlurmLauncher, parse_exit, resource_args, time_limit
from runs_tui.core.pipelines import Resources

pytestmark = needs_slurm


def drain(handle, deadline: float = 120.0) -> list[tuple[str, bytes]]:
    lines = []
    give_up = time.monotonic() + deadline
    while not handle.output_done:
        assert time.monotonic() < give_up, "the job's output never ended"
        line = handle.read(0.2)
        if line is not None:
            lines.append((line.stream, line.raw))
    return lines


def test_resources_become_sbatch_options():
    asked = Resources(cpus=2, memory=1536, gpus=1, time=5400, extra=("--comment=x y",))
    assert resource_args(asked) == [
        "--cpus-per-task=2",
        "--mem=1536M",
        "--gres=gpu:1",
        "--time=0-01:30:00",
        "--comment=x y",
    ]
    assert time_limit(61) == "0-00:02:00" and time_limit(2 * 86400) == "2-00:00:00"
    assert parse_exit("2:0") == 2 and parse_exit("0:15") == -15 and parse_exit("") is None


def test_steps_starting_together_write_one_job_script(tmp_path: Path):
    """Steps start from several threads at once; each must find the script in place."""
    for n in range(20):
        spool = tmp_path / f"spool{n}"
        launcher = SlurmLauncher(spool=spool)
        with ThreadPoolExecutor(8) as pool:
            paths = set(pool.map(lambda _, it=launcher: it.script(), range(32)))
        assert paths == {spool / "exec.sh"} and os.access(spool / "exec.sh", os.X_OK)
        assert [p.name for p in spool.iterdir()] == ["exec.sh"], "no temporary file left"


def test_a_step_becomes_one_named_job_with_its_resources(tmp_path: Path):
    launcher = SlurmLauncher(spool=tmp_path / "spool", poll=0.2)
    handle = launcher.start(
        [sys.executable, "-c", "import os; print(os.environ['RUNS_TUI_STEP'])"],
        {**os.environ, "RUNS_TUI_STEP": "train"},
        str(tmp_path),
        Resources(cpus=1, memory=256, gpus=1, time=120, extra=("--comment=from-toml",)),
        "pipe#7/train",
    )
    try:
        shown = subprocess.run(
            ["scontrol", "show", "job", "--oneliner", handle.external_id],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "JobName=runs-tui:pipe#7:train" in shown
        assert "TimeLimit=00:02:00" in shown and "Comment=from-toml" in shown
        assert "gres/gpu=1" in shown or "gpu:1" in shown
        assert drain(handle) == [("stdout", b"train\n")]
        assert handle.poll() == 0
    finally:
        handle.close()
    assert not list((tmp_path / "spool").glob("*.out")), "spool files go once read"


def test_a_waiting_job_says_why_it_waits(tmp_path: Path):
    launcher = SlurmLauncher(spool=tmp_path / "spool", poll=0.2)
    handle = launcher.start(["true"], dict(os.environ), str(tmp_path), Resources(), "p#1/held")
    try:
        subprocess.run(["scontrol", "hold", handle.external_id], check=True)
        wait_for(lambda: "queued in Slurm" in handle.detail, 30, "the job to be held")
        assert "Held" in handle.detail or "JobHeld" in handle.detail, handle.detail
    finally:
        handle.close()
    wait_for(lambda: job_state(handle.external_id) in ("CANCELLED", ""), 30, "cancelled")


def test_a_job_cancelled_behind_the_launchers_back_ends_as_killed(tmp_path: Path):
    launcher = SlurmLauncher(spool=tmp_path / "spool", poll=0.2)
    handle = launcher.start(
        ["sh", "-c", "echo started; sleep 300"],
        dict(os.environ),
        str(tmp_path),
        Resources(),
        "p#1/s",
    )
    try:
        wait_for(lambda: handle.read(0.2) is not None, 60, "the job to start")
        subprocess.run(["scancel", handle.external_id], check=True)
        drain(handle)
        code = handle.poll()
        assert code is not None and code != 0
    finally:
        handle.close()


def test_a_job_slurm_forgot_cannot_be_adopted(tmp_path: Path):
    launcher = SlurmLauncher(spool=tmp_path / "spool", poll=0.2)
    with pytest.raises(LaunchError, match=r"^slurm job lost \(job 999999999\): Slurm no longer"):
        launcher.adopt("999999999", (0, 0))


def test_an_adopter_reads_on_from_the_stored_offsets(tmp_path: Path):
    """Each line carries where it ends in its file; a handle adopted from the end of the
    third line returns exactly the lines after it, on both streams."""
    launcher = SlurmLauncher(spool=tmp_path / "spool", poll=0.2)
    script = "for i in 1 2 3 4 5 6; do echo out $i; echo err $i >&2; sleep 0.3; done"
    first = launcher.start(
        ["sh", "-c", script], dict(os.environ), str(tmp_path), Resources(), "p#1/s"
    )
    job, got, ends = first.external_id, [], {"stdout": 0, "stderr": 0}
    while len([g for g in got if g[0] == "stdout"]) < 3:
        line = first.read(0.2)
        if line is not None and (line.stream, ends[line.stream]) and len(got) < 6:
            got.append((line.stream, line.raw))
            assert line.end is not None and line.end > ends[line.stream]
            ends[line.stream] = line.end
    first.release()
    assert job_state(job) in ("RUNNING", "PENDING", "COMPLETED"), "release leaves the job"
    second = launcher.adopt(job, (ends["stdout"], ends["stderr"]))
    try:
        rest = drain(second)
        assert second.poll() == 0
    finally:
        second.close()
    out = [raw for stream, raw in got + rest if stream == "stdout"]
    err = [raw for stream, raw in got + rest if stream == "stderr"]
    assert out == [f"out {i}\n".encode() for i in range(1, 7)]
    assert err == [f"err {i}\n".encode() for i in range(1, 7)]


def test_one_squeue_per_poll_for_all_jobs(tmp_path: Path):
    launcher = SlurmLauncher(spool=tmp_path / "spool", poll=0.5)
    handles = [
        launcher.start(["sleep", "3"], dict(os.environ), str(tmp_path), Resources(), f"p#{i}/s")
        for i in range(6)
    ]
    try:
        start, calls = time.monotonic(), launcher.squeue_calls
        while time.monotonic() - start < 2.0:
            for h in handles:
                h.poll()
                h.read(0.01)
        elapsed = time.monotonic() - start
        assert launcher.squeue_calls - calls <= elapsed / 0.5 + 1
    finally:
        for h in handles:
            h.close()
