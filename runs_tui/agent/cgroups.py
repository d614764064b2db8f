"""A cgroup per step, so that stopping a step reaches every process it started.

A process is born in its parent's cgroup and cannot leave it without write access to the
cgroup tree, so a descendant that starts a new session, clears its environment and loses
its parent is still found. (A step running as root could move itself out, as it could
kill the agent: that is not a step to guard against.) Two kinds serve, whichever this
machine lets the agent use: cgroup v2 with `cgroup.kill`, else the cgroup v1 freezer.
Step cgroups are made inside the agent's own cgroup, so a delegated subtree (systemd's
`Delegate=yes`) is enough and nothing outside it is touched.

The step joins its cgroup before it runs: a trampoline (this Python, `-I -S`: a few
milliseconds) writes its own pid into `cgroup.procs`, then execs the step's argv in place
(same pid), so not even the step's first fork can happen outside. Joining from the agent
after the start would race with that fork, and `preexec_fn` is unsafe in a threaded
agent. The trampoline reports a failed join or exec through a pipe that closes on a
successful exec, so a missing program is still a LaunchError, as with a plain Popen.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Literal

from runs_tui.agent.launcher import LaunchError

Choice = Literal["auto", "v2", "v1", "off"]
PREFIX = "runs-tui-"  # then the agent's pid, "-", and the step's token
FREEZE_WAIT = 2.0  # seconds a freeze may take (a process in uninterruptible sleep delays it)

# argv: cgroup.procs, the report pipe's fd, then the step's argv. The environment is
# re-read from /proc/self/environ, as the step was given it: Python's own start-up may add
# LC_CTYPE (PEP 538), which must not reach the step.
JOIN = """\
import os, sys
procs, report, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
os.set_inheritable(report, False)
try:
    with open(procs, "w") as f:
        f.write(str(os.getpid()))
except OSError as e:
    os.write(report, f"cannot join its cgroup: {e.strerror}".encode())
    os._exit(125)
with open("/proc/self/environ", "rb") as f:
    env = dict(v.split(b"=", 1) for v in f.read().split(b"\\0") if b"=" in v)
try:
    os.execvpe(argv[0], argv, env)
except OSError as e:
    os.write(report, (e.strerror or str(e)).encode())
    os._exit(127)
"""


@dataclass(frozen=True)
class Kind:
    """What differs between the hierarchies: how to find one, and how to freeze a cgroup."""

    name: str
    fstype: str
    controller: str  # the v1 controller in /proc/self/cgroup; "" for v2
    freeze: tuple[str, str, str]  # the file, what freezes, what thaws
    state: tuple[str, str]  # the file that says whether it is frozen, and its line then
    needs: tuple[str, ...]  # files a step cgroup must have


V2 = Kind(
    "cgroup v2",
    "cgroup2",
    "",
    ("cgroup.freeze", "1", "0"),
    ("cgroup.events", "frozen 1"),
    ("cgroup.freeze", "cgroup.kill"),
)
V1 = Kind(
    "cgroup v1 freezer",
    "cgroup",
    "freezer",
    ("freezer.state", "FROZEN", "THAWED"),
    ("freezer.state", "FROZEN"),
    ("freezer.state",),
)
KINDS = {"v2": V2, "v1": V1}


@dataclass(frozen=True)
class Hierarchy:
    """Where step cgroups are made: the agent's own cgroup in a usable hierarchy."""

    kind: Kind
    parent: Path

    def make(self, token: str) -> StepCgroup:
        """A new, empty cgroup for one step, named after this agent's pid and the step's token."""
        path = self.parent / f"{PREFIX}{os.getpid()}-{token}"
        try:
            path.mkdir()
        except OSError as exc:
            raise LaunchError(f"cannot make the step's cgroup {path}: {exc.strerror}") from None
        return StepCgroup(self.kind, path)

    def sweep(self) -> None:
        """Remove the empty step cgroups of agents that are gone: one killed outright could
        not remove its own. A cgroup still in use stays (rmdir refuses it)."""
        for path in self.parent.glob(f"{PREFIX}*-*"):
            agent = path.name.removeprefix(PREFIX).split("-")[0]
            if agent.isdigit() and not _running(int(agent)):
                with contextlib.suppress(OSError):
                    path.rmdir()


def detect(choice: Choice) -> Hierarchy | str:
    """The hierarchy to put steps in, or why there is none ("auto": v2, else v1)."""
    if choice == "off":
        return "turned off"
    reasons = []
    for key in ("v2", "v1") if choice == "auto" else (choice,):
        found = _usable(KINDS[key])
        if isinstance(found, Hierarchy):
            return found
        reasons.append(f"{KINDS[key].name}: {found}")
    return "; ".join(reasons)


