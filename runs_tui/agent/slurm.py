"""The Slurm executor: each step one batch job, its output followed from spool files.

The job's script only `exec`s the step's argv, passed as the script's arguments, so no
shell ever re-reads a parameter. The job writes stdout and stderr to files in the spool
folder (on a cluster it must be on a filesystem the nodes share); the handle follows
them like `tail -f`, a line at a time, and remembers how far it has read so that a
later agent can take over from there. The launcher asks Slurm about all of its jobs in
one `squeue` call per poll interval, whatever the number of steps, and asks `scontrol`
only about a job that left the queue, while Slurm still remembers it (no `sacct`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from runs_tui.agent.launcher import LaunchError, Line, Stopped
from runs_tui.agent.output import MAX_LINE, truncation_note
from runs_tui.core.pipelines import Resources

log = logging.getLogger("runs_tui.agent")
SCRIPT = '#!/bin/sh\n# runs-tui: run the step\'s argv as given, never through a shell.\nexec "$@"\n'
ENDED = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "TIMEOUT",
        "LOST",
    }
)
CHUNK = 1 << 16
COMMAND_TIMEOUT = 30.0


def default_spool() -> Path:
    return Path(user_data_dir("runs-tui")) / "slurm-spool"


@dataclass(frozen=True)
class JobState:
    """What Slurm says of a job: its state, the reason it waits, its node, and once it
    ended, its exit code (negative: killed by that signal)."""

    state: str
    reason: str = ""
    node: str = ""
    exit_code: int | None = None

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def result(self) -> int:
        """The step's exit code as the executor reads it: a job that did not complete is
        never a success, even when Slurm says 0:0 (cancelled before it ran)."""
        if self.state == "COMPLETED" or self.exit_code not in (None, 0):
            return self.exit_code if self.exit_code is not None else 1
        return -15 if self.state == "CANCELLED" else 1  # scancel's SIGTERM


def time_limit(seconds: int) -> str:
    """Seconds as Slurm's D-HH:MM:SS (rounded up to the minute it counts in)."""
    minutes = -(-seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    return f"{days}-{rest // 60:02d}:{rest % 60:02d}:00"


def resource_args(resources: Resources) -> list[str]:
    """The step's `[steps.resources]` as sbatch options; `extra` as given."""
    out: list[str] = []
    if resources.cpus:
        out.append(f"--cpus-per-task={resources.cpus}")
    if resources.memory:
        out.append(f"--mem={resources.memory}M")
    if resources.gpus:
        out.append(f"--gres=gpu:{resources.gpus}")
    if resources.time:
        out.append(f"--time={time_limit(resources.time)}")
    return [*out, *resources.extra]


def parse_exit(text: str) -> int | None:
    """`ExitCode=2:0` -> 2; `0:15` (killed by signal 15) -> -15."""
    code, _, sig = text.partition(":")
    try:
        number, signal = int(code), int(sig or 0)
    except ValueError:
        return None
    return -signal if signal else number


def cancel_jobs(job_ids: list[str]) -> None:
    """`scancel` jobs no agent follows any more (their runs were failed as lost)."""
    done = _run(["scancel", *job_ids])
    if done.returncode != 0:
        log.warning("scancel %s: %s", " ".join(job_ids), done.stderr.strip()[:200])


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 255, "", f"{argv[0]}: {exc}")


