"""What every source of runs answers with, free of any backend: the query the table
asks, runs as rows and details, pipelines, counts and the results of actions.

A run id is whatever the source uses (an integer in the SQL store, a 32-hex string on
an MLflow server); `#N` run numbers are a display field a source may not have.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from runs_tui.core.actions import ACTIONS, aborts_first
from runs_tui.core.columns import Column
from runs_tui.core.status import Action, Status

RunId = int | str
PipelineId = int | str
ParamValue = bool | int | float | str


def id_order(run_id: RunId) -> tuple[int, str]:
    """A sort key for run ids: numbers in numeric order (a source has one kind of id)."""
    return (run_id, "") if isinstance(run_id, int) else (0, run_id)


@dataclass(frozen=True)
class ValueFilter:
    """Runs whose `column` is one of `values` (text as shown; statuses as stored)."""

    column: str
    values: frozenset[str]


@dataclass(frozen=True)
class RangeFilter:
    """Runs whose `column` lies in [lo, hi]; either bound may be open. Dates are epoch seconds."""

    column: str
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class TagFilter:
    """ANY or ALL of `include`, and NOT any of `exclude`."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    mode: str = "any"


Filter = ValueFilter | RangeFilter


@dataclass(frozen=True)
class SortKey:
    column: str
    desc: bool = False


@dataclass(frozen=True)
class RunQuery:
    """What the table shows; `pipeline_id` None means every pipeline."""

    pipeline_id: PipelineId | None
    filters: tuple[Filter, ...] = ()
    tags: TagFilter | None = None
    search: str = ""
    sort: tuple[SortKey, ...] = ()
    archived: bool = False
    at: float | None = None

    def with_(self, **changes: Any) -> RunQuery:
        return replace(self, **changes)

    @property
    def narrowed(self) -> bool:
        """Whether filters, tags or a search leave out some of the runs."""
        return bool(self.filters or self.tags or self.search.strip())

    def everything(self) -> RunQuery:
        """The same pipeline and archive switch, without filters, search or sort."""
        return RunQuery(self.pipeline_id, archived=self.archived, at=self.at)


@dataclass
class MetricValue:
    """A series' summary; `min_step` and `max_step`: where it first reached its minimum
    and maximum (None when that point had no step, or the source does not know)."""

    last: float
    min: float
    max: float
    last_step: int | None = None
    min_step: int | None = None
    max_step: int | None = None

    def get(self, field: str) -> float | int | None:
        """A field by name (`Column.metric_field`): a value, or a step."""
        value: float | int | None = getattr(self, field)
        return value


@dataclass
class RunRow:
    """One run as the table, the CLI and exports show it."""

    id: RunId
    pipeline: str
    number: int | None
    name: str
    version: str
    status: str
    user: str
    queue: str
    created: float
    started: float | None
    updated: float
    finished: float | None
    archived: bool
    attempt: int
    agent: str | None
    progress: float | None
    status_message: str
    exit_code: int | None
    ran: float = 0.0  # seconds run in earlier attempts (`started`: this attempt's start)
    tags: tuple[str, ...] = ()
    metrics: dict[tuple[str, str], MetricValue] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """How messages name the run: `PIPELINE#N`, else its name or id."""
        if self.number is not None:
            return f"{self.pipeline}#{self.number}"
        return self.name or str(self.id)

    @property
    def reason(self) -> str | None:
        """Why a Failed or Aborted run ended (its status message); None for other runs."""
        if self.status in (Status.FAILED, Status.ABORTED) and self.status_message:
            return self.status_message
        return None

    def run_time(self, at: float) -> float | None:
        """The time its attempts ran (this one up to `at` while it runs): never the time
        it waited Pending or Aborted in between. None for a run that never started."""
        if self.started is None:
            return self.ran or None
        return self.ran + (self.finished if self.finished is not None else at) - self.started

    def value(self, column: Column, at: float) -> Any:
        """The raw value of a column for this run (None when it has none)."""
        if column.is_metric:
            metric = self.metrics.get((column.title, column.series))
            return metric.get(column.metric_field) if metric else None
        if column.is_param:
            return self.params.get(column.name)
        if column.name == "run":
            return self.number
        if column.name == "tags":
            return self.tags
        if column.name == "run_time":
            return self.run_time(at)
        return getattr(self, column.name)


