"""`runs-tui demo` keeps to itself (issue 13): it opens a pipeline and the user changes
the view, yet nothing is written to the user's config (`last_pipeline`, views) nor to
the default database. The real command, in a pseudo-terminal, with HOME and the XDG
folders pointed at a temporary one; RUNS_TUI_CONFIG given, it writes there."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import tomllib
from pathlib import Path

from support import ROOT
from vt_support import Terminal

WIDTH, HEIGHT = 120, 36


def _home(tmp_path: Path) -> dict[str, str]:
    """An environment whose every default folder is under `tmp_path`."""
    home = tmp_path / "home"
    for sub in (".config", ".local/share", ".local/state", ".cache", "tmp"):
        (home / sub).mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNS_TUI_", "XDG_")) and k != "NO_COLOR"
    }
    return env | {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(home / "tmp"),
        "TERM": "xterm-256color",
        "PYTHONPATH": str(ROOT),
        "RUNS_TUI_USER": "tester",
    }


def _read_until(fd: int, term: Terminal, want: str, deadline: float) -> None:
    while want not in term.screen():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"never showed {want!r}:\n{term.screen()}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            with contextlib.suppress(OSError):
                term.feed(os.read(fd, 65536).decode("utf-8", "replace"))


def _sorted(screen: str) -> bool:
    return "RUN ▲" in screen or "RUN ▼" in screen


def _drive_demo(env: dict[str, str]) -> None:
    """Open the demo, sort by the cursor column (a view change is saved), quit."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runs_tui", "demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    term = Terminal(WIDTH, HEIGHT)
    try:
        _read_until(master, term, " runs", time.monotonic() + 60)
        # A key sent while the app is still starting may be lost on a busy machine: press
        # again until the sort shows (a second press turns it the other way).
        give_up = time.monotonic() + 60
        while True:
            os.write(master, b"s")
            wait = time.monotonic() + 5
            while time.monotonic() < wait and not _sorted(term.screen()):
                with contextlib.suppress(AssertionError):
                    _read_until(master, term, "RUN ▲", min(wait, time.monotonic() + 0.5))
            if _sorted(term.screen()):
                break
            assert time.monotonic() < give_up, f"the sort never showed:\n{term.screen()}"
        os.write(master, b"q")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):
                    os.read(master, 65536)
        assert proc.returncode == 0, term.screen()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_demo_writes_nothing_to_the_users_config_or_database(tmp_path: Path):
    env = _home(tmp_path)
    home = Path(env["HOME"])
    _drive_demo(env)
    assert not (home / ".config" / "runs-tui").exists(), _files(home)
    assert not (home / ".local" / "share" / "runs-tui").exists(), _files(home)
    assert _files(home) == [], "the demo's own config and database went with it"


def test_the_demo_writes_to_a_config_it_is_given(tmp_path: Path):
    env = _home(tmp_path)
    given = tmp_path / "mine.toml"
    env["RUNS_TUI_CONFIG"] = str(given)
    _drive_demo(env)
    saved = tomllib.loads(given.read_text())
    assert saved["last_pipeline"] == "train-resnet"
    assert saved["pipelines"]["train-resnet"]["view"]
    assert not (Path(env["HOME"]) / ".config" / "runs-tui").exists()
