"""`runs-tui compare RUN RUN...`: what the compare screen shows of 2 to 8 runs (info,
the parameters that differ, metrics' last / min / max with the lowest and highest of a
row, steps with exit codes), as a table or JSON.

In the table every untrusted string goes through `core.text` (one safe line, cut); JSON
escapes them.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from runs_tui.cli_show import run_head
from runs_tui.core import compare
from runs_tui.core.compare import ABSENT, Comparison, MetricLine
from runs_tui.core.fmt import LABELS, number, param_number
from runs_tui.core.records import StepInfo
from runs_tui.core.source import RunSource
from runs_tui.listing import cell_text

LOW, HIGH = "▼", "▲"
INDENT = "  "
LEGEND = f"{LOW} lowest, {HIGH} highest of a row: no metric says which way is better"


def add_compare_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`sub` is the subparsers action of the `runs-tui` parser."""
    cmp = sub.add_parser(
        "compare",
        parents=[common],
        help="2 to 8 runs side by side: what differs, metrics, steps (id or PIPELINE#N)",
    )
    cmp.add_argument("runs", nargs="*", metavar="RUN")
    cmp.add_argument(
        "--all", action="store_true", help="every parameter and step, not only those that differ"
    )
    cmp.add_argument("--format", choices=("table", "json"), default="table")


def cmd_compare(source: RunSource, args: argparse.Namespace) -> int:
    """Bad refs, fewer than 2 runs or more than 8: ValueError (one line, exit 2)."""
    if len(args.runs) > compare.MAX_RUNS or not args.runs:
        raise ValueError(compare.count_error(len(args.runs)))
    ids = list(dict.fromkeys(source.resolve_refs(args.runs)))
    details = compare.load(source, ids)
    if len(ids) < len(args.runs) and len(details) < compare.MIN_RUNS:
        given = " ".join(args.runs)
        raise ValueError(f"compare takes 2 different runs or more; {given!r} name {len(ids)}")
    if error := compare.count_error(len(details)):
        raise ValueError(error)
    c = compare.build(details, time.time())
    if args.format == "json":
        print(json.dumps(compare_record(c, args.all), indent=2))
    else:
        print_compare(c, args.all)
    return 0


def compare_record(c: Comparison, every: bool) -> dict[str, Any]:
    """One JSON object: the runs, then per row one value per run in the same order;
    parameters and steps only where they differ unless `every`."""
    return {
        "runs": [
            {
                **run_head(r),
                "exit_code": r.exit_code,
                "run_time": r.run_time(c.at),
                "tags": sorted(r.tags),
                "user": r.user,
                "queue": r.queue,
            }
            for r in c.runs
        ],
        "params": [
            {
                "name": line.label,
                "values": [None if v is None else param_number(v) for v in line.values],
                "differs": line.differs,
            }
            for line in c.shown_params(every)
        ],
        "metrics": [
            {
                "name": m.name,
                "title": m.title,
                "series": m.series,
                "agg": m.agg,
                "values": list(m.values),
                "lowest": sorted(m.low),
                "highest": sorted(m.high),
            }
            for m in c.metrics
        ],
        "steps": [
            {
                "name": s.name,
                "status": [_step_status(x) for x in s.steps],
                "exit_code": [None if x is None else x.exit_code for x in s.steps],
                "in_pipeline": [x is not None for x in s.steps],
                "differs": s.differs,
            }
            for s in c.shown_steps(every)
        ],
    }


def print_compare(c: Comparison, every: bool) -> None:
    """Sections of one set of aligned columns: a label, then one column per run."""
    heads = ["", *(cell_text(label) for label in compare.labels(c))]
    sections: list[tuple[str, list[list[str]]]] = [
        ("", [[line.label, *map(_cell, line.values)] for line in c.shown_info(every)]),
    ]
    params = c.shown_params(every)
    differ = f"{c.params_differing} of {len(c.params)} differ"
    sections.append(
        (
            f"Parameters ({differ}{'' if every else '; --all shows every one'})",
            [[line.label, *map(_cell, line.values)] for line in params],
        )
    )
    metrics = f"Metrics ({len(c.metrics) // len(compare.AGGS)}; {LEGEND})"
    sections.append((metrics, [_metric_row(m) for m in c.metrics]))
    differ = f"{c.steps_differing} of {len(c.steps)} differ"
    sections.append(
        (
            f"Steps ({differ}{'' if every else '; --all shows every one'})",
            [[line.name, *map(_cell, line.values)] for line in c.shown_steps(every)],
        )
    )
    table = [heads] + [[INDENT + cell_text(r[0]), *r[1:]] for _, rows in sections for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(heads))]

    def out(row: list[str]) -> None:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())

    out(table[0])
    for title, rows in sections:
        if title:
            print(f"\n{title}")
        for row in rows:
            out([(INDENT if title else "") + cell_text(row[0]), *row[1:]])


def _step_status(step: StepInfo | None) -> str | None:
    """The step's state label; "not run" for a step of the run's pipeline not run yet."""
    if step is None:
        return None
    return LABELS.get(step.status, step.status) if step.status else "not run"


def _cell(value: str | None) -> str:
    return ABSENT if value is None else cell_text(value)


def _metric_row(m: MetricLine) -> list[str]:
    cells = []
    for i, value in enumerate(m.values):
        mark = LOW if i in m.low else HIGH if i in m.high else ""
        cells.append(ABSENT if value is None else mark + number(value))
    return [f"{m.name} {m.agg}", *cells]
