"""In a real terminal (a pseudo-terminal), a run failing under a real agent reaches it
as the bell and as desktop notifications (OSC 777 and OSC 9), through the app's own
output: the real `runs-tui`, nothing headless."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import tomli_w
from failing_support import REASON, new_runs, register_failing, run_agent
from support import ROOT

from runs_tui.core.db import Store

WIDTH, HEIGHT = 100, 30
OSC = re.compile(r"\x1b\]([^\x07\x1b]*)(?:\x07|\x1b\\)")


def _read(fd: int, out: list[str], until: float) -> None:
    if select.select([fd], [], [], max(until - time.monotonic(), 0))[0]:
        with contextlib.suppress(OSError):
            out.append(os.read(fd, 65536).decode("utf-8", "replace"))


def _read_until(fd: int, out: list[str], want: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while want not in "".join(out):
        assert time.monotonic() < deadline, f"never wrote {want!r}"
        _read(fd, out, min(deadline, time.monotonic() + 0.5))
    return "".join(out)


def test_the_bell_and_desktop_notifications_reach_the_terminal(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    name = register_failing(store, tmp_path, name="fails;\x1b]9;evil")
    new_runs(store, name)
    settings = tmp_path / "config.toml"
    settings.write_text(tomli_w.dumps({"refresh": 0.5, "notify": {"desktop": True, "bell": True}}))
    env = {**os.environ, "RUNS_TUI_CONFIG": str(settings), "TERM": "xterm-256color"}
    env["PYTHONPATH"] = str(ROOT)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    argv = [sys.executable, "-m", "runs_tui", "--db", str(db_path), "--pipeline", name]
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)
    out: list[str] = []
    try:
        _read_until(master, out, "Pending", 60)
        time.sleep(1.5)  # a few ticks: the watch has begun
        run_agent(agents(str(db_path)))
        written = _read_until(master, out, "\x1b]777;notify;", 60)
        _read_until(master, out, "\x1b]9;", 10)
        written = "".join(out)
        told = [seq for seq in OSC.findall(written) if seq.startswith(("777;", "9;"))]
        # the name's `;` and ESC neither split nor end a sequence
        text = f"fails ␛]9 evil #1 failed: {REASON}"
        assert told == [f"777;notify;Run failed;{text}", f"9;Run failed: {text}"]
        bells = OSC.sub("", written).count("\x07")
        assert bells == 1, "one bell, outside any sequence"
        os.write(master, b"q")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            _read(master, out, time.monotonic() + 0.2)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
