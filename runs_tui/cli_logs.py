"""`runs-tui logs RUN`: a run's console from the shell: all of it, its last lines, or
followed until the run ends (`--follow`, as `tail -f` and `kubectl logs -f` do).

Lines come from `RunSource.logs` a page at a time, each page after the last id read,
so a long log is never held whole and a followed one neither repeats nor skips a line.
In text a line is made safe by `core.text.log_line` (no control character reaches the
terminal); `--format json` writes one JSON object a line (JSON Lines), escaped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from runs_tui.core.fmt import iso
from runs_tui.core.records import LogInfo, RunId
from runs_tui.core.source import RunSource
from runs_tui.core.status import FINISHED
from runs_tui.core.text import log_line, one_line

PAGE = 1000
POLL = 1.0  # seconds between looks for new lines while following


def add_logs_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`sub` is the subparsers action of the `runs-tui` parser."""
    logs = sub.add_parser(
        "logs", parents=[common], help="print a run's console output (id or PIPELINE#N)"
    )
    logs.add_argument("run", metavar="RUN")
    logs.add_argument("--step", metavar="S", help="only this step's lines")
    logs.add_argument(
        "--tail", type=int, metavar="N", help="only the last N lines (with --follow: then new ones)"
    )
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new lines until the run ends"
    )
    logs.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: one object a line (id, attempt, step, stream, time, line)",
    )


def cmd_logs(source: RunSource, args: argparse.Namespace) -> int:
    if args.tail is not None and args.tail < 0:
        raise ValueError(f"invalid --tail {args.tail}: must be 0 or more")
    (run_id,) = source.resolve_refs([args.run])
    if args.step is not None:
        _check_step(source, run_id, args.run, args.step)
    emit = Printer(json_lines=args.format == "json", steps=args.step is None)
    after = 0
    if args.tail is not None:
        # The newest line is read even for --tail 0: following starts after it.
        lines = source.logs(run_id, limit=max(args.tail, 1), step=args.step, last=True)
        emit(lines[-args.tail :] if args.tail else [])
        after = lines[-1].id if lines else 0
    if args.follow:
        follow(source, run_id, after, args.step, emit)
    elif args.tail is None:
        drain(source, run_id, after, args.step, emit)
    return 0


def _check_step(source: RunSource, run_id: RunId, ref: str, step: str) -> None:
    """A step the run's pipeline does not have would print nothing (and follow forever)."""
    details = source.details(run_id)
    names = [s.name for s in details.steps] if details else []
    if step not in names:
        raise ValueError(f"unknown step {step!r} in run {ref!r} (steps: {', '.join(names)})")


Emit = Callable[[list[LogInfo]], None]


def drain(source: RunSource, run_id: RunId, after: int, step: str | None, emit: Emit) -> int:
    """Print every line after `after`, a page at a time; the id of the last one printed."""
    while True:
        lines = source.logs(run_id, after=after, limit=PAGE, step=step)
        emit(lines)
        if lines:
            after = lines[-1].id
        if len(lines) < PAGE:
            return after


def follow(source: RunSource, run_id: RunId, after: int, step: str | None, emit: Emit) -> None:
    """Print new lines until the run has ended (or is gone). The run's state is read
    before the lines: an agent writes a run's lines before it ends the run, so once the
    run has ended, the lines read next are all it wrote (but for the notes an agent adds
    while stopping the step of a run someone aborted, which may come later)."""
    while True:
        rows = source.runs([run_id])
        ended = not rows or rows[0].status in FINISHED
        after = drain(source, run_id, after, step, emit)
        if ended:
            return
        time.sleep(POLL)


class Printer:
    """Writes lines to stdout and flushes, so that a reader at the other end of a pipe
    sees each page as it comes. In text, a line shows its step (`[step]`, `[step!]` for
    stderr, as the app's console does) unless one step was asked for, and a line of
    another attempt than the line before it is preceded by `--- attempt N ---`."""

    def __init__(self, *, json_lines: bool, steps: bool) -> None:
        self.json_lines, self.steps = json_lines, steps
        self.attempt: int | None = None

    def __call__(self, lines: list[LogInfo]) -> None:
        if not lines:
            return
        out = [self._json(e) for e in lines] if self.json_lines else self._text(lines)
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()

    def _text(self, lines: list[LogInfo]) -> list[str]:
        out = []
        for e in lines:
            if self.attempt is not None and e.attempt != self.attempt:
                out.append(f"--- attempt {e.attempt} ---")
            self.attempt = e.attempt
            mark = "!" if e.stream == "stderr" else ""
            head = f"[{one_line(e.step, limit=40)}{mark}] " if self.steps else ""
            out.append(head + log_line(e.line))
        return out

    @staticmethod
    def _json(e: LogInfo) -> str:
        return json.dumps(
            {
                "id": e.id,
                "attempt": e.attempt,
                "step": e.step,
                "stream": e.stream,
                "time": iso(e.time),
                "line": e.line,
            }
        )
