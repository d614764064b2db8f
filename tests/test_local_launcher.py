"""The local launcher beyond the contract: lines capped at --max-line, a step's cgroup gone
once its handle is closed, and lines read after the step exited costing no /proc walks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import kill_marked, pids_with, run_cli, wait_for

from runs_tui.agent.cgroups import PREFIX, Choice
from runs_tui.agent.launcher import StepHandle
from runs_tui.agent.local import LEFTOVERS_AFTER, LocalLauncher
from runs_tui.agent.worker import AgentConfig, make_launcher
from runs_tui.core.pipelines import Resources

PY = sys.executable
ENV = {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def marker() -> Iterator[str]:
    word = f"{uuid.uuid4().int % 10**15:015d}"
    yield word
    kill_marked(word)


def cgroup_launcher(choice: Choice, **options: int) -> LocalLauncher:
    launcher = LocalLauncher(cgroups=choice, **options)
    if launcher.hierarchy is None:
        pytest.skip(f"no cgroup here: {launcher.mechanism}")
    return launcher


def drain(handle: StepHandle) -> list[tuple[str, bytes]]:
    lines = []
    deadline = time.monotonic() + 30
    while not handle.output_done or handle.poll() is None:
        assert time.monotonic() < deadline, f"not done after {len(lines)} lines"
        line = handle.read(0.1)
        if line is not None:
            lines.append((line.stream, line.raw))
    return lines


def test_a_line_longer_than_the_cap_keeps_its_start_and_says_so(tmp_path: Path):
    note = b" [runs-tui: line truncated at 10 bytes]"
    code = (
        "import sys\n"
        "w = sys.stdout.buffer.write\n"
        "w(b'short\\n' + b'a' * 10 + b'\\n' + b'b' * 11 + b'\\n')\n"
        "sys.stderr.buffer.write(b'c' * 100000 + b'\\r\\nnext\\n')\n"
        "w(b'd' * 25)\n"
    )
    handle = LocalLauncher(max_line=10).start(
        [PY, "-c", code], ENV, str(tmp_path), Resources(), "t"
    )
    try:
        lines = drain(handle)
    finally:
        handle.close()
    assert [raw for stream, raw in lines if stream == "stdout"] == [
        b"short\n",
        b"a" * 10 + b"\n",  # exactly the cap: whole
        b"b" * 10 + note + b"\n",
        b"d" * 10 + note,  # the last line, with no newline: none added
    ]
    assert [raw for stream, raw in lines if stream == "stderr"] == [
        b"c" * 10 + note + b"\n",
        b"next\n",
    ]


def test_max_line_reaches_the_launcher_and_bad_values_are_refused():
    configured, default = make_launcher("local", AgentConfig(max_line=123)), make_launcher("local")
    assert isinstance(configured, LocalLauncher) and isinstance(default, LocalLauncher)
    assert (configured.max_line, default.max_line) == (123, 65536)
    done = run_cli("agent", "--max-line", "0")
    assert (done.returncode, done.stderr) == (
        2,
        "runs-tui: error: --max-line 0: must be at least 1 byte\n",
    )
    done = run_cli("agent", "--max-line", "1k")
    assert done.returncode == 2 and "--max-line: invalid int value: '1k'" in done.stderr


@pytest.mark.parametrize("choice", ["v2", "v1"])
def test_a_steps_cgroup_is_removed_when_its_handle_closes(
    choice: Choice, tmp_path: Path, marker: str
):
    launcher = cgroup_launcher(choice)
    assert launcher.hierarchy is not None
    parent = launcher.hierarchy.parent
    # one step ends by itself, leaving a daemon behind; the other is stopped
    token = "echo $RUNS_TUI_STEP_TOKEN"
    for stopped, script in (
        (False, f"setsid sleep 300.{marker} & {token}"),
        (True, f"{token}; exec sleep 301.{marker}"),
    ):
        handle = launcher.start(["sh", "-c", script], ENV, str(tmp_path), Resources(), "t")
        line = handle.read(20)
        assert line is not None
        cgroup = parent / f"{PREFIX}{os.getpid()}-{line.raw.decode().strip()}"
        assert cgroup.is_dir()
        if stopped:
            handle.stop(0.2)
        else:
            drain(handle)
        handle.close()
        assert not cgroup.exists()
        assert not pids_with(marker)


@pytest.mark.parametrize("choice", ["v2", "v1"])
def test_empty_cgroups_of_agents_that_are_gone_are_swept(choice: Choice):
    launcher = cgroup_launcher(choice)
    assert launcher.hierarchy is not None
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is free now, as a killed agent's is
    left = launcher.hierarchy.parent / f"{PREFIX}{dead.pid}-{uuid.uuid4().hex}"
    mine = launcher.hierarchy.parent / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
    left.mkdir()
    mine.mkdir()
    try:
        LocalLauncher(cgroups=choice)
        assert not left.exists(), "an agent that is gone left it: swept"
        assert mine.is_dir(), "a running agent's: kept"
    finally:
        for path in (left, mine):
            if path.exists():
                path.rmdir()


def _reads() -> int:
    """Read system calls made by this process so far (all threads)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("syscr:"):
            return int(line.split()[1])
    raise AssertionError("no syscr in /proc/self/io")


@pytest.mark.parametrize("choice", ["auto", "off"])
def test_lines_read_after_the_step_exited_cost_no_proc_walk_each(choice: Choice, tmp_path: Path):
    launcher = LocalLauncher(cgroups=choice)
    code = "for i in range(3000): print(f'line {i}')"
    handle = launcher.start([PY, "-c", code], ENV, str(tmp_path), Resources(), "t")
    try:
        wait_for(lambda: handle.poll() is not None, 60, "the step to exit")
        assert handle.read(5) is not None  # the launcher sees that the step exited...
        time.sleep(LEFTOVERS_AFTER + 0.2)  # ...and the store is slow: leftovers are looked for
        before = _reads()
        lines = drain(handle)
        reads = _reads() - before
    finally:
        handle.close()
    assert len(lines) == 2999
    # a walk of /proc reads two files per process: one per line would be ~10^5 reads here
    assert reads < 300, f"{reads} read calls to take 3000 lines already read from the pipe"
