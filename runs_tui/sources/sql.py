"""`SqlSource`: the runs-tui store (SQLite or PostgreSQL) as a `RunSource`.

Each method delegates to the store's own functions in `runs_tui.core` and turns the
database's errors into `SourceError` with the driver's first line, so nothing above
this module sees SQLAlchemy. Modules the first screen does not need (exports, pickers,
far pages, marks) are imported by the methods that use them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

# Imported where used: writes (core.ops, core.registry: SQLModel) and a run's details
# (core.pipelines), which the first screen needs none of.
from runs_tui.core import lookup, query
from runs_tui.core.columns import Column
from runs_tui.core.db import Store, StoreError, open_store
from runs_tui.core.interrupt import Interrupter
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
from runs_tui.core.rows import load_rows
from runs_tui.core.source import Capabilities, RunSource, SourceError
from runs_tui.core.status import Action

P = ParamSpec("P")
T = TypeVar("T")


def _guarded(fn: Callable[Concatenate[SqlSource, P], T]) -> Callable[Concatenate[SqlSource, P], T]:
    """Database errors become SourceError in the driver's words (no SQL, no stack)."""

    def wrapper(self: SqlSource, /, *args: P.args, **kwargs: P.kwargs) -> T:

        try:
            return fn(self, *args, **kwargs)
        except (SQLAlchemyError, StoreError) as exc:
            raise SourceError(_reason(exc)) from exc

    return wrapper