def _usable(kind: Kind) -> Hierarchy | str:
    """The hierarchy if a step cgroup can be made and joined there, else why not."""
    try:
        mount = _mount(kind)
        own = _own_cgroup(kind)
    except OSError:
        return "no /proc/self/mountinfo (not Linux?)"
    if mount is None or own is None:
        return "not mounted"
    root, point = mount
    inside = os.path.relpath(own, root)
    if inside.startswith(".."):
        return f"the agent's cgroup {own} is outside the mount at {point}"
    parent = Path(os.path.normpath(Path(point) / inside))
    if not os.access(parent / "cgroup.procs", os.W_OK):
        return f"{parent} is not writable"
    probe = parent / f"{PREFIX}{os.getpid()}-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot make a cgroup in {parent}: {exc.strerror}"
    missing = [name for name in kind.needs if not (probe / name).exists()]
    with contextlib.suppress(OSError):
        probe.rmdir()
    return f"no {', '.join(missing)} (kernel too old?)" if missing else Hierarchy(kind, parent)


def _mount(kind: Kind) -> tuple[str, str] | None:
    """The root and mount point of the hierarchy, from /proc/self/mountinfo."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        head, _, tail = line.partition(" - ")
        fields, source = head.split(), tail.split()
        if len(fields) < 5 or len(source) < 3 or source[0] != kind.fstype:
            continue
        if kind.controller and kind.controller not in source[2].split(","):
            continue
        return _unescape(fields[3]), _unescape(fields[4])
    return None


def _own_cgroup(kind: Kind) -> str | None:
    """The agent's cgroup in the hierarchy, from /proc/self/cgroup."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if kind.controller and kind.controller in controllers.split(","):
            return path
        if not kind.controller and number == "0":
            return path
    return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    return True


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


class StepCgroup:
    """One step's cgroup: made empty, joined by the step before it runs, removed at the end."""

    def __init__(self, kind: Kind, path: Path) -> None:
        self.kind, self.path = kind, path

    def spawn(
        self, argv: list[str], popen: Callable[[list[str], tuple[int, ...]], Popen[bytes]]
    ) -> Popen[bytes]:
        """Start `argv` inside this cgroup with `popen(argv, pass_fds)`; returns once argv
        runs, so nothing of the step ever runs outside. LaunchError if it cannot."""
        read_end, write_end = os.pipe()
        with open(read_end, "rb") as report:
            try:
                procs = str(self.path / "cgroup.procs")
                trampoline = [sys.executable, "-I", "-S", "-c", JOIN, procs, str(write_end)]
                proc = popen([*trampoline, *argv], (write_end,))
            finally:
                os.close(write_end)
            failure = report.read()  # nothing until the exec closes the pipe: success
        if failure:
            with proc:  # closes its pipes, waits for it
                pass
            raise LaunchError(f"cannot start {argv[0]!r}: {failure.decode(errors='replace')}")
        return proc

    def pids(self) -> set[int]:
        return {int(pid) for pid in (self.path / "cgroup.procs").read_text().split()}

    def alive(self) -> bool:
        return bool(self.pids())

    def signal(self, sig: int) -> set[int]:
        """Send `sig` to every process in the cgroup, frozen meanwhile so that none forks a
        child the signal would miss; the pids it reached."""
        self._freeze(True)
        try:
            pids = self.pids()
            if sig == signal.SIGKILL and self.kind is V2:
                (self.path / "cgroup.kill").write_text("1")  # forks under way included
                return pids
            for pid in sorted(pids):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pids.discard(pid)
        finally:
            self._freeze(False)
        return pids

    def close(self) -> bool:
        """Remove the cgroup once the last process has left it (a killed process takes a
        moment); False if it is still busy after a few seconds."""
        give_up = time.monotonic() + 5.0
        while True:
            try:
                self.path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() >= give_up:
                    return False
                time.sleep(0.01)

    def _freeze(self, frozen: bool) -> None:
        file, freeze, thaw = self.kind.freeze
        (self.path / file).write_text(freeze if frozen else thaw)
        state, line = self.kind.state
        give_up = time.monotonic() + FREEZE_WAIT
        while frozen and time.monotonic() < give_up:
            if line in (self.path / state).read_text().splitlines():
                return
            time.sleep(0.001)
