"""Starting a step as a process group, and stopping all of it.

A step may start children that leave its process group (setsid, double fork).
Every process of a step carries RUNS_TUI_STEP_TOKEN in its environment, so on
Linux the agent finds them through /proc even after they were re-parented.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TOKEN_VAR = "RUNS_TUI_STEP_TOKEN"


def resolve_argv(argv: list[str]) -> list[str]:
    """`python` in a pipeline means the Python that runs the agent (and runs_tui.report)."""
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return list(argv)


def spawn(argv: list[str], cwd: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `argv` (never through a shell) in its own session and process group."""
    return subprocess.Popen(
        resolve_argv(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _marked(token: str) -> set[int]:
    """Pids whose environment carries `token` (Linux /proc; empty elsewhere)."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found: set[int] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _signal_all(proc: subprocess.Popen[bytes], token: str, sig: int) -> set[int]:
    targets = _marked(token) - {os.getpid()}
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    return targets


def stop(proc: subprocess.Popen[bytes], token: str, grace: float) -> int | None:
    """SIGTERM the step's group and every marked process, SIGKILL what is left after
    `grace` seconds; returns the step's exit code."""
    targets = _signal_all(proc, token, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc.poll() is not None and not any(_alive(p) for p in targets | _marked(token)):
            break
        time.sleep(0.05)
    _signal_all(proc, token, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    return proc.returncode


def reap_leftovers(proc: subprocess.Popen[bytes], token: str) -> None:
    """Kill what a finished step left behind in its group or under its token."""
    if _marked(token) or _group_alive(proc.pid):
        _signal_all(proc, token, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
