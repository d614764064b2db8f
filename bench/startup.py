"""Startup: how long from the start of `runs-tui` until its first screen is drawn and it
has quit, next to a bare Textual app; and `runs-tui --help` next to importing Textual.

- start -> first frame -> exit: the program in a real pty of 120x36 (bench/term.py),
  from fork until the screen shows the last visible run's number whole (the rows are
  drawn, columns measured: not only the status line), then "q" is sent and the time
  until it has exited is taken. runs-tui opens a copy of bench/table.py's 1,000-run
  database (upgraded by a warm-up launch first, so no launch pays a schema upgrade);
  the bare app is bench/bare.py, a DataTable of 1,000 rows. The last visible run is
  found by a first, untimed launch of each. Launches alternate, median of --launches.
- --help: `runs-tui --help` (the console script) and `python -c "import textual"`,
  alternating, median of --launches.

Both programs get a bytecode cache, as installed programs have (pip compiles them on
install): PYTHONPYCACHEPREFIX in a temp folder, filled by the untimed first launches.
--no-bytecode-cache runs them as this sandbox's environment does (PYTHONDONTWRITEBYTECODE=1):
Textual and SQLAlchemy still load their installed .pyc files, but runs-tui, an editable
install, compiles every one of its modules from source at each start.

Targets (issue 12): start -> first frame -> exit at most 1.3x the bare app; --help at
most 1.5x importing Textual.

Usage: python bench/startup.py [--launches 11] [--data DIR] [--no-bytecode-cache]
About a minute.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from table import _load, bytecode, ensure_db, machine
from term import bare_argv, last_row, runs_tui_argv, spawn, uncut

RUNS = 1000
COLS, ROWS = 120, 36
GOAL_START, GOAL_HELP = 1.3, 1.5
T = TypeVar("T")


def start_to_exit(argv: list[str], last: int, home: Path) -> tuple[float, float, float]:
    """Seconds from fork to the first frame (run `last` whole on screen), to exit, and
    the CPU seconds the program used (less swayed by other processes than wall time)."""
    term = spawn(argv, COLS, ROWS, home)
    try:
        frame = term.wait_for(uncut(last))
        exited = term.quit()
        assert term.cpu is not None
        return frame, exited, term.cpu
    finally:
        term.close()


def run_time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def alternate(launches: int, *runs: Callable[[], T]) -> list[list[T]]:
    """Each of `runs` `launches` times, taking turns, so that load changes touch them alike."""
    out: list[list[T]] = [[] for _ in runs]
    for _ in range(launches):
        for i, run in enumerate(runs):
            out[i].append(run())
    return out


def ratio_line(name: str, ours: float, base: float, goal: float) -> str:
    ratio = ours / base
    verdict = "ok" if ratio <= goal else "MISSED"
    return f"{name:44} {ours:7.3f} s vs {base:7.3f} s = {ratio:4.2f}x (<= {goal}x {verdict})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=11)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-table"
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="PYTHONDONTWRITEBYTECODE=1: runs-tui's modules compiled at every start",
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="runs-tui-bench-startup-"))
    print(f"machine: {machine()}", flush=True)
    print(f"load average at the start: {_load()}", flush=True)
    print(f"bytecode: {bytecode(home, not args.no_bytecode_cache)}", flush=True)
    db = home / "runs.db"
    shutil.copy(ensure_db(args.data, RUNS, False), db)
    ours, bare = runs_tui_argv(db), bare_argv(RUNS)
    last_ours, last_bare = last_row(ours, COLS, ROWS, home), last_row(bare, COLS, ROWS, home)
    print(f"last visible run: #{last_ours} (runs-tui), #{last_bare} (bare app)", flush=True)
    started = alternate(
        args.launches,
        lambda: start_to_exit(ours, last_ours, home),
        lambda: start_to_exit(bare, last_bare, home),
    )
    script = Path(sys.executable).with_name("runs-tui")
    helper = [str(script), "--help"] if script.exists() else [*ours[:3], "--help"]
    run_time(helper)  # untimed: fills the bytecode cache
    run_time([sys.executable, "-c", "import textual"])
    helped = alternate(
        args.launches,
        lambda: run_time(helper),
        lambda: run_time([sys.executable, "-c", "import textual"]),
    )
    med = statistics.median
    frames = [med(f for f, _, _ in runs) for runs in started]
    exits = [med(e for _, e, _ in runs) for runs in started]
    cpu = [med(c for _, _, c in runs) for runs in started]
    print(f"\nmedians of {args.launches} launches, {COLS}x{ROWS}, {RUNS:,} runs:")
    print(f"{'first frame: runs-tui, bare app':44} {frames[0]:7.3f} s, {frames[1]:.3f} s")
    print(ratio_line("start -> first frame -> exit", exits[0], exits[1], GOAL_START))
    print(ratio_line("  the same, CPU time (user + system)", cpu[0], cpu[1], GOAL_START))
    print(
        ratio_line("runs-tui --help vs import textual", med(helped[0]), med(helped[1]), GOAL_HELP)
    )
    print(f"\nload average at the end: {_load()} (other processes share the CPUs)")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
