"""A program in a real pseudo-terminal, for bench/bytes.py and bench/startup.py: started
at a given size (TERM=xterm-256color, a temp config and cwd), its output read as it
comes and fed to a model of the screen (tests/vt_support.py: the app writes only the
cells that change, so its text is found on the screen, not in the byte stream), quit
with "q"."""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

from table import PIPELINE

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

from vt_support import Terminal  # noqa: E402


def runs_tui_argv(db: Path) -> list[str]:
    return [sys.executable, "-m", "runs_tui", "--db", str(db), "--pipeline", PIPELINE]


def bare_argv(rows: int) -> list[str]:
    return [sys.executable, str(BENCH / "bare.py"), "--rows", str(rows)]


@dataclass
class Term:
    """A child in a pty: every byte it wrote (`out`) and the screen they make."""

    pid: int
    fd: int
    t0: float
    screen: Terminal
    out: bytearray = field(default_factory=bytearray)
    exited: float | None = None
    cpu: float | None = None  # user + system seconds of the child, once it exited
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )
    _pending: str = ""  # an escape sequence not complete yet

    def read(self, timeout: float) -> int:
        """Read what comes within `timeout`; returns how many bytes (-1 once it is gone)."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            return -1
        self.out += data
        text = self._pending + self._decoder.decode(data)
        cut = text.rfind("\x1b")
        cut = len(text) if cut < 0 or _complete(text[cut:]) else cut
        self.screen.feed(text[:cut])
        self._pending = text[cut:]
        return len(data)

    def wait_for(self, pattern: re.Pattern[str], limit: float = 120) -> float:
        """Seconds from the start until the screen matches `pattern`."""
        while not pattern.search(self.screen.screen()):
            if time.perf_counter() - self.t0 > limit or self.read(0.5) < 0:
                tail = bytes(self.out[-1500:])
                raise RuntimeError(f"no {pattern.pattern!r} in {limit} s; output ends {tail!r}")
        return time.perf_counter() - self.t0

    def settle(self, quiet: float, most: float) -> None:
        """Read until `quiet` seconds pass with no output, or `most` seconds."""
        end = time.perf_counter() + most
        while time.perf_counter() < end and self.read(min(quiet, end - time.perf_counter())):
            pass

    def count(self, seconds: float) -> int:
        """Bytes written over the next `seconds`."""
        end = time.perf_counter() + seconds
        total = 0
        while (left := end - time.perf_counter()) > 0:
            got = self.read(left)
            if got < 0:
                raise RuntimeError("the program exited while its bytes were counted")
            total += got
        return total

    def quit(self, key: bytes = b"q", limit: float = 15) -> float:
        """Send `key`, wait for the exit (reading on, or it blocks writing); returns the
        seconds from the start to the exit."""
        os.write(self.fd, key)
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            self.read(0.05)
            done, _, usage = os.wait4(self.pid, os.WNOHANG)
            if done:
                self.exited = time.perf_counter() - self.t0
                self.cpu = usage.ru_utime + usage.ru_stime
                return self.exited
        raise RuntimeError(f"did not exit on {key!r} within {limit} s")

    def close(self) -> None:
        if self.exited is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        os.close(self.fd)


def _complete(tail: str) -> bool:
    """Whether `tail`, which starts with ESC, is a whole escape sequence."""
    if len(tail) < 2:
        return False
    if tail[1] == "[":
        return re.match(r"\x1b\[[0-?]*[ -/]*[@-~]", tail) is not None
    if tail[1] == "]":
        return "\x07" in tail or "\x1b\\" in tail[1:]
    return True


def spawn(argv: list[str], cols: int, rows: int, home: Path) -> Term:
    """Start `argv` with a pty of `cols` x `rows` as its terminal; config and cwd in `home`."""
    config = home / "config.toml"
    config.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "RUNS_TUI_DB")}
    env.update(TERM="xterm-256color", RUNS_TUI_CONFIG=str(config))
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.chdir(home)  # not the checkout: `-m` imports from the cwd first
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    return Term(pid, fd, t0, Terminal(cols, rows))


def last_row(argv: list[str], cols: int, rows: int, home: Path) -> int:
    """The number of the last run on the first screen (the lowest shown once it settled)."""
    term = spawn(argv, cols, rows, home)
    try:
        term.wait_for(re.compile(r"#\d+"))
        term.settle(1.0, 10)
        numbers = [int(n) for n in re.findall(r"#(\d+)", term.screen.screen())]
        term.quit()
    finally:
        term.close()
    return min(numbers)


def uncut(number: int) -> re.Pattern[str]:
    """`#number` whole on the screen: not the start of a longer number."""
    return re.compile(rf"#{number}(?!\d)")
