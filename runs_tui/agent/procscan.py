"""Finding a step's processes without cgroups: a walk of /proc (Linux; elsewhere only the
process group is reached).

A process belongs to the step if it is in the step's process group, carries the step's
token in its environment, was found before (same pid and start time), or descends from
one that does. That covers setsid (the token stays), a cleared environment (the parent
is still known) and double forks (the token stays). A process that does all three and
whose parent exits before the next walk escapes: cgroups (agent/cgroups.py) have no such
hole, this is the fallback where they cannot be used.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen


@dataclass(frozen=True)
class _Proc:
    ppid: int
    pgid: int
    start: int  # clock ticks after boot: with the pid, names one process for good


class ProcScan:
    """The processes of one step, found by walking /proc; a walk costs about a millisecond
    per hundred processes on the machine, so callers limit how often they ask."""

    def __init__(self, proc: Popen[bytes], token_var: str, token: str) -> None:
        self._proc = proc
        self._needle = f"{token_var}={token}".encode()
        self._known: dict[int, int] = {}  # pid -> start time, of every process found so far
        self._group_seen = True  # the group had members at the last walk: its id is still ours

    def find(self) -> set[int]:
        """The step's live processes (zombies are done; the agent itself never counts)."""
        table = _table()
        group = self._proc.pid
        found = {
            pid for pid, p in table.items() if p.pgid == group or self._known.get(pid) == p.start
        }
        found |= {pid for pid in table.keys() - found if self._marked(pid)}
        children: dict[int, list[int]] = {}
        for pid, p in table.items():
            children.setdefault(p.ppid, []).append(pid)
        todo = list(found)
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        found.discard(os.getpid())
        self._group_seen = any(table[pid].pgid == group for pid in found)
        self._known.update((pid, table[pid].start) for pid in found)
        return found

    def alive(self) -> bool:
        return bool(self.find())

    def signal(self, sig: int) -> set[int]:
        """Send `sig` to the step's process group and to every process found; the pids it
        reached. The group signal also reaches a child forked during the walk."""
        found = self.find()
        if self._proc.returncode is None or self._group_seen:  # else the id may be reused
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, sig)
        for pid in sorted(found):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                found.discard(pid)
        return found

    def close(self) -> bool:
        return True

    def _marked(self, pid: int) -> bool:
        with contextlib.suppress(OSError):
            return self._needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return False


def _table() -> dict[int, _Proc]:
    """Every live process: parent, group and start time (from /proc/PID/stat)."""
    table: dict[int, _Proc] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                # after the command's closing parenthesis: state ppid pgrp ... starttime (22nd)
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] not in ("Z", "X"):
                    table[int(entry.name)] = _Proc(int(fields[1]), int(fields[2]), int(fields[19]))
    return table
