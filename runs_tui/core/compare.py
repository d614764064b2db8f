"""Comparing 2 to 8 runs side by side: their info, the parameters that differ, each
metric's last / min / max with the lowest and highest of a row, and their steps with
exit codes. Pure data made from `RunSource.details`, shared by the compare screen and
`runs-tui compare`.

No metric in the store says which way is better, so a metric row marks both ends: the
lowest and the highest value (neither where the values are all equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from runs_tui.core.fmt import LABELS, duration
from runs_tui.core.records import RunDetails, RunId, RunRow, StepInfo
from runs_tui.core.source import RunSource

MIN_RUNS, MAX_RUNS = 2, 8
AGGS = ("last", "min", "max")
ABSENT = "—"  # a step the run's pipeline definition does not have


def count_error(n: int) -> str:
    """Why `n` runs cannot be compared; "" when they can."""
    if n < MIN_RUNS:
        return f"compare takes {MIN_RUNS} to {MAX_RUNS} runs; got {n}"
    if n > MAX_RUNS:
        return f"compare takes {MIN_RUNS} to {MAX_RUNS} runs; got {n}"
    return ""


@dataclass(frozen=True)
class Line:
    """One row: a label and one value per run (None: the run has none); `always` rows
    are shown even where every run has the same value."""

    key: str
    label: str
    values: tuple[str | None, ...]
    always: bool = False

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


@dataclass(frozen=True)
class MetricLine:
    """One aggregate of one metric across the runs: `low` and `high` are the positions
    of the lowest and highest values (empty where fewer than two values differ)."""

    title: str
    series: str
    agg: str
    values: tuple[float | None, ...]
    low: frozenset[int]
    high: frozenset[int]

    @property
    def name(self) -> str:
        """`loss/val`; a metric whose series is its title is named by its title alone."""
        return self.title if self.title == self.series else f"{self.title}/{self.series}"

    @property
    def key(self) -> str:
        return f"m:{self.title}/{self.series}:{self.agg}"

    @property
    def differs(self) -> bool:
        return bool(self.low)


@dataclass(frozen=True)
class StepLine:
    """One step across the runs: its state and exit code in each (None: the run's
    definition has no such step)."""

    name: str
    steps: tuple[StepInfo | None, ...]

    @property
    def key(self) -> str:
        return f"s:{self.name}"

    @property
    def values(self) -> tuple[str | None, ...]:
        return tuple(None if s is None else step_text(s) for s in self.steps)

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


@dataclass(frozen=True, eq=False)
class Comparison:
    """The runs in the order asked, and their rows by section (equal only to itself: a
    screen tells a new comparison from the one it shows at once)."""

    runs: tuple[RunRow, ...]
    info: tuple[Line, ...]
    params: tuple[Line, ...]
    metrics: tuple[MetricLine, ...]
    steps: tuple[StepLine, ...]
    at: float  # the time run times are counted to

    def shown_info(self, every: bool) -> list[Line]:
        return [line for line in self.info if every or line.always or line.differs]

    def shown_params(self, every: bool) -> list[Line]:
        return [line for line in self.params if every or line.differs]

    def shown_steps(self, every: bool) -> list[StepLine]:
        return [line for line in self.steps if every or line.differs]

    @property
    def params_differing(self) -> int:
        return sum(line.differs for line in self.params)

    @property
    def steps_differing(self) -> int:
        return sum(line.differs for line in self.steps)


def load(source: RunSource, ids: Sequence[RunId]) -> list[RunDetails]:
    """The details of each run still in the source, in the order of `ids` (blocking: call
    it off the UI thread)."""
    found = (source.details(run_id) for run_id in dict.fromkeys(ids))
    return [d for d in found if d is not None]


def build(details: Sequence[RunDetails], at: float) -> Comparison:
    """The comparison of these runs at time `at` (for the run time of running ones)."""
    rows = tuple(d.row for d in details)
    return Comparison(
        rows, _info(rows, at), _params(rows), tuple(_metrics(rows)), _steps(details), at
    )


def _info(rows: Sequence[RunRow], at: float) -> tuple[Line, ...]:
    def line(key: str, label: str, values: list[str | None], always: bool = False) -> Line:
        return Line(key, label, tuple(values), always)

    return (
        line("name", "Name", [r.name for r in rows], True),
        line("pipeline", "Pipeline", [r.pipeline for r in rows]),
        line("version", "Version", [r.version for r in rows]),
        line("status", "Status", [LABELS.get(r.status, r.status) for r in rows], True),
        line("reason", "Reason", [r.reason for r in rows]),
        line("exit_code", "Exit code", [_text(r.exit_code) for r in rows], True),
        line("run_time", "Run time", [duration(r.run_time(at)) or None for r in rows], True),
        line("tags", "Tags", [", ".join(sorted(r.tags)) or None for r in rows], True),
        line("user", "User", [r.user for r in rows]),
        line("queue", "Queue", [r.queue for r in rows]),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _params(rows: Sequence[RunRow]) -> tuple[Line, ...]:
    keys = sorted({k for r in rows for k in r.params})
    return tuple(Line(f"p:{k}", k, tuple(r.params.get(k) for r in rows)) for k in keys)


def _metrics(rows: Sequence[RunRow]) -> list[MetricLine]:
    out = []
    for title, series in sorted({key for r in rows for key in r.metrics}):
        found = [r.metrics.get((title, series)) for r in rows]
        for agg in AGGS:
            values = tuple(None if m is None else m.get(agg) for m in found)
            low, high = ends(values)
            out.append(MetricLine(title, series, agg, values, low, high))
    return out


def ends(values: Sequence[float | None]) -> tuple[frozenset[int], frozenset[int]]:
    """The positions of the lowest and of the highest finite values; both empty when
    fewer than two such values differ (nothing stands out)."""
    finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not finite:
        return frozenset(), frozenset()
    lo = min(v for v, _ in finite)
    hi = max(v for v, _ in finite)
    if lo == hi:
        return frozenset(), frozenset()
    return (
        frozenset(i for v, i in finite if v == lo),
        frozenset(i for v, i in finite if v == hi),
    )


def _steps(details: Sequence[RunDetails]) -> tuple[StepLine, ...]:
    """Every step of any run, in the first run's order with the others' new ones after."""
    names = list(dict.fromkeys(s.name for d in details for s in d.steps))
    by_run = [{s.name: s for s in d.steps} for d in details]
    return tuple(StepLine(name, tuple(steps.get(name) for steps in by_run)) for name in names)


def step_text(step: StepInfo) -> str:
    """ "Completed 0", "Failed 3", "Running", "not run"."""
    if step.status is None:
        return "not run"
    label = LABELS.get(step.status, step.status)
    return label if step.exit_code is None else f"{label} {step.exit_code}"


def run_label(row: RunRow, pipelines: int) -> str:
    """A run's column head: `#N` (`PIPELINE#N` when the runs come from several
    pipelines), else its name or id."""
    if row.number is None:
        return row.name or str(row.id)
    return f"{row.pipeline}#{row.number}" if pipelines > 1 else f"#{row.number}"


def labels(c: Comparison) -> list[str]:
    pipelines = len({r.pipeline for r in c.runs})
    return [run_label(r, pipelines) for r in c.runs]