class SlurmLauncher:
    """Submits steps with `sbatch` and watches all of its jobs with one `squeue` per poll."""

    executor = "slurm"

    def __init__(
        self,
        *,
        partition: str | None = None,
        sbatch_args: tuple[str, ...] = (),
        spool: Path | None = None,
        poll: float = 1.0,
        max_line: int = MAX_LINE,
    ) -> None:
        self.partition, self.sbatch_args, self.poll = partition, sbatch_args, poll
        self.max_line = max_line
        self.spool = spool or default_spool()
        self._lock = threading.Lock()
        self._states: dict[str, JobState] = {}
        self._checked = 0.0
        self.squeue_calls = 0

    def script(self) -> Path:
        """The job script in the spool, written once: steps start from several threads
        (and agents share a spool), so each writes its own temporary file and renames."""
        path = self.spool / "exec.sh"
        with self._lock:
            if not path.exists() or path.read_text() != SCRIPT:
                self.spool.mkdir(parents=True, exist_ok=True, mode=0o700)
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_text(SCRIPT)
                tmp.chmod(0o755)
                os.replace(tmp, path)
        return path

    def start(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        resources: Resources,
        name: str,
    ) -> SlurmHandle:
        if shutil.which("sbatch", path=env.get("PATH")) is None and shutil.which("sbatch") is None:
            raise LaunchError("cannot start the step: no `sbatch` on PATH")
        try:
            script = self.script()
        except OSError as exc:
            raise LaunchError(f"cannot use the spool folder {self.spool}: {exc}") from None
        stem = f"{name.replace('/', '.').replace('#', '-')}.{time.time_ns()}"
        out, err = self.spool / f"{stem}.out", self.spool / f"{stem}.err"
        command = [
            "sbatch",
            "--parsable",
            f"--job-name=runs-tui:{name.replace('/', ':')}",
            f"--chdir={cwd}",
            f"--output={out}",
            f"--error={err}",
            "--export=ALL",
            *([f"--partition={self.partition}"] if self.partition else []),
            *resource_args(resources),
            *self.sbatch_args,
            str(script),
            *argv,
        ]
        done = _run(command, env)
        job_id = done.stdout.strip().split(";")[0]
        if done.returncode != 0 or not job_id.isdigit():
            why = done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}"
            raise LaunchError(f"sbatch refused the step: {why.splitlines()[-1]}")
        with self._lock:
            self._states[job_id] = JobState("PENDING")
        return SlurmHandle(self, job_id, out, err)

    def adopt(self, external_id: str, offsets: tuple[int, int]) -> SlurmHandle:
        """Follow a job another agent started, its output files (as Slurm knows them) from
        the offsets that agent had stored."""
        done = _run(
            [
                "squeue",
                f"--jobs={external_id}",
                "--states=all",
                "--noheader",
                "--Format=JobID:|,STDOUT:|,STDERR:|",
            ]
        )
        found = done.stdout.strip().split("|") if done.returncode == 0 else []
        if len(found) < 3 or found[0] != external_id or not found[1] or not found[2]:
            raise LaunchError(f"slurm job lost (job {external_id}): Slurm no longer knows it")
        with self._lock:
            self._states[external_id] = JobState("UNKNOWN")
            self._checked = 0.0
        return SlurmHandle(self, external_id, Path(found[1]), Path(found[2]), offsets)

    def state(self, job_id: str) -> JobState:
        """The job's state as of the last poll; one `squeue` serves every job."""
        with self._lock:
            if time.monotonic() - self._checked >= self.poll:
                self._refresh()
            return self._states.get(job_id, JobState("LOST"))

    def _refresh(self) -> None:
        live = [j for j, s in self._states.items() if not s.ended]
        self._checked = time.monotonic()
        if not live:
            return
        self.squeue_calls += 1
        done = _run(
            [
                "squeue",
                f"--jobs={','.join(live)}",
                "--states=all",
                "--noheader",
                "--format=%i|%T|%r|%N",
            ]
        )
        if done.returncode != 0 and "Invalid job id" not in done.stderr:
            return  # slurmctld busy or away: keep the last states, ask again next poll
        seen: dict[str, tuple[str, str, str]] = {}
        for row in done.stdout.splitlines():
            parts = row.split("|")
            if len(parts) == 4:
                seen[parts[0]] = (parts[1], parts[2], parts[3])
        for job_id in live:
            state, reason, node = seen.get(job_id, ("", "", ""))
            if state and state not in ENDED:
                self._states[job_id] = JobState(state, "" if reason == "None" else reason, node)
            else:
                self._states[job_id] = self._ended(job_id)

    def _ended(self, job_id: str) -> JobState:
        """A job that left the queue (or ended in it): its end from `scontrol`."""
        done = _run(["scontrol", "show", "job", "--oneliner", job_id])
        fields = dict(part.split("=", 1) for part in done.stdout.split() if "=" in part)
        state = fields.get("JobState", "")
        if done.returncode != 0 or not state:
            return JobState("LOST")
        reason, node = fields.get("Reason", ""), fields.get("NodeList", "")
        if state not in ENDED:
            return JobState(state, reason, node)
        return JobState(state, reason, node, parse_exit(fields.get("ExitCode", "")))

    def cancel(self, job_id: str, signal: str | None = None) -> None:
        argv = ["scancel", *([f"--signal={signal}", "--full"] if signal else []), job_id]
        done = _run(argv)
        if done.returncode != 0:
            log.warning("scancel of job %s: %s", job_id, done.stderr.strip()[:200])
        with self._lock:
            self._checked = 0.0  # the next state() asks Slurm again

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._states.pop(job_id, None)


