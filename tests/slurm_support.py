"""The single-node Slurm cluster of `.ci/slurm.sh`, for the Slurm executor's tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

REASON = "no Slurm here: install and start one with `bash .ci/slurm.sh` (as root)"


def slurm_answers() -> bool:
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return False
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    down = ("down", "drain", "fail", "unk", "inval", "not_responding")
    states = done.stdout.split()
    return done.returncode == 0 and any(not s.startswith(down) for s in states)


needs_slurm = pytest.mark.skipif(not slurm_answers(), reason=REASON)


def job_state(job_id: str) -> str:
    done = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job_id],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    fields = dict(p.split("=", 1) for p in done.stdout.split() if "=" in p)
    return fields.get("JobState", "")


def queued(job_ids: list[str]) -> list[str]:
    """The jobs among `job_ids` that squeue still lists as pending or running."""
    done = subprocess.run(
        ["squeue", "--noheader", "--format=%i"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return [j for j in done.stdout.split() if j in job_ids]
