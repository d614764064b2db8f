"""The local executor: each step a process group on this machine, its output through pipes.

A step may start children that leave its process group (setsid, double fork). Every
process of a step carries RUNS_TUI_STEP_TOKEN in its environment, so on Linux the
handle finds them through /proc even after they were re-parented, and stops them all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import IO

from runs_tui.agent.launcher import LaunchError, Line
from runs_tui.core.pipelines import Resources

log = logging.getLogger("runs_tui.agent")
TOKEN_VAR = "RUNS_TUI_STEP_TOKEN"
LEFTOVERS_AFTER = 1.0  # seconds a step may be gone while something still holds its pipes


class LocalLauncher:
    """Starts steps here. It cannot reserve anything, so it ignores every resource and says
    so once: a pipeline written for a cluster still runs on a laptop."""

    executor = "local"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._told = False

    def start(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        resources: Resources,
        name: str,
    ) -> LocalHandle:
        self._tell_ignored(resources, name)
        token = uuid.uuid4().hex
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env={**env, TOKEN_VAR: token},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in argv or env
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise LaunchError(f"cannot start {argv[0]!r}: {reason}") from None
        return LocalHandle(proc, token)

    def _tell_ignored(self, resources: Resources, name: str) -> None:
        ignored = resources.requested()
        with self._lock:
            if not ignored or self._told:
                return
            self._told = True
        log.warning(
            "local executor ignores resources: %s (step %s; not repeated)", ", ".join(ignored), name
        )


class LocalHandle:
    """A running step: its process, the reader threads of its pipes, and its token."""

    executor = "local"

    def __init__(self, proc: subprocess.Popen[bytes], token: str) -> None:
        self._proc, self._token = proc, token
        self._lines: queue.Queue[Line | None] = queue.Queue()
        self._open = 0
        for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            if pipe is not None:
                self._open += 1
                threading.Thread(
                    target=_read,
                    args=(stream, pipe, self._lines),
                    name=f"{stream}-{proc.pid}",
                    daemon=True,
                ).start()
        self._exited_at: float | None = None

    @property
    def external_id(self) -> str:
        return str(self._proc.pid)

    @property
    def output_done(self) -> bool:
        return self._open == 0

    def read(self, timeout: float) -> Line | None:
        deadline = time.monotonic() + timeout
        while not self.output_done:
            self._reap_lingering()
            try:
                item = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if item is not None:
                return item
            self._open -= 1
        with contextlib.suppress(subprocess.TimeoutExpired):  # streams closed, step not yet
            self._proc.wait(max(0.0, deadline - time.monotonic()))
        return None

    def poll(self) -> int | None:
        return self._proc.poll()

    def stop(self, grace: float) -> int | None:
        """SIGTERM the step's group and every marked process, SIGKILL what is left after
        `grace` seconds."""
        targets = _signal_all(self._proc.pid, self._token, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._proc.poll() is not None and not any(
                _alive(p) for p in targets | _marked(self._token)
            ):
                break
            time.sleep(0.05)
        _signal_all(self._proc.pid, self._token, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        return self._proc.returncode

    def close(self) -> None:
        self._kill_leftovers()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)

    def _reap_lingering(self) -> None:
        """The step exited but its pipes are still open: something it left behind holds
        them. Kill that after a moment, or the step's output would never end."""
        if self._proc.poll() is None:
            return
        mono = time.monotonic()
        self._exited_at = self._exited_at or mono
        if mono - self._exited_at > LEFTOVERS_AFTER:
            self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        if _marked(self._token) or _group_alive(self._proc.pid):
            _signal_all(self._proc.pid, self._token, signal.SIGKILL)


def _read(stream: str, pipe: IO[bytes], out: queue.Queue[Line | None]) -> None:
    try:
        for raw in iter(pipe.readline, b""):
            out.put(Line(stream, raw))
    finally:
        pipe.close()
        out.put(None)


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


def _signal_all(pgid: int, token: str, sig: int) -> set[int]:
    targets = _marked(token) - {os.getpid()}
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    return targets


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
