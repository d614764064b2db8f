"""The StepLauncher contract, run against every launcher in LAUNCHERS.

A launcher joins by adding a `Subject` factory to LAUNCHERS: its setup (a shared folder,
a cluster to submit to) stays in the factory; the test bodies only use the protocol. Steps
are `sh` and this Python, and every process of a step carries a marker in its command
line, so "nothing left" is checked on this machine's /proc (a one-node test cluster
qualifies). Local-only checks are marked.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slurm_support import REASON as SLURM_REASON
from slurm_support import slurm_answers
from support import kill_marked, pids_with, wait_for

from runs_tui.agent.launcher import LaunchError, StepHandle, StepLauncher
from runs_tui.agent.local import LocalLauncher
from runs_tui.agent.slurm import SlurmLauncher
from runs_tui.agent.worker import make_launcher
from runs_tui.core.pipelines import Resources

PY = sys.executable


@dataclass
class Subject:
    """A launcher under test, with where its steps may run and how long they may take."""

    name: str
    launcher: StepLauncher
    folder: Path
    slack: float  # seconds a launcher may add to any deadline (queueing, polling)

    def start(
        self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> StepHandle:
        base = {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"}
        return self.launcher.start(
            argv, {**base, **(env or {})}, str(cwd or self.folder), Resources(), "contract"
        )


def ready(handle: StepHandle) -> bool:
    """The step said "ready" on stdout (and nothing else came first)."""
    line = handle.read(0.1)
    return line is not None and (line.stream, line.raw) == ("stdout", b"ready\n")


def _local(tmp_path: Path) -> Subject:
    return Subject("local", make_launcher("local"), tmp_path, slack=0.0)


def _local_freezer(tmp_path: Path) -> Subject:
    """The cgroup v1 freezer, which `_local` passes over where v2 serves."""
    launcher = LocalLauncher(cgroups="v1")
    if launcher.hierarchy is None:
        pytest.skip(f"no cgroup v1 freezer here: {launcher.mechanism}")
    return Subject("local", launcher, tmp_path, slack=0.0)


def _local_proc_scan(tmp_path: Path) -> Subject:
    """Without cgroups (not root, not Linux, none delegated): process groups and /proc."""
    return Subject("local", LocalLauncher(cgroups="off"), tmp_path, slack=0.0)


def _slurm(tmp_path: Path) -> Subject:
    """One batch job per step on the single-node cluster of `.ci/slurm.sh`."""
    if not slurm_answers():
        pytest.skip(SLURM_REASON)
    return Subject("slurm", SlurmLauncher(spool=tmp_path / "spool", poll=0.2), tmp_path, 30.0)


LAUNCHERS: list[Callable[[Path], Subject]] = [
    _local,
    _local_freezer,
    _local_proc_scan,
    _slurm,
]


@pytest.fixture(params=LAUNCHERS, ids=lambda factory: factory.__name__.strip("_"))
def launcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    factory: Callable[[Path], Subject] = request.param
    yield factory(tmp_path)


@pytest.fixture
def marker() -> Iterator[str]:
    """Digits in the command line of every process a test starts (`sleep 300.MARKER` is a
    valid duration); what still runs at the end is killed."""
    word = f"{uuid.uuid4().int % 10**15:015d}"
    yield word
    kill_marked(word)


def finish(handle: StepHandle, timeout: float) -> tuple[dict[str, list[bytes]], int]:
    """Read until the output has ended and the step has exited; lines by stream, and code."""
    lines: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    deadline = time.monotonic() + timeout
    try:
        while not handle.output_done or handle.poll() is None:
            assert time.monotonic() < deadline, f"step not done after {timeout}s: {lines}"
            line = handle.read(0.1)
            if line is not None:
                lines[line.stream].append(line.raw)
        code = handle.poll()
        assert code is not None
        return lines, code
    finally:
        handle.close()


def test_lines_arrive_whole_and_in_order_per_stream(launcher: Subject):
    code = (
        "import sys, time\n"
        "for i in range(3000):\n"
        "    print(f'out {i}')\n"
        "    if i % 3 == 0:\n"
        "        print(f'err {i}', file=sys.stderr)\n"
        "sys.stdout.write('in '); sys.stdout.flush(); time.sleep(0.3)\n"
        "sys.stdout.write('pieces'); sys.stdout.flush(); time.sleep(0.3)\n"
        "sys.stdout.write(' done\\n'); sys.stdout.write('no newline at the end')\n"
    )
    lines, exit_code = finish(launcher.start([PY, "-c", code]), 30 + launcher.slack)
    assert exit_code == 0
    expected = [f"out {i}\n".encode() for i in range(3000)]
    assert lines["stdout"] == [*expected, b"in pieces done\n", b"no newline at the end"]
    assert lines["stderr"] == [f"err {i}\n".encode() for i in range(0, 3000, 3)]


def test_bytes_are_passed_undecoded(launcher: Subject):
    argv = [PY, "-c", "import sys; sys.stdout.buffer.write(b'caf\\xe9 \\xff\\r\\n\\x1b[31m\\n')"]
    lines, _ = finish(launcher.start(argv), 20 + launcher.slack)
    assert lines["stdout"] == [b"caf\xe9 \xff\r\n", b"\x1b[31m\n"]


@pytest.mark.parametrize(
    ("script", "expected"),
    [("exit 0", 0), ("exit 3", 3), ("kill -KILL $$", -9), ("kill -TERM $$", -15)],
    ids=["zero", "three", "sigkill", "sigterm"],
)
def test_exit_codes(launcher: Subject, script: str, expected: int):
    _, code = finish(launcher.start(["sh", "-c", script]), 20 + launcher.slack)
    assert code == expected


def test_poll_is_none_while_running_and_never_waits(launcher: Subject, marker: str):
    handle = launcher.start(["sh", "-c", f"sleep 30 # {marker}", "step"])
    try:
        t0 = time.monotonic()
        assert handle.poll() is None
        assert time.monotonic() - t0 < 1.0
        assert not handle.output_done
    finally:
        handle.stop(0)
        handle.close()


def test_stop_leaves_nothing_of_a_step_that_ignores_sigterm(launcher: Subject, marker: str):
    script = (
        'trap "" TERM; '
        f"sleep 300.{marker} & "
        f"setsid sleep 301.{marker} & "
        f"sh -c 'sleep 302.{marker}' & "
        "echo ready; wait"
    )
    handle = launcher.start(["sh", "-c", script, marker])
    try:
        wait_for(lambda: ready(handle), 20 + launcher.slack, "ready")
        wait_for(lambda: len(pids_with(marker)) >= 4, 60, f"the step's four processes ({marker})")
        grace = 1.0
        t0 = time.monotonic()
        code = handle.stop(grace).code
        took = time.monotonic() - t0
        left = pids_with(marker)
        assert not left, f"still alive after stop: {left}"
        assert code == -9, "it ignored SIGTERM, so it was killed"
        assert grace <= took < grace + 5 + launcher.slack
        assert handle.poll() == code
    finally:
        handle.close()


# Steps whose descendants ignore SIGTERM and get away from the step: (script, how many of
# the step's processes are surely alive when it is stopped). M stands for the marker.
ESCAPES = {
    # a new session and an empty environment (no token), its parent still waiting
    "setsid-env-i": (
        """env -i setsid sh -c 'trap "" TERM; while :; do sleep 1.M; done' M &
        echo ready; wait""",
        2,
    ),
    # a new session forking a short-lived child every 10 ms or so, also while it is stopped
    # (bounded: at most 1500 children, none living 2 seconds)
    "fork-loop": (
        """setsid sh -c 'i=0; while [ $i -lt 1500 ]; do
            sleep 1.M & i=$((i+1)); sleep 0.0M; done' M &
        echo ready; wait""",
        3,
    ),
    # a double fork: the first child exits at once, the grandchild is adopted by init
    "double-fork": ("(setsid sleep 300.M &); echo ready; sleep 301.M", 3),
}


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_stop_reaches_every_descendant_however_it_left(launcher: Subject, marker: str, escape: str):
    script, surely_alive = ESCAPES[escape]
    script = 'trap "" TERM\n' + script.replace("M", marker)
    handle = launcher.start(["sh", "-c", script, marker])
    try:
        wait_for(lambda: ready(handle), 20 + launcher.slack, "ready")
        wait_for(lambda: len(pids_with(marker)) >= surely_alive, 60, "the descendants")
        stopped = handle.stop(0.5)
        left = pids_with(marker)
        assert not left, f"still alive after stop: {left}"
        assert stopped.code == -9, "it ignored SIGTERM, so it was killed"
        if launcher.name == "local":  # a batch job is one job, whatever runs in it
            assert stopped.processes is not None and stopped.processes >= surely_alive
    finally:
        handle.close()


def test_stop_of_a_step_that_obeys_sigterm_is_quick(launcher: Subject, marker: str):
    handle = launcher.start(["sh", "-c", f"sleep 300.{marker} & wait", marker])
    try:
        wait_for(lambda: len(pids_with(marker)) >= 2, 10 + launcher.slack, "the step to run")
        t0 = time.monotonic()
        code = handle.stop(10).code
        assert time.monotonic() - t0 < 5 + launcher.slack
        assert code == -15
        assert not pids_with(marker)
    finally:
        handle.close()


def test_output_ends_when_the_step_exits_even_if_leftovers_hold_it(launcher: Subject, marker: str):
    script = f"sleep 300.{marker} & setsid sleep 301.{marker} & echo done"
    lines, code = finish(launcher.start(["sh", "-c", script, marker]), 15 + launcher.slack)
    assert (lines["stdout"], code) == ([b"done\n"], 0)
    wait_for(lambda: not pids_with(marker), 30, f"leftovers to be gone: {pids_with(marker)}")


def test_close_kills_a_step_still_running(launcher: Subject, marker: str):
    handle = launcher.start(["sh", "-c", f"sleep 300.{marker}; echo never", marker])
    wait_for(lambda: pids_with(marker), 10 + launcher.slack, "the step to run")
    handle.close()
    wait_for(lambda: not pids_with(marker), 5 + launcher.slack, "the step to be gone")


def test_external_id_and_executor(launcher: Subject):
    handle = launcher.start(["sh", "-c", "echo $$"])
    assert handle.executor == launcher.name == launcher.launcher.executor
    assert handle.external_id
    lines, _ = finish(handle, 20 + launcher.slack)
    if launcher.name == "local":  # local only: the id is the step's pid
        assert lines["stdout"] == [f"{handle.external_id}\n".encode()]


def test_env_and_cwd_reach_the_step(launcher: Subject, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("RUNS_TUI_CONTRACT_NOT_PASSED", "leak")
    work = tmp_path / "work dir"
    work.mkdir()
    code = (
        "import json, os\n"
        "print(json.dumps({'cwd': os.getcwd(), 'a': os.environ.get('A'),"
        " 'b': os.environ.get('B'), 'leak': os.environ.get('RUNS_TUI_CONTRACT_NOT_PASSED')}))"
    )
    handle = launcher.start([PY, "-c", code], env={"A": "one", "B": "two = 2 'q'"}, cwd=work)
    lines, exit_code = finish(handle, 20 + launcher.slack)
    assert exit_code == 0, lines
    got = json.loads(lines["stdout"][0])
    assert got == {"cwd": str(work.resolve()), "a": "one", "b": "two = 2 'q'", "leak": None}


def test_hostile_argv_reaches_the_step_byte_for_byte(launcher: Subject, tmp_path: Path):
    out = tmp_path / "argv.json"
    hostile = [
        "; rm -rf ~",
        "$(touch pwned)",
        "`touch pwned`",
        "'single' \"double\" \\back",
        "new\nline\ttab",
        "*",
        "",
        " lead and trail ",
        "--flag=value",
        "café ünïcode ✓",
        "x" * 10_000,
    ]
    dump = "import json, sys; json.dump(sys.argv[2:], open(sys.argv[1], 'w'))"
    _, code = finish(launcher.start([PY, "-c", dump, str(out), *hostile]), 20 + launcher.slack)
    assert code == 0
    assert json.loads(out.read_text()) == hostile
    assert not (launcher.folder / "pwned").exists()


def test_a_program_that_cannot_start_is_a_launch_error(launcher: Subject):
    if launcher.name != "local":  # local only: a scheduler learns this when the job runs
        pytest.skip("a batch launcher accepts the job and the job fails")
    with pytest.raises(LaunchError, match=r"cannot start 'no-such-program-xyz': No such file"):
        launcher.start(["no-such-program-xyz"])
    with pytest.raises(LaunchError, match=r"cannot start 'sh': embedded null byte"):
        launcher.start(["sh", "-c", "echo a\0b"])
