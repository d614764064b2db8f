"""`RunSource`: everything the table, the CLI and export ask of a place runs live in.

The SQL store is one source (`runs_tui.sources.sql`); others (an MLflow server) are
found by URL scheme through the `runs_tui.sources` entry points. Every method may block
(the UI calls them in workers) and raises `SourceError` when the source cannot answer,
or `ValueError` for bad input (an unknown pipeline, a parameter of the wrong type), both
with a message for the user. A source declares what it can do in `capabilities`, and
callers ask before offering an action, a filter or a sort.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from runs_tui.core.columns import Column, Kind
from runs_tui.core.records import (
    BulkResult,
    ColumnChoices,
    LogInfo,
    MarkState,
    MetricHistory,
    NewRun,
    NewRunForm,
    PipelineId,
    PipelineSummary,
    RunDetails,
    RunId,
    RunQuery,
    RunRow,
    StateCounts,
    ValueCount,
)
from runs_tui.core.status import Action


class SourceError(Exception):
    """The source cannot answer now (a database gone or locked, a server down); the
    message says so in the user's words, without SQL or a stack."""


ALL_KINDS = frozenset(Kind)
ALL_SORTS = frozenset({"builtin", "metric", "param"})


@dataclass(frozen=True)
class Capabilities:
    """What a source can do: `actions` it carries out (any other is refused with the
    reason in `unavailable`), the filter kinds and the column sources (builtin, metric,
    param) it can sort by, whether it searches, whether it registers pipelines, and
    whether it knows the steps where series reached their extremes (`min@step` columns).
    `metric_aggs`: the metric fields it sorts and filters by (an MLflow server: only the
    last value); `labels`: its own words for an action (what it does there differs)."""

    actions: frozenset[Action] = frozenset(Action)
    unavailable: Mapping[Action, str] = field(default_factory=dict)
    filters: frozenset[Kind] = ALL_KINDS
    sorts: frozenset[str] = ALL_SORTS
    search: bool = True
    register: bool = True
    steps: bool = True
    metric_aggs: frozenset[str] | None = None  # None: every one
    labels: Mapping[Action, str] = field(default_factory=dict)

    def can(self, action: Action) -> bool:
        return action in self.actions

    def why_not(self, action: Action) -> str:
        """Why `action` is unavailable here, in words for a menu or an error line."""
        return self.unavailable.get(action, "not supported by this source")

    def can_sort(self, column: Column) -> bool:
        return (
            column.source in self.sorts and (self.steps or not column.is_step) and self._agg(column)
        )

    def can_filter(self, kind: Kind, column: Column | None = None) -> bool:
        return kind in self.filters and (column is None or self._agg(column))

    def _agg(self, column: Column) -> bool:
        return not column.is_metric or self.metric_aggs is None or column.agg in self.metric_aggs

    def label(self, action: Action, default: str) -> str:
        """The action's name here: the source's own words, else `default` (the table's)."""
        return self.labels.get(action, default)


