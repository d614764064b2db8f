"""The local executor: each step a process on this machine, its output through pipes.

Stopping a step reaches every process it started, however it detached: each step runs in
a cgroup of its own where this machine lets the agent make one (agent/cgroups.py), else
its processes are found through /proc by process group, an environment token
(RUNS_TUI_STEP_TOKEN) and parentage (agent/procscan.py). The agent log says once which.
Output is read in bounded pieces with each line capped (agent/output.py).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import threading
import time
import uuid
from typing import Protocol

from runs_tui.agent.cgroups import Choice, Hierarchy, detect
from runs_tui.agent.launcher import LaunchError, Line, Stopped
from runs_tui.agent.output import CHUNK, MAX_LINE, LineBuffer
from runs_tui.agent.procscan import ProcScan
from runs_tui.core.pipelines import Resources

log = logging.getLogger("runs_tui.agent")
TOKEN_VAR = "RUNS_TUI_STEP_TOKEN"
LEFTOVERS_AFTER = 1.0  # seconds a step may be gone while something still holds its pipes
CHECK_EVERY = 0.25  # seconds between looks for such leftovers (a look may walk /proc)
KILL_FOR = 10.0  # seconds stop and close go on killing what a step forks meanwhile


class Tracker(Protocol):
    """The processes of one step: a cgroup, or a walk of /proc."""

    def signal(self, sig: int) -> set[int]:
        """Send `sig` to every process of the step; the pids it reached."""
        ...

    def alive(self) -> bool: ...

    def close(self) -> bool:
        """Release what tracking holds; False if something of it had to stay."""
        ...


class LocalLauncher:
    """Starts steps here. It cannot reserve anything, so it ignores every resource and says
    so once: a pipeline written for a cluster still runs on a laptop.

    `max_line` caps one line of output (--max-line); `cgroups` picks how steps are tracked
    ("auto": cgroup v2, else v1 freezer, else /proc; tests force each)."""

    executor = "local"

    def __init__(self, max_line: int = MAX_LINE, cgroups: Choice = "auto") -> None:
        self.max_line = max_line
        found = detect(cgroups)
        self.hierarchy = found if isinstance(found, Hierarchy) else None
        self.mechanism = (
            f"a cgroup per step ({found.kind.name}, in {found.parent})"
            if isinstance(found, Hierarchy)
            else f"process groups and /proc scans (no cgroup: {found})"
        )
        log.info("local executor: steps are tracked and stopped through %s", self.mechanism)
        if self.hierarchy is not None:
            self.hierarchy.sweep()
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

        def popen(args: list[str], pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                args,
                cwd=cwd,
                env={**env, TOKEN_VAR: token},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                bufsize=CHUNK,
                pass_fds=pass_fds,
            )

        try:
            if self.hierarchy is None:
                proc = popen(argv)
                return LocalHandle(proc, ProcScan(proc, TOKEN_VAR, token), self.max_line)
            cgroup = self.hierarchy.make(token)
            try:
                proc = cgroup.spawn(argv, popen)
            except BaseException:
                cgroup.close()
                raise
            return LocalHandle(proc, cgroup, self.max_line)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in argv or env
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise LaunchError(f"cannot start {argv[0]!r}: {reason}") from None

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
    """A running step: its process, the reader threads of its pipes, and its tracker."""

    executor = "local"
    detail = ""  # a local process is running or it is not: nothing to add

    def __init__(self, proc: subprocess.Popen[bytes], tracker: Tracker, max_line: int) -> None:
        self._proc, self._tracker = proc, tracker
        pipes = [(s, p) for s, p in (("stdout", proc.stdout), ("stderr", proc.stderr)) if p]
        self._lines = LineBuffer(len(pipes))
        for stream, pipe in pipes:
            threading.Thread(
                target=self._lines.pump,
                args=(stream, pipe, max_line),
                name=f"{stream}-{proc.pid}",
                daemon=True,
            ).start()
        self._exited_at: float | None = None
        self._next_look = 0.0

    @property
    def external_id(self) -> str:
        return str(self._proc.pid)

    @property
    def output_done(self) -> bool:
        return self._lines.done

    def read(self, timeout: float) -> Line | None:
        deadline = time.monotonic() + timeout
        while not self._lines.done:
            now = time.monotonic()  # no system call (vDSO): lines already read cost none
            if now >= self._next_look:
                self._end_leftovers(now)
            line = self._lines.get(max(0.0, min(deadline, self._next_look) - now))
            if line is not None:
                return line
            if time.monotonic() >= deadline:
                return None
        with contextlib.suppress(subprocess.TimeoutExpired):  # streams closed, step not yet
            self._proc.wait(max(0.0, deadline - time.monotonic()))
        return None

    def poll(self) -> int | None:
        return self._proc.poll()

    def stop(self, grace: float) -> Stopped:
        """SIGTERM every process of the step, SIGKILL what is left after `grace` seconds."""
        reached = self._tracker.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not self._gone():
            time.sleep(0.05)
        reached |= self._kill_all()
        return Stopped(self._proc.returncode, len(reached))

    def close(self) -> None:
        if not self._gone():
            self._kill_all()
        self._lines.close()
        if not self._tracker.close():
            log.warning("step %s: its cgroup stays: processes in it would not die", self._proc.pid)

    def _gone(self) -> bool:
        return self._proc.poll() is not None and not self._tracker.alive()

    def _kill_all(self) -> set[int]:
        """SIGKILL every process of the step until none is left: what one round misses
        (forked during a /proc walk) the next one gets."""
        reached: set[int] = set()
        give_up = time.monotonic() + KILL_FOR
        while True:
            reached |= self._tracker.signal(signal.SIGKILL)
            time.sleep(0.01)
            if self._gone():
                return reached
            if time.monotonic() >= give_up:
                log.warning("step %s: processes still alive after SIGKILL", self._proc.pid)
                return reached

    def _end_leftovers(self, now: float) -> None:
        """The step exited but its pipes are still open: something it left behind holds
        them. Kill that after a moment, or the step's output would never end. Runs every
        CHECK_EVERY seconds at most, whatever the number of lines read."""
        self._next_look = now + CHECK_EVERY
        if not self._lines.streams_open or self._proc.poll() is None:
            return
        if self._exited_at is None:
            self._exited_at = now
        if now - self._exited_at > LEFTOVERS_AFTER:
            self._tracker.signal(signal.SIGKILL)