class _Tail:
    """One output file followed from an offset; only whole lines leave it, so the offset
    is always at a line's start (an unfinished last line comes out at the end). A line
    longer than `max_line` keeps its start and a note; the rest is read and dropped."""

    def __init__(self, path: Path, offset: int, max_line: int) -> None:
        self.path, self.offset, self.max_line = path, offset, max_line
        self._note = truncation_note(max_line)
        self._partial = b""
        self._skipping = False

    def _cut(self, line: bytes) -> bytes:
        return line[: self.max_line] + self._note + b"\n"

    def read(self) -> list[tuple[bytes, int]]:
        """Whole lines written since the last read (from at most CHUNK more bytes), each
        with the offset just past it in the file."""
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset + len(self._partial))
                data = f.read(CHUNK)
        except FileNotFoundError:
            return []
        buf, pos, out = self._partial + data, 0, []
        base = self.offset  # where the buffer starts in the file
        while (end := buf.find(b"\n", pos)) >= 0:
            line = buf[pos : end + 1]
            if self._skipping:
                self._skipping = False  # the end of a line already cut: dropped
            else:
                kept = line if len(line) - 1 <= self.max_line else self._cut(line)
                out.append((kept, base + end + 1))
            pos = end + 1
        rest = buf[pos:]
        if self._skipping or len(rest) > self.max_line:
            if not self._skipping:
                out.append((self._cut(rest), base + len(buf)))
                self._skipping = True
            rest = b""
        self.offset = base + len(buf) - len(rest)
        self._partial = rest
        return out

    def drained(self) -> bool:
        """Every byte of the file has been read (a missing file has none)."""
        try:
            return self.path.stat().st_size <= self.offset + len(self._partial)
        except FileNotFoundError:
            return True

    def rest(self) -> list[tuple[bytes, int]]:
        """The unfinished last line, once the job has ended."""
        last, self._partial = self._partial, b""
        self.offset += len(last)
        return [(last, self.offset)] if last else []


class SlurmHandle:
    """A step running (or queued) as a Slurm job."""

    executor = "slurm"

    def __init__(
        self,
        launcher: SlurmLauncher,
        job_id: str,
        out: Path,
        err: Path,
        offsets: tuple[int, int] = (0, 0),
    ) -> None:
        self._launcher, self._job = launcher, job_id
        cap = launcher.max_line
        self._tails = {
            "stdout": _Tail(out, offsets[0], cap),
            "stderr": _Tail(err, offsets[1], cap),
        }
        self._ready: deque[Line] = deque()
        self._done = False
        self._killed = False  # stop() had to KILL it: Slurm may still record scancel's TERM

    @property
    def external_id(self) -> str:
        return self._job

    @property
    def offsets(self) -> tuple[int, int]:
        """How far each file has been read (whole lines only), for a later agent."""
        return (self._tails["stdout"].offset, self._tails["stderr"].offset)

    @property
    def detail(self) -> str:
        """Where the job stands, in words for the Steps tab."""
        job = self._launcher.state(self._job)
        if job.state == "PENDING":
            return f"queued in Slurm ({job.reason or 'Pending'})"
        if job.state == "LOST":
            return f"slurm job lost (job {self._job})"
        where = f" on {job.node}" if job.node else ""
        return f"{job.state.lower()}{where}"

    def read(self, timeout: float) -> Line | None:
        deadline = time.monotonic() + timeout
        while not self._ready and not self._done:
            ended = self._launcher.state(self._job).ended  # before reading: no line is missed
            for stream, tail in self._tails.items():
                self._ready.extend(Line(stream, raw, end) for raw, end in tail.read())
            if self._ready:
                break
            if ended and all(t.drained() for t in self._tails.values()):
                for stream, tail in self._tails.items():
                    self._ready.extend(Line(stream, raw, end) for raw, end in tail.rest())
                self._done = True
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(0.05, left))
        return self._ready.popleft() if self._ready else None

    @property
    def output_done(self) -> bool:
        return self._done and not self._ready

    def poll(self) -> int | None:
        job = self._launcher.state(self._job)
        if not job.ended:
            return None
        return -9 if self._killed and job.result < 0 else job.result

    def stop(self, grace: float) -> Stopped:
        """`scancel --signal=TERM`, then KILL and `scancel` after `grace`; waits for the
        end."""
        self._launcher.cancel(self._job, "TERM")
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not self._launcher.state(self._job).ended:
            time.sleep(0.1)
        if not self._launcher.state(self._job).ended:
            self._killed = True
            self._launcher.cancel(self._job, "KILL")  # now, not after the cluster's KillWait
            self._launcher.cancel(self._job)
        end = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < end and not self._launcher.state(self._job).ended:
            time.sleep(0.1)
        return Stopped(self.poll())  # one job: its processes are Slurm's to count

    def release(self) -> None:
        """Leave the job running, and its spool files, for a later agent to adopt."""
        self._launcher.forget(self._job)

    def close(self) -> None:
        """A job still queued or running is cancelled: no step outlives the executor's
        interest in it. Its spool files go once everything was read."""
        if not self._launcher.state(self._job).ended:
            self._launcher.cancel(self._job)
        if self._done:
            for tail in self._tails.values():
                with contextlib.suppress(OSError):
                    tail.path.unlink()
        self._launcher.forget(self._job)
