"""`runs-tui show RUN`: what the details pane shows of a run (info, why it failed,
parameters, metrics, steps with their exit codes, history), as text or JSON.

Everything comes from `RunSource.details`. In text every untrusted string goes
through `core.text` (no control character reaches the terminal); JSON escapes them.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from runs_tui.core.fmt import (
    LABELS,
    ago,
    at_step,
    duration,
    iso,
    number,
    param_number,
    param_text,
    timestamp,
)
from runs_tui.core.records import RunDetails, RunRow, StepInfo
from runs_tui.core.source import RunSource
from runs_tui.core.text import one_line
from runs_tui.listing import print_columns

INDENT = "  "


def add_show_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`sub` is the subparsers action of the `runs-tui` parser."""
    show = sub.add_parser(
        "show",
        parents=[common],
        help="a run's details: info, why it failed, parameters, metrics, steps",
    )
    show.add_argument("run", metavar="RUN")
    show.add_argument("--format", choices=("text", "json"), default="text")


def cmd_show(source: RunSource, args: argparse.Namespace) -> int:
    (run_id,) = source.resolve_refs([args.run])
    details = source.details(run_id)
    if details is None:  # deleted since its ref was resolved
        raise ValueError(f"unknown run {args.run!r}")
    at = time.time()
    if args.format == "json":
        print(json.dumps(show_record(details, at), indent=2))
    else:
        print_show(details, at)
    return 0


def metric_name(title: str, series: str) -> str:
    """`loss/val`; a metric whose series is its title is named by its title alone."""
    return title if title == series else f"{title}/{series}"


def step_label(step: StepInfo) -> str:
    return LABELS.get(step.status, step.status) if step.status else "not run"


def run_head(r: RunRow) -> dict[str, Any]:
    """What names a run and says how it stands, first in every JSON record of a run
    (`show`, `compare`)."""
    return {
        "id": r.id,
        "pipeline": r.pipeline,
        "run": r.number,
        "name": r.name,
        "version": r.version,
        "status": LABELS.get(r.status, r.status),
        "reason": r.reason,
    }


def show_record(d: RunDetails, at: float) -> dict[str, Any]:
    """The run as one JSON object: times in ISO 8601 (UTC), run time in seconds,
    parameters as numbers where they are written as plain numbers (as `ls` exports them)."""
    r = d.row
    return {
        **run_head(r),
        "message": r.status_message,
        "progress": r.progress,
        "exit_code": r.exit_code,
        "tags": sorted(r.tags),
        "user": r.user,
        "queue": r.queue,
        "agent": r.agent,
        "attempt": r.attempt,
        "archived": r.archived,
        "created": iso(r.created),
        "started": iso(r.started) or None,
        "finished": iso(r.finished) or None,
        "updated": iso(r.updated),
        "run_time": r.run_time(at),
        "params": {key: param_number(value) for key, value in sorted(r.params.items())},
        "metrics": {
            metric_name(title, series): {
                "title": title,
                "series": series,
                "last": m.last,
                "min": m.min,
                "max": m.max,
                "step": m.last_step,
                "min_step": m.min_step,
                "max_step": m.max_step,
            }
            for (title, series), m in sorted(r.metrics.items())
        },
        "steps": [
            {
                "name": s.name,
                "parents": list(s.parents),
                "status": step_label(s) if s.status else None,
                "attempt": s.attempt,
                "started": iso(s.started) or None,
                "finished": iso(s.finished) or None,
                "exit_code": s.exit_code,
                "executor": s.executor or None,
                "external_id": s.external_id or None,
                "message": s.message,
            }
            for s in d.steps
        ],
        "events": [
            {
                "time": iso(e.time),
                "user": e.user,
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "message": e.message,
            }
            for e in d.events
        ],
    }


def print_show(d: RunDetails, at: float) -> None:
    """The run as sections of aligned columns, every cell on one safe line."""
    print_columns(info_rows(d.row, at))
    r = d.row
    print("\nParameters")
    params = [[one_line(k), one_line(param_text(v, True))] for k, v in sorted(r.params.items())]
    _print_table(params, "no parameters")
    print("\nMetrics")
    metrics = [
        [
            one_line(metric_name(title, series)),
            number(m.last),
            at_step(m.min, m.min_step),
            at_step(m.max, m.max_step),
            "" if m.last_step is None else str(m.last_step),
        ]
        for (title, series), m in sorted(r.metrics.items())
    ]
    _print_table(metrics, "no metrics reported", ["NAME", "LAST", "MIN", "MAX", "STEP"])
    print("\nSteps")
    steps = [_step_row(s, at) for s in d.steps]
    heads = ["STEP", "STATUS", "ATTEMPT", "EXIT", "DURATION", "WHERE", "NOTE", "AFTER"]
    _print_table(steps, "no steps", heads)
    print("\nHistory")
    events = [
        [
            timestamp_ago(e.time, at),
            one_line(e.user),
            one_line(e.action),
            one_line(f"{e.from_status or ''} -> {e.to_status}" if e.to_status else ""),
            one_line(e.message),
        ]
        for e in d.events
    ]
    _print_table(events, "no events", ["WHEN", "WHO", "ACTION", "CHANGE", "MESSAGE"])


def info_rows(r: RunRow, at: float) -> list[list[str]]:
    title = f"{r.pipeline} #{r.number}" if r.number is not None else f"{r.pipeline} {r.name}"
    status = LABELS.get(r.status, r.status)
    if r.status == "running" and r.progress is not None:
        status += f" {int(r.progress * 100)}%"
    rows = [
        ["Run", f"{title} (id {r.id})"],
        ["Name", r.name],
        ["Version", r.version],
        ["Status", status + ("  (archived)" if r.archived else "")],
    ]
    if r.reason is not None:
        rows.append(["Reason", r.reason])
    elif r.status_message:
        rows.append(["Message", r.status_message])
    rows += [
        ["Exit code", "" if r.exit_code is None else str(r.exit_code)],
        ["Tags", ", ".join(sorted(r.tags))],
        ["User", r.user],
        ["Queue", r.queue],
        ["Agent", r.agent or ""],
        ["Attempt", str(r.attempt)],
        ["Created", timestamp_ago(r.created, at)],
        ["Started", timestamp_ago(r.started, at)],
        ["Finished", timestamp_ago(r.finished, at)],
        ["Updated", timestamp_ago(r.updated, at)],
        ["Run time", duration(r.run_time(at))],
    ]
    return [[name, one_line(value)] for name, value in rows]


def timestamp_ago(t: float | None, at: float) -> str:
    return f"{timestamp(t)} ({ago(t, at)})" if t is not None else ""


def _step_row(s: StepInfo, at: float) -> list[str]:
    end = s.finished if s.finished is not None else at
    return [
        one_line(s.name),
        step_label(s),
        "" if s.attempt is None else str(s.attempt),
        "" if s.exit_code is None else str(s.exit_code),
        duration(end - s.started) if s.started is not None else "",
        one_line(f"{s.executor} {s.external_id}".strip()),
        one_line(s.message),
        one_line(", ".join(s.parents)),
    ]


def _print_table(rows: list[list[str]], empty: str, heads: list[str] | None = None) -> None:
    if not rows:
        print(INDENT + empty)
        return
    print_columns([heads, *rows] if heads else rows, indent=INDENT)