@dataclass(frozen=True)
class EventInfo:
    time: float
    user: str
    action: str
    from_status: str | None
    to_status: str | None
    message: str


@dataclass(frozen=True)
class StepInfo:
    """A step of the pipeline and what its latest attempt did (None: not run yet);
    `executor` and `external_id` say where it ran (e.g. "local", a pid; "slurm", a job
    id), `message` where it stands there or why it ended."""

    name: str
    parents: tuple[str, ...]
    status: str | None = None
    attempt: int | None = None
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    executor: str = ""
    external_id: str = ""
    message: str = ""


@dataclass(frozen=True)
class LogInfo:
    id: int
    attempt: int
    step: str
    stream: str
    time: float
    line: str


@dataclass(frozen=True)
class MetricHistory:
    """A metric series' points in the order they were reported: `steps[i]` (None where
    a point came without one) and `values[i]`. `until` is passed back as `after` to read
    only the points reported since."""

    steps: list[int | None]
    values: list[float]
    until: int = 0


@dataclass
class RunDetails:
    """`points`: each series' history, thinned for a chart (`details.CHART_BUCKETS`)."""

    row: RunRow
    events: list[EventInfo] = field(default_factory=list)
    steps: list[StepInfo] = field(default_factory=list)
    points: dict[tuple[str, str], MetricHistory] = field(default_factory=dict)
    logs: list[LogInfo] = field(default_factory=list)


@dataclass
class PipelineSummary:
    id: PipelineId
    name: str
    version: str
    queue: str
    counts: dict[str, int] = field(default_factory=dict)
    counted: bool = True  # False: `counts` not read yet (`RunSource.pipelines(counted=False)`)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int


@dataclass(frozen=True)
class ColumnChoices:
    """What a pipeline's runs have to show as columns: metric series, and hyperparameter
    keys with whether all their values are numbers (then they filter by range)."""

    series: list[tuple[str, str]]
    params: dict[str, bool]


StateCounts = Counter[tuple[str, bool]]
"""How many runs are in each (status, archived)."""

MarkState = tuple[str, bool, bool]
"""A marked run's status, whether it is archived, and whether the query shows it."""


@dataclass(frozen=True)
class NewRunForm:
    """What the new-run form starts from: the pipeline's parameters with defaults, the
    newest run's values, the default queue, known queues and tags."""

    pipeline: str
    defaults: dict[str, ParamValue]
    prefill: dict[str, str]
    queue: str
    queues: list[str]
    tags: list[str]


@dataclass(frozen=True)
class NewRun:
    id: RunId
    pipeline: str
    number: int | None
    queue: str
    params: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.pipeline}#{self.number}" if self.number is not None else str(self.id)


@dataclass(frozen=True)
class Outcome:
    """What one bulk action did to one run; `reason` says why it was not affected."""

    run_id: RunId
    ref: str
    affected: bool
    reason: str = ""
    from_status: str | None = None


@dataclass
class BulkResult:
    """Per run, affected or not and why; `verb` overrides the action's past tense."""

    action: Action
    outcomes: list[Outcome] = field(default_factory=list)
    verb: str = ""

    @property
    def affected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.affected]

    @property
    def not_affected(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.affected]

    @property
    def ok(self) -> bool:
        return not self.not_affected

    def summary(self) -> str:
        """E.g. "Aborted 5 of 12; 7 not eligible (3 Completed, 4 Failed)"; "Archived 3 of 3
        (2 aborted first)" when archiving aborted Pending or Running runs."""
        verb = self.verb or ACTIONS[self.action].past
        text = f"{verb} {len(self.affected)} of {len(self.outcomes)}"
        aborted = sum(aborts_first(self.action, o.from_status) for o in self.affected)
        if aborted:
            text += f" ({aborted} aborted first)"
        missed = self.not_affected
        if missed:
            reasons = Counter(o.reason for o in missed)
            detail = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
            text += f"; {len(missed)} not eligible ({detail})"
        return text
