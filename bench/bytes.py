"""Bytes to the terminal: what the app writes to a real pty per 10 s, which is what an
SSH session carries, next to a bare Textual app and `top -d 2` in the same run.

Each program runs in a pseudo-terminal of 120x36 and of 80x24 (TERM=xterm-256color, a
temp config). Once its first screen is drawn and 3 s have passed (the first ticks), the
bytes it writes over --seconds are counted. Programs:

- runs-tui, Running runs on screen: a copy of bench/table.py's 1,000-run database (its 5
  Pending and 20 Running runs are the newest, at the top), while a writer process does
  what agents do every 1.5 s: the 20 Running runs get new progress, `updated` and metric
  summaries (bench/table.py `agent_writes`). The app refreshes every 2 s (the default).
- runs-tui, nothing changing: the same copy with every run finished and its times moved
  2 days back, so no cell can change in the window ("2d ago" stays), and no writer.
- bare Textual app: bench/bare.py, a DataTable of 1,000 rows, nothing changing.
- top -d 2: a full process list redrawn every 2 s, the classic SSH-friendly monitor
  (htop measured 1.0 KB/s on this machine when issue 12 was filed).

Targets (issue 12): with Running runs on screen at most 1 KB/s; nothing changing 0 B.

Usage: python bench/bytes.py [--seconds 10] [--sizes 120x36,80x24] [--data DIR] [--keep DIR]
About 1.5 minutes. --keep writes each counted window's raw bytes there, to look at.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from table import PIPELINE, _load, agent_writes, ensure_db, machine, running_ids
from term import Term, bare_argv, runs_tui_argv, spawn, uncut

RUNS = 1000
EVERY = 1.5  # seconds between two writes of the agents
SETTLE = 3.0
LIMIT_RUNNING = 1000.0  # B/s
SHIFT = 2 * 86400.0


def writer(db: Path, ids: list[int], every: float) -> None:
    """The agents of the Running runs, until terminated."""
    while True:
        agent_writes(db, ids)
        time.sleep(every)


@contextlib.contextmanager
def agents(db: Path) -> Iterator[None]:
    proc = multiprocessing.get_context("spawn").Process(
        target=writer, args=(db, running_ids(db), EVERY), daemon=True
    )
    proc.start()
    try:
        yield
    finally:
        proc.terminate()
        proc.join()


def still_copy(source: Path, dest: Path) -> Path:
    """A copy in which nothing can change: every run finished, its times 2 days back."""
    shutil.copy(source, dest)
    with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as conn:
        conn.execute(
            "UPDATE run SET status = 'completed', progress = NULL, heartbeat = NULL, "
            "started = coalesce(started, created + 5), "
            "finished = coalesce(finished, updated + 60), updated = coalesce(finished, "
            "updated + 60) WHERE status IN ('running', 'pending')"
        )
        conn.execute(
            "UPDATE run SET created = created - ?, started = started - ?, "
            "updated = updated - ?, finished = finished - ?",
            (SHIFT,) * 4,
        )
        conn.execute("UPDATE metric SET updated = updated - ?", (SHIFT,))
    return dest


def count(
    argv: list[str], ready: str | int, size: tuple[int, int], home: Path, seconds: float
) -> tuple[int, bytes]:
    """Bytes the program writes over `seconds` once its first screen is out (`ready`: a run
    number drawn uncut, or a text) and SETTLE seconds passed; and those bytes."""
    term: Term = spawn(argv, *size, home)
    try:
        term.wait_for(uncut(ready) if isinstance(ready, int) else re.compile(ready))
        term.settle(SETTLE, SETTLE)
        start = len(term.out)
        total = term.count(seconds)
        window = bytes(term.out[start:])
        term.quit()
    finally:
        term.close()
    return total, window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sizes", default="120x36,80x24")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runs-tui-bench-table"
    )
    parser.add_argument("--keep", type=Path, help="write each counted window's bytes here")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    args.data.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="runs-tui-bench-bytes-"))
    print(f"machine: {machine()}", flush=True)
    print(f"load average at the start: {_load()}", flush=True)
    built = ensure_db(args.data, RUNS, False)
    live = home / "live.db"
    shutil.copy(built, live)
    still = still_copy(built, home / "still.db")
    programs: list[tuple[str, list[str], str | int, float | None, bool]] = [
        ("runs-tui, Running runs on screen", runs_tui_argv(live), RUNS, LIMIT_RUNNING, True),
        ("runs-tui, nothing changing", runs_tui_argv(still), RUNS, 0.0, False),
        (f"bare Textual app, {RUNS:,}-row DataTable", bare_argv(RUNS), RUNS, None, False),
        ("top -d 2", ["/usr/bin/top", "-d", "2"], "PID", None, False),
    ]
    results: list[tuple[str, str, int, float | None]] = []
    for cols, rows in sizes:
        for name, argv, ready, limit, writing in programs:
            with agents(live) if writing else contextlib.nullcontext():
                total, window = count(argv, ready, (cols, rows), home, args.seconds)
            results.append((name, f"{cols}x{rows}", total, limit))
            print(f"  {cols}x{rows} {name}: {total:,} B", flush=True)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                slug = name.split(",")[0].replace(" ", "-") + ("-live" if writing else "")
                (args.keep / f"{slug}-{cols}x{rows}.bin").write_bytes(window)
    per = args.seconds
    print(f"\nbytes per {per:g} s (pipeline {PIPELINE}, {RUNS:,} runs):")
    print(f"{'program':42} {'size':>7} {'bytes':>8} {'B/s':>7}  target")
    for name, size, total, limit in results:
        rate = total / per
        target = (
            "" if limit is None else f"<= {limit:g} B/s " + ("ok" if rate <= limit else "MISSED")
        )
        print(f"{name:42} {size:>7} {total:>8,} {rate:>7.0f}  {target}")
    print(f"\nload average at the end: {_load()} (other processes share the CPUs)")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
