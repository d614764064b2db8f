"""Messages thread workers post back to the screen: data loaded, or the store failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from runs_tui.core.changes import Watch
from runs_tui.core.mark_tally import MarkTally
from runs_tui.core.records import MarkState, RunDetails, RunId, RunQuery, RunRow


@dataclass
class WindowLoaded(Message):
    """Rows for the table. `rows` take the loaded positions `start` to `start + span`
    (`span` None: they are all there is to show, a fresh load); `changed` are other loaded
    runs that changed, of all those in `changed_ids` (None: unknown, anything may have).
    The counts follow as `Counted`."""

    query: RunQuery
    rows: list[RunRow]
    at: float
    start: int = 0
    span: int | None = None
    changed: list[RunRow] = field(default_factory=list)
    changed_ids: frozenset[RunId] | None = frozenset()
    watch: Watch | None = None
    asked: int = 0  # rows a fresh load asked for: fewer came, and they are all there is


@dataclass
class Counted(Message):
    """How many runs `query` matches and its pipeline holds, counted after its rows were
    sent: counting a search term a million runs hold takes a second, its rows a few ms."""

    query: RunQuery
    total: int
    all_runs: int
    at: float
    shown: int = 0  # the rows on screen when the count started
    at_least: bool = False  # `total` is a bound: the query matches more; the exact count follows


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
    """Marks counted: every one (`tally`, made in the worker, with its query), or the
    `states` of the marked runs that changed and the runs unmarked or deleted (`gone`)."""

    gone: frozenset[RunId] | None
    states: dict[RunId, MarkState]
    tally: MarkTally | None = None