class RunSource(Protocol):
    """A place runs live in. Queries are answered over the whole pipeline; the caller
    holds only a window of rows."""

    @property
    def name(self) -> str:
        """Where the runs come from, safe to show (no password)."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def close(self) -> None: ...

    def interrupt(self, thread: int) -> None:
        """Stop, where the source can, what it is doing for that thread (a query the
        caller no longer wants); the stopped call raises SourceError there. Called from
        another thread."""
        ...

    def query_note(self, q: RunQuery) -> str:
        """What the user should know of how `q` is answered, "" for nothing (e.g. filters a
        server cannot apply, evaluated here over a bounded scan). No I/O: the UI thread
        asks it for the status line."""
        ...

    # --- pipelines -------------------------------------------------------------------

    def pipelines(self, counted: bool = True) -> list[PipelineSummary]:
        """Every pipeline, with its active runs counted by status. `counted=False`: the
        names at once, the counts left out (`counted` False) by a source that counts by
        reading every run; the picker lists them meanwhile."""
        ...

    def find_pipeline(self, name: str | None) -> tuple[PipelineSummary | None, bool]:
        """The pipeline called `name`, else the first by name and False (not found);
        without counts, so that the first frame does not wait for a scan."""
        ...

    def pipeline(self, name: str) -> PipelineSummary:
        """The pipeline called `name` (no counts); ValueError naming the known ones."""
        ...

    def register_pipeline(self, path: str) -> PipelineSummary:
        """Register (or update) a pipeline from its file; only where `capabilities.register`."""
        ...

    # --- runs --------------------------------------------------------------------------

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        """One page of the sorted result, with tags, metrics and parameters."""
        ...

    def window_after(self, q: RunQuery, run_id: RunId, limit: int = 200) -> list[RunRow] | None:
        """The `limit` runs after `run_id` in the query's order, read from its place in
        the sort rather than counted past (no OFFSET): a page far down the table costs
        what the first one does. None when the query leaves that run out."""
        ...

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        """How many runs the query matches. With `limit`, it may stop once it has found
        that many (and answer at least `limit`): an exact count reads every match, and a
        needle a million runs hold takes a second to count, where a bound takes
        milliseconds."""
        ...

    def runs(self, ids: Sequence[RunId]) -> list[RunRow]:
        """These runs as rows, in that order; ids that no longer exist are left out."""
        ...

    def changed_since(
        self, pipeline_id: PipelineId | None, since: float | None
    ) -> list[tuple[RunId, float]] | None:
        """(run, when) for the pipeline's runs (every pipeline's: `pipeline_id` None)
        changed at or after `since`, by the clocks of whoever changed them; `since` None:
        only the latest change, to watch from. None when the source cannot tell: the
        caller then reloads all it shows each time (and notifications are off)."""
        ...

    def rows(
        self, q: RunQuery, page: int = 1000, columns: Sequence[Column] | None = None
    ) -> Iterator[RunRow]:
        """Every matching run in the query's order, fetched `page` at a time, each exactly
        once even while runs are added and changed (one snapshot, or keyset pages). With
        `columns`, a row need carry only what they show: the source may leave out the
        tags, metrics and parameters that no column names (an export reads no more)."""
        ...

    def records(
        self, q: RunQuery, columns: Sequence[Column], page: int = 1000
    ) -> Iterator[list[list[Any]]]:
        """What an export writes of every matching run, in the query's order and as
        `rows` reads them, a list of `page` at a time: each run's pipeline name, id, then
        one value per column as `fmt.record_value` makes it from the run's row (numbers,
        ISO times, state labels, tags as a tuple, a parameter's text). A source with no
        faster way returns `export.records_of(self.rows(q, page, columns), ...)`."""
        ...

    def csv_records(
        self, q: RunQuery, columns: Sequence[Column], page: int = 1000, *, with_pipeline: bool
    ) -> Iterator[Sequence[Sequence[Any]]]:
        """`records` as CSV writes them: the pipeline's name only `with_pipeline` (a CSV
        without its column reads no name), tags as one text (sorted, joined by "; "), no
        value as '' (None is written alike, but a page without one is written faster), a
        number either itself or the text csv.writer writes for it (`str`), a record any
        sequence (a database's row as it comes). A source with no faster way returns
        `export.csv_records_of(self.records(q, columns, page), columns, ...)`."""
        ...

    def ids(self, q: RunQuery) -> list[RunId]:
        """Every matching run's id, for bulk selections."""
        ...

    def resolve_refs(self, refs: Sequence[str]) -> list[RunId]:
        """Run ids for what a user typed (an id, `PIPELINE#N`); ValueError names the first
        that matches nothing."""
        ...

    def details(self, run_id: RunId, after_log: int = 0) -> RunDetails | None:
        """The run's details; only log lines after `after_log` (for following)."""
        ...

    def logs(
        self,
        run_id: RunId,
        *,
        after: int = 0,
        limit: int = 1000,
        step: str | None = None,
        last: bool = False,
    ) -> list[LogInfo]:
        """The run's console lines with an id above `after` (only `step`'s, when given),
        oldest first: the first `limit` of them, or the last `limit` with `last`; none
        for a run that does not exist. A whole log is read a page at a time by passing
        the last id read as `after` (`runs-tui logs`, `--follow`)."""
        ...

    def metric_history(
        self, run_id: RunId, title: str, series: str, *, after: int = 0
    ) -> MetricHistory:
        """Every point of the run's metric series, in the order reported (a chart thins
        them, never the source); with `after` (a previous answer's `until`), only those
        reported since. Empty for a run or a series that does not exist."""
        ...

    # --- choices for filters, columns and forms ---------------------------------------

    def distinct_values(self, q: RunQuery, spec: str) -> list[ValueCount]:
        """A value-set column's values among the runs the other filters leave, most
        frequent first."""
        ...

    def column_choices(self, pipeline_id: PipelineId | None) -> ColumnChoices:
        """The metrics and parameters the pipeline's runs have (None: every pipeline's)."""
        ...

    def is_numeric_param(self, pipeline_id: PipelineId | None, spec: str) -> bool: ...

    def pipeline_tags(self, pipeline_id: PipelineId | None) -> list[str]:
        """Every tag used in the pipeline (None: in any), most used first."""
        ...

    def new_run_form(self, pipeline: str) -> NewRunForm: ...

    # --- selections ---------------------------------------------------------------------

    def state_counts(self, ids: Sequence[RunId]) -> StateCounts: ...

    def hidden(self, q: RunQuery, ids: Sequence[RunId]) -> int:
        """How many of `ids` the query's filters (or the archive switch) leave out."""
        ...

    def mark_states(self, q: RunQuery, ids: Collection[RunId]) -> dict[RunId, MarkState]:
        """The state of each of `ids` still in the store (status, archived, shown by
        `q`): what marks are counted from, read again only for the runs that change."""
        ...

    def tags_of(self, ids: Sequence[RunId]) -> Counter[str]:
        """The tags the runs carry, with how many of them carry each."""
        ...

    # --- actions -----------------------------------------------------------------------

    def transition(self, action: Action, ids: Sequence[RunId], *, message: str = "") -> BulkResult:
        """Abort, continue, retry, archive or restore each run that allows it."""
        ...

    def resume(self, ids: Sequence[RunId]) -> BulkResult:
        """Continue the Aborted and retry the Failed, in one result."""
        ...

    def tag(
        self, ids: Sequence[RunId], add: Sequence[str], remove: Sequence[str]
    ) -> BulkResult: ...

    def new_run(
        self,
        pipeline: str,
        params: dict[str, str],
        *,
        queue: str | None = None,
        tags: Sequence[str] = (),
    ) -> NewRun: ...


@runtime_checkable
class LazyRanges(Protocol):
    """A source whose rows carry metrics' last values only (their min, max and steps
    None until asked: an MLflow server reads them from each series' history). The
    table asks for what it shows; exports get them from `rows(q, page, columns)`."""

    def fill_ranges(
        self, rows: Sequence[RunRow], series: Collection[tuple[str, str]] | None
    ) -> None:
        """Give `rows` the min and max of `series` (None: every series), in place."""
        ...
