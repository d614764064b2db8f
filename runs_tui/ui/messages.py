"""Messages thread workers post back to the screen: data loaded, or the store failed."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from runs_tui.core.records import RunDetails, RunId, RunQuery, RunRow
from runs_tui.core.status import Action


@dataclass
class WindowLoaded(Message):
    query: RunQuery
    rows: list[RunRow]
    total: int
    at: float
    all_runs: int


@dataclass
class DetailsLoaded(Message):
    run_id: RunId
    details: RunDetails | None
    at: float


@dataclass
class StoreFailed(Message):
    """The database could not be read; the screen keeps its data and retries."""

    error: str


@dataclass
class MarksCounted(Message):
    """What the marked runs allow, and how many of them the current filter hides."""

    marks: frozenset[RunId]
    counts: dict[Action, int]
    hidden: int