def _reason(exc: Exception) -> str:
    """The driver's own words (not SQLAlchemy's wrapping with SQL and links), one line."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _ints(ids: Sequence[RunId]) -> list[int]:
    return [int(i) for i in ids]


def _pid(pipeline_id: PipelineId) -> int:
    return int(pipeline_id)


def _pid_or_all(pipeline_id: PipelineId | None) -> int | None:
    return None if pipeline_id is None else int(pipeline_id)


class SqlSource:
    """Runs in the store; every action and filter is supported."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._interrupter = Interrupter(store.engine)

    def interrupt(self, thread: int) -> None:
        self._interrupter.interrupt(thread)

    def query_note(self, q: RunQuery) -> str:
        return ""  # every query is answered by the database whole

    @property
    def name(self) -> str:
        return self.store.display_url

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def close(self) -> None:
        self.store.dispose()

    @_guarded
    def pipelines(self, counted: bool = True) -> list[PipelineSummary]:
        return lookup.pipelines(self.store)  # counted either way: one grouped query

    @_guarded
    def find_pipeline(self, name: str | None) -> tuple[PipelineSummary | None, bool]:
        return lookup.first_pipeline(self.store, name)

    @_guarded
    def pipeline(self, name: str) -> PipelineSummary:
        found, exact = lookup.first_pipeline(self.store, name)  # Core: `ls NAME` needs no ORM
        if found is not None and exact and name:
            return found
        pipe = lookup.pipeline_by_name(self.store, name)  # ValueError naming the known ones
        assert pipe.id is not None
        return PipelineSummary(pipe.id, pipe.name, pipe.version, pipe.queue)

    @_guarded
    def register_pipeline(self, path: str) -> PipelineSummary:
        from runs_tui.core.registry import register

        pipe = register(self.store, path)
        assert pipe.id is not None
        return PipelineSummary(pipe.id, pipe.name, pipe.version, pipe.queue)

    @_guarded
    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        return query.window(self.store, q, offset, limit)

    @_guarded
    def window_after(self, q: RunQuery, run_id: RunId, limit: int = 200) -> list[RunRow] | None:
        from runs_tui.core import keyset

        timed = q.with_(at=q.at if q.at is not None else time.time())
        key = keyset.key_of(self.store, timed, int(run_id))
        if key is None:
            return None
        ids, _ = keyset.page(self.store, timed, key, limit)
        return load_rows(self.store, ids)

    @_guarded
    def count(self, q: RunQuery, limit: int | None = None) -> int:
        from runs_tui.core import counts

        if limit is None:
            return counts.count(self.store, q)
        return counts.count_at_most(self.store, q, limit)

    @_guarded
    def runs(self, ids: Sequence[RunId]) -> list[RunRow]:
        return load_rows(self.store, _ints(ids))

    @_guarded
    def changed_since(
        self, pipeline_id: PipelineId | None, since: float | None
    ) -> list[tuple[RunId, float]] | None:
        pid = None if pipeline_id is None else _pid(pipeline_id)
        return list(query.changed_since(self.store, pid, since))

    def rows(
        self, q: RunQuery, page: int = 1000, columns: Sequence[Column] | None = None
    ) -> Iterator[RunRow]:
        """Keyset pages in one snapshot; only the tables `columns` need are read."""
        from runs_tui.core import keyset

        try:
            with self.store.snapshot():
                for ids in keyset.walk(self.store, q, page):
                    for i in range(0, len(ids), page):
                        yield from load_rows(self.store, ids[i : i + page], columns)
        except (SQLAlchemyError, StoreError) as exc:
            raise SourceError(_reason(exc)) from exc

    def records(
        self, q: RunQuery, columns: Sequence[Column], page: int = 1000
    ) -> Iterator[list[list[Any]]]:
        """One statement per segment of the order, read as it comes, in one snapshot; the
        values made by the database (`core.cells`)."""
        from runs_tui.core import cells

        return self._export(cells.records, q, columns, page)

    def csv_records(
        self, q: RunQuery, columns: Sequence[Column], page: int = 1000, *, with_pipeline: bool
    ) -> Iterator[Sequence[Sequence[Any]]]:
        """As `records`, tags joined by the database."""
        from runs_tui.core import cells

        read = partial(cells.csv_records, with_pipeline=with_pipeline)
        return self._export(read, q, columns, page)

    def _export(
        self,
        read: Callable[[Store, RunQuery, Sequence[Column], int], Iterator[T]],
        q: RunQuery,
        columns: Sequence[Column],
        page: int,
    ) -> Iterator[T]:
        at = q.at if q.at is not None else time.time()
        try:
            with self.store.snapshot():
                yield from read(self.store, q.with_(at=at), columns, page)
        except (SQLAlchemyError, StoreError) as exc:
            raise SourceError(_reason(exc)) from exc

    @_guarded
    def ids(self, q: RunQuery) -> list[RunId]:
        return list(query.ids(self.store, q))

    @_guarded
    def resolve_refs(self, refs: Sequence[str]) -> list[RunId]:
        return list(lookup.resolve_refs(self.store, refs))

    @_guarded
    def details(self, run_id: RunId, after_log: int = 0) -> RunDetails | None:
        from runs_tui.core import details

        return details.load(self.store, int(run_id), after_log=after_log)

    @_guarded
    def logs(
        self,
        run_id: RunId,
        *,
        after: int = 0,
        limit: int = 1000,
        step: str | None = None,
        last: bool = False,
    ) -> list[LogInfo]:
        from runs_tui.core import details

        return details.log_lines(self.store, int(run_id), after, limit, step, last=last)

    @_guarded
    def metric_history(
        self, run_id: RunId, title: str, series: str, *, after: int = 0
    ) -> MetricHistory:
        from runs_tui.core import details

        return details.metric_history(self.store, int(run_id), title, series, after)

    @_guarded
    def distinct_values(self, q: RunQuery, spec: str) -> list[ValueCount]:
        from runs_tui.core import facets

        return facets.distinct_values(self.store, q, spec)

    @_guarded
    def column_choices(self, pipeline_id: PipelineId | None) -> ColumnChoices:
        from runs_tui.core import facets

        pid = _pid_or_all(pipeline_id)
        return ColumnChoices(
            facets.metric_series(self.store, pid), facets.param_keys(self.store, pid)
        )

    @_guarded
    def is_numeric_param(self, pipeline_id: PipelineId | None, spec: str) -> bool:
        from runs_tui.core import facets

        return facets.is_numeric_param(self.store, _pid_or_all(pipeline_id), spec)

    @_guarded
    def pipeline_tags(self, pipeline_id: PipelineId | None) -> list[str]:
        from runs_tui.core import selection

        return selection.pipeline_tags(self.store, _pid_or_all(pipeline_id))

    @_guarded
    def new_run_form(self, pipeline: str) -> NewRunForm:
        from runs_tui.core import selection
        from runs_tui.core.registry import load_registered

        pipe = lookup.pipeline_by_name(self.store, pipeline)
        assert pipe.id is not None
        return NewRunForm(
            pipe.name,
            load_registered(pipe).parameters,
            selection.last_params(self.store, pipe.id),
            pipe.queue,
            lookup.queues(self.store),
            selection.pipeline_tags(self.store, pipe.id),
        )

    @_guarded
    def state_counts(self, ids: Sequence[RunId]) -> StateCounts:
        from runs_tui.core import selection

        return selection.state_counts(self.store, _ints(ids))

    @_guarded
    def hidden(self, q: RunQuery, ids: Sequence[RunId]) -> int:
        from runs_tui.core import selection

        return selection.hidden(self.store, q, _ints(ids))

    @_guarded
    def mark_states(self, q: RunQuery, ids: Collection[RunId]) -> dict[RunId, MarkState]:
        # The store's ids are ints, which RunId includes: no copy of a million entries.
        from runs_tui.core import selection

        return cast(dict[RunId, MarkState], selection.mark_states(self.store, q, map(int, ids)))

    @_guarded
    def tags_of(self, ids: Sequence[RunId]) -> Counter[str]:
        from runs_tui.core import selection

        return selection.tags_of(self.store, _ints(ids))

    @_guarded
    def transition(self, action: Action, ids: Sequence[RunId], *, message: str = "") -> BulkResult:
        from runs_tui.core import ops

        return ops.transition(self.store, action, _ints(ids), message=message)

    @_guarded
    def resume(self, ids: Sequence[RunId]) -> BulkResult:
        from runs_tui.core import ops

        return ops.resume(self.store, _ints(ids))

    @_guarded
    def tag(self, ids: Sequence[RunId], add: Sequence[str], remove: Sequence[str]) -> BulkResult:
        from runs_tui.core import ops

        return ops.tag(self.store, _ints(ids), add, remove)

    @_guarded
    def new_run(
        self,
        pipeline: str,
        params: dict[str, str],
        *,
        queue: str | None = None,
        tags: Sequence[str] = (),
    ) -> NewRun:
        from runs_tui.core import ops

        return ops.new_run(self.store, pipeline, params, queue=queue, tags=tags)


def open_sql(db: str | None) -> RunSource:
    """The entry point for `sqlite` and `postgresql` URLs and plain paths."""
    return SqlSource(open_store(db))


def store_of(source: RunSource) -> Store:
    """The store behind a source, for what only the store does (the agent, the demo);
    ValueError names the source otherwise."""
    if not isinstance(source, SqlSource):
        raise ValueError(f"{source.name}: only a runs-tui database can do this")
    return source.store
