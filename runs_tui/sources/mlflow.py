"""`MlflowSource`: an MLflow tracking server's runs as a `RunSource`.

`runs-tui --db mlflow+http://HOST:PORT` (or `mlflow+https://`; `?prefix=P` shows only
the experiments whose names start with P, without it). Experiments are pipelines,
top-level runs are runs, nested runs are their steps (`mlflow_model` has the whole
map). Queries go to `runs/search` as far as its grammar reaches (`mlflow_query`); a
query that needs more is evaluated here over a bounded scan (`mlflow_search`). What it
cannot do (start, continue or retry runs; sort or filter by a metric's min or max) is
declared in `capabilities`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from runs_tui.core.columns import Column
from runs_tui.core.records import (
    BulkResult,
    ColumnChoices,
    LogInfo,
    MarkState,
    MetricHistory,
    NewRun,
    NewRunForm,
    PipelineId,
    RunDetails,
    RunId,
    RunQuery,
    RunRow,
    StateCounts,
    StepInfo,
    ValueCount,
)
from runs_tui.core.source import Capabilities, RunSource, SourceError
from runs_tui.core.status import Action
from runs_tui.sources import mlflow_actions, open_source
from runs_tui.sources.mlflow_agent import AgentLink, link_of, linked
from runs_tui.sources.mlflow_client import MlflowRefused
from runs_tui.sources.mlflow_model import PARENT, Parsed, as_float, is_number, metric_key
from runs_tui.sources.mlflow_query import Plan, keeps, plan
from runs_tui.sources.mlflow_ranges import history
from runs_tui.sources.mlflow_search import SCAN_LIMIT, MlflowReader, _hexlike

CHART_BUCKETS = 250  # a series' points kept for the details' chart (as core.details)
NOT_HERE = "MLflow runs are started by their own code, not by runs-tui"
CAPABILITIES = Capabilities(
    actions=frozenset(
        {Action.DETAILS, Action.ABORT, Action.ADD_TAG, Action.REMOVE_TAG}
        | {Action.ARCHIVE, Action.RESTORE}
    ),
    unavailable={Action.RUN: NOT_HERE, Action.CONTINUE: NOT_HERE, Action.RETRY: NOT_HERE},
    register=False,
    metric_aggs=frozenset({"last"}),
    labels={Action.ABORT: "Mark killed (does not stop the process)"},
)


class MlflowSource(MlflowReader):
    """Runs on one MLflow server (reading: `MlflowReader`); thread-safe. With `store`,
    the runs-tui store whose agent runs experiments registered there as pipelines: new
    runs, continue and retry go to it (`mlflow_agent`)."""

    def __init__(self, url: str, prefix: str = "", store: RunSource | None = None) -> None:
        super().__init__(url, prefix)
        self.link = AgentLink(store) if store is not None else None

    @property
    def name(self) -> str:
        shown = "mlflow+" + self.client.endpoint.shown
        return shown + (f"?prefix={self.prefix}" if self.prefix else "")

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES if self.link is None else linked(CAPABILITIES)

    def close(self) -> None:
        self.client.close()
        if self.link is not None:
            self.link.store.close()

    def interrupt(self, thread: int) -> None:
        self.client.interrupt(thread)

    def query_note(self, q: RunQuery) -> str:
        p = plan(q)
        what = " and ".join(
            w for w, local in (("filters", p.local_filter), ("sort", p.local_sort)) if local
        )
        return (
            f"{what} applied here (MLflow cannot), over at most {SCAN_LIMIT:,} runs" if what else ""
        )

    def changed_since(
        self, pipeline_id: PipelineId | None, since: float | None
    ) -> list[tuple[RunId, float]] | None:
        """None: MLflow keeps no time of a run's last change (a tag, a metric) to ask by."""
        return None

    def rows(
        self, q: RunQuery, page: int = 1000, columns: Sequence[Column] | None = None
    ) -> Iterator[RunRow]:
        """Pages in order; each run's min and max read for the metric columns asked (for
        every series without `columns`)."""
        series: set[tuple[str, str]] | None = None
        if columns is not None:
            series = {(c.title, c.series) for c in columns if c.is_metric and c.agg != "last"}
        p = plan(q)
        everything = self._all(q) if p.local else None
        offset = 0
        while True:
            if everything is not None:
                chunk = everything[offset : offset + page]
            else:
                chunk = self._page(q, p, offset, page)
            if series is None or series:
                self.ranges.fill(chunk, series)
            yield from chunk
            if len(chunk) < page:
                return
            offset += page

    def records(
        self, q: RunQuery, columns: Sequence[Column], page: int = 1000
    ) -> Iterator[list[list[Any]]]:
        from runs_tui.core.export import records_of

        at = q.at if q.at is not None else time.time()
        return records_of(self.rows(q, page, columns), columns, at, page)

    def csv_records(
        self, q: RunQuery, columns: Sequence[Column], page: int = 1000, *, with_pipeline: bool
    ) -> Iterator[Sequence[Sequence[Any]]]:
        from runs_tui.core.export import csv_records_of

        pages = self.records(q, columns, page)
        return csv_records_of(pages, columns, with_pipeline=with_pipeline)

    def fill_ranges(
        self, rows: Sequence[RunRow], series: Collection[tuple[str, str]] | None
    ) -> None:
        self.ranges.fill(rows, series)

    # ------------------------------------------------------------- runs by id

    def _get(self, run_id: RunId) -> Parsed | None:
        if not _hexlike(str(run_id)):
            return None
        try:
            got = self.client.get("runs/get", run_id=str(run_id))
        except MlflowRefused as exc:
            if exc.status in (400, 404):
                return None
            raise
        return self._parse(got.get("run", {}))

    def resolve_refs(self, refs: Sequence[str]) -> list[RunId]:
        out: list[RunId] = []
        for ref in refs:
            parsed = self._get(ref.strip())
            if parsed is None:
                raise ValueError(f"no run {ref!r} (an MLflow run id: 32 hex digits)")
            out.append(parsed.row.id)
        return out

    def details(self, run_id: RunId, after_log: int = 0) -> RunDetails | None:
        """The run with every series' summary and points, and its nested runs as steps."""
        parsed = self._get(run_id)
        if parsed is None:
            return None
        row = parsed.row
        self.ranges.fill([row], None)
        from runs_tui.core.metric_plot import EMPTY, extended, line

        points: dict[tuple[str, str], MetricHistory] = {}
        for title, series in row.metrics:
            whole = self.metric_history(run_id, title, series)
            thin = line("", extended(EMPTY, whole), CHART_BUCKETS)
            points[(title, series)] = MetricHistory(
                [int(x) for x in thin.x], thin.y.tolist(), whole.until
            )
        child = Plan(f"tags.`{PARENT}` = '{run_id}'", (), "ALL", False, False)
        children = self._search([parsed.experiment], child, 1000, None)[0]
        steps = [
            StepInfo(
                c.row.name,
                (),
                c.row.status,
                1,
                c.row.started,
                c.row.finished,
                executor="mlflow",
                external_id=str(c.row.id),
            )
            for c in sorted(children, key=lambda c: (c.row.started or 0.0, c.row.name))
        ]
        return RunDetails(row, steps=steps, points=points)

    def logs(
        self,
        run_id: RunId,
        *,
        after: int = 0,
        limit: int = 1000,
        step: str | None = None,
        last: bool = False,
    ) -> list[LogInfo]:
        return []  # MLflow keeps no console; artifacts are not read

    def metric_history(
        self, run_id: RunId, title: str, series: str, *, after: int = 0
    ) -> MetricHistory:
        """The series' points by time reported; `until` counts them (MLflow adds points,
        never removes them)."""
        if not _hexlike(str(run_id)):
            return MetricHistory([], [])
        try:
            got = history(self.client, str(run_id), metric_key(title, series))
        except MlflowRefused as exc:
            if exc.status in (400, 404):
                return MetricHistory([], [])
            raise
        got.sort(key=lambda m: (int(m.get("timestamp") or 0), int(m.get("step") or 0)))
        new = got[after:]
        steps: list[int | None] = [int(m.get("step") or 0) for m in new]
        return MetricHistory(steps, [as_float(m.get("value")) for m in new], len(got))

    # ------------------------------------------------------------- choices

    def distinct_values(self, q: RunQuery, spec: str) -> list[ValueCount]:
        if spec == "tags":
            rest = q.with_(tags=None)
        else:
            rest = q.with_(filters=tuple(f for f in q.filters if f.column != spec))
        counts: Counter[str] = Counter()
        for row in self._all(rest.with_(sort=())):
            if spec == "tags":
                counts.update(row.tags)
            elif spec.startswith("p:"):
                value = row.params.get(spec[2:])
                counts.update([] if value is None else [value])
            else:
                counts[str(getattr(row, spec))] += 1
        return [ValueCount(v, n) for v, n in counts.most_common()]

    def _experiment_rows(self, pipeline_id: PipelineId | None) -> list[RunRow]:
        p = plan(RunQuery(pipeline_id))
        return self._scan(self._exp_ids(pipeline_id), Plan(p.filter, (), "ALL", False, False))

    def column_choices(self, pipeline_id: PipelineId | None) -> ColumnChoices:
        rows = self._experiment_rows(pipeline_id)
        series = sorted({pair for r in rows for pair in r.metrics})
        values: dict[str, bool] = {}
        for r in rows:
            for k, v in r.params.items():
                values[k] = values.get(k, True) and is_number(v)
        return ColumnChoices(series, values)

    def is_numeric_param(self, pipeline_id: PipelineId | None, spec: str) -> bool:
        return self.column_choices(pipeline_id).params.get(spec.removeprefix("p:"), False)

    def pipeline_tags(self, pipeline_id: PipelineId | None) -> list[str]:
        uses = Counter(t for r in self._experiment_rows(pipeline_id) for t in r.tags)
        return [t for t, _ in uses.most_common()]

    def new_run_form(self, pipeline: str) -> NewRunForm:
        if self.link is None:
            raise ValueError(NOT_HERE)
        return self.link.new_run_form(pipeline)

    # ------------------------------------------------------------- selections

    def state_counts(self, ids: Sequence[RunId]) -> StateCounts:
        return Counter((r.status, r.archived) for r in self.runs(ids))

    def hidden(self, q: RunQuery, ids: Sequence[RunId]) -> int:
        states = self.mark_states(q, ids)
        return sum(1 for i in ids if not states.get(i, ("", False, False))[2])

    def mark_states(self, q: RunQuery, ids: Collection[RunId]) -> dict[RunId, MarkState]:
        at = q.at if q.at is not None else time.time()
        wanted = set(self._exp_ids(q.pipeline_id))
        out: dict[RunId, MarkState] = {}
        for row in self.runs(list(ids)):
            parsed_exp = next((e for e, n in self._names().items() if n == row.pipeline), "")
            shown = row.archived == q.archived and parsed_exp in wanted and keeps(q, row, at)
            out[row.id] = (row.status, row.archived, shown)
        return out

    def tags_of(self, ids: Sequence[RunId]) -> Counter[str]:
        return Counter(t for r in self.runs(ids) for t in r.tags)

    # ------------------------------------------------------------- actions

    def _wrote(self, ids: Sequence[RunId]) -> None:
        with self._lock:
            self._generation += 1
            self._evaluated.clear()
        for i in ids:
            self.ranges.forget(str(i))

    def transition(self, action: Action, ids: Sequence[RunId], *, message: str = "") -> BulkResult:
        if action is Action.RETRY and self.link is not None:
            return self.link.act(action, self._linked(ids), ids)
        try:
            return mlflow_actions.transition(self.client, action, self.runs(ids), ids)
        finally:
            self._wrote(ids)

    def resume(self, ids: Sequence[RunId]) -> BulkResult:
        if self.link is None:
            raise ValueError(NOT_HERE)
        return self.link.act(Action.CONTINUE, self._linked(ids), ids)

    def _linked(self, ids: Sequence[RunId]) -> list[tuple[RunRow, int | None]]:
        """Each run, with the runs-tui run its tag names: one read of the runs for both."""
        return [(self._parse(data).row, link_of(data)) for data in self._by_ids(ids)]

    def tag(self, ids: Sequence[RunId], add: Sequence[str], remove: Sequence[str]) -> BulkResult:
        try:
            return mlflow_actions.tag(self.client, self.runs(ids), ids, add, remove)
        finally:
            self._wrote(ids)

    def new_run(
        self,
        pipeline: str,
        params: dict[str, str],
        *,
        queue: str | None = None,
        tags: Sequence[str] = (),
    ) -> NewRun:
        if self.link is None:
            raise ValueError(NOT_HERE)
        return self.link.new_run(pipeline, params, queue, tags)


def open_mlflow(db: str | None) -> RunSource:
    """The entry point for `mlflow+http://HOST:PORT[/PATH][?prefix=P][&store=DB]` (and
    https); `store`: the runs-tui database whose agent runs these experiments."""
    url = db or ""
    parts = urlsplit(url.split("+", 1)[1] if "+" in url.split("://", 1)[0] else url)
    query = parse_qs(parts.query)
    prefix = query.get("prefix", [""])[0]
    plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    store = open_source(query["store"][0]) if query.get("store") else None
    try:
        return MlflowSource(plain, prefix, store)
    except ValueError as exc:
        if store is not None:
            store.close()
        raise SourceError(str(exc)) from None
