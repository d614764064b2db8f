"""What the flows need from the screen they act for, and the two steps every flow takes:
asking the user and calling the source off the UI thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from weakref import WeakSet

from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from runs_tui.core.count_cache import CountCache
from runs_tui.core.records import PipelineId, PipelineSummary, RunId, RunQuery
from runs_tui.core.source import SourceError
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView
from runs_tui.ui.context import Context
from runs_tui.ui.widgets.runs_table import RunsTable

T = TypeVar("T")

ASKING: WeakSet[Worker[Any]] = WeakSet()
"""Flows waiting for the user's answer: the app is idle while they wait."""


class Host(Protocol):
    """The main screen, as the flows see it."""

    context: Context
    view: TableView
    pipeline: PipelineSummary | None
    overview: bool  # every pipeline's runs (`O`), the pipeline's view kept aside
    pipeline_view: TableView | None
    run_query: RunQuery | None
    counts: CountCache
    follow_run: RunId | None

    @property
    def app(self) -> App[Any]: ...

    @property
    def table(self) -> RunsTable: ...

    @property
    def archive_view(self) -> bool: ...

    def apply_view(self, view: TableView, *, save: bool = True) -> None: ...

    def reload(self) -> None: ...

    def marks_changed(self, changed: set[RunId] | None = None) -> None: ...

    def clear_marks(self) -> None: ...

    async def action_details(self) -> None: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...


async def ask(app: App[Any], screen: Screen[T]) -> T:
    """Show a modal and wait for its answer."""
    worker = get_current_worker()
    ASKING.add(worker)
    try:
        result: T = await app.push_screen_wait(screen)
    finally:
        ASKING.discard(worker)
    return result


async def off_thread(host: Host, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """`fn(*args)` in a thread; a source that cannot answer is reported and gives None."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except SourceError as exc:
        failed(host, exc)
        return None


def scope(host: Host) -> PipelineId | None:
    """The pipeline the table's queries are about; None in the overview (every one)."""
    return None if host.overview or host.pipeline is None else host.pipeline.id


def shown_pipeline(host: Host, what: str) -> PipelineSummary | None:
    """The pipeline shown; None, saying why `what` cannot act, when there is none."""
    if host.pipeline is None:
        host.notify(
            f"{what}: no pipeline is registered; "
            "register one from a shell: runs-tui pipeline register FILE",
            severity="warning",
            markup=False,
        )
    return host.pipeline


def failed(host: Host, exc: Exception) -> None:
    host.notify(
        one_line(str(exc).splitlines()[0] if str(exc) else repr(exc)),
        severity="error",
        markup=False,
    )
