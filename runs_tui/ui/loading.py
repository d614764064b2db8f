"""What the table loads, run in a worker thread: a fresh window for a new query, a
refresh of what is visible plus the runs that changed since the last one, or the next
page. A refresh costs what is on screen, never what was scrolled past: a user who
scrolled to row 10,000 does not reload 10,000 rows every tick, and a tick when nothing
changed loads no row at all. The counts are a load of their own, after the rows: the
rows of a search a million runs match take milliseconds, counting them a second.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from runs_tui.core.changes import Watch
from runs_tui.core.count_cache import CountCache
from runs_tui.core.records import RunId, RunQuery, RunRow
from runs_tui.core.source import LazyRanges, RunSource
from runs_tui.ui.messages import Counted, WindowLoaded


@dataclass(frozen=True)
class Visible:
    """The loaded positions to refresh (what is on screen, plus a margin), and every run
    loaded, so that a change to one off screen updates it too."""

    start: int
    span: int
    loaded: Collection[RunId]  # read in the worker: a view, not a copy (100,000 ids)
    above: RunId | None = None  # the loaded run just above `start`
    series: frozenset[tuple[str, str]] = frozenset()  # metrics whose min or max is shown

    @property
    def at_end(self) -> bool:
        """The positions reach the last row loaded: new runs above push rows out of them."""
        return self.start + self.span >= len(self.loaded)


def _watch_from_now(source: RunSource, q: RunQuery, at: float) -> Watch | None:
    """A watch that counts the changes made so far as seen: the rows loaded next are newer."""
    latest = source.changed_since(q.pipeline_id, None)
    if latest is None:
        return None
    start = Watch(max((t for _, t in latest), default=0.0))
    recent = source.changed_since(q.pipeline_id, start.since(at)) or []
    return start.after(recent)[1]


BOUND = 1_000  # a new search's first count stops here ("1,000+"); the exact one follows


def first_count(source: RunSource, counts: CountCache, q: RunQuery, at: float) -> Counted:
    """A narrowed query's count up to BOUND, the exact count below it: milliseconds
    where the exact count of a needle a million runs hold reads every match. Its
    pipeline's runs as last counted: the exact count, or the next change, counts them
    again."""
    timed = q.with_(at=at)
    n = source.count(timed, limit=BOUND + 1)
    total = min(n, BOUND)
    everything = counts.last(timed.everything(), at_least=total)
    return Counted(q, total, everything, at, at_least=n > BOUND)


def count(counts: CountCache, q: RunQuery, at: float, total: int | None, shown: int = 0) -> Counted:
    """The query's counts (`total` when its rows told it already: fewer than asked), never
    below the `shown` rows it has on screen, nor the pipeline's below the query's."""
    timed = q.with_(at=at)
    total = counts.count(timed, at_least=shown) if total is None else total
    everything = counts.count(timed.everything(), at_least=total) if q.narrowed else total
    return Counted(q, total, everything, at, shown)


def ranges(source: RunSource, rows: list[RunRow], series: Collection[tuple[str, str]]) -> None:
    """The min and max of `series` for `rows` (what is on screen), from a source that
    reads them on demand (`LazyRanges`: an MLflow server's metric history)."""
    if series and rows and isinstance(source, LazyRanges):
        source.fill_ranges(rows, series)


def fresh(
    source: RunSource,
    q: RunQuery,
    limit: int,
    at: float,
    series: Collection[tuple[str, str]] = (),
    shown: int = 0,
) -> WindowLoaded:
    """The first `limit` rows of a query shown anew, and where to watch for changes
    (with `series`' min and max for the first `shown`)."""
    watch = _watch_from_now(source, q, at)  # before the rows: no change is missed
    rows = source.window(q.with_(at=at), 0, limit)
    ranges(source, rows[:shown], series)
    return WindowLoaded(q, rows, at, watch=watch, changed_ids=None, asked=limit)


def refresh(
    source: RunSource,
    q: RunQuery,
    at: float,
    visible: Visible,
    watch: Watch | None,
    force: bool,
) -> WindowLoaded:
    """The visible rows again and the loaded runs that changed, when anything changed
    (or `force`); else only the clock moved (`span` 0)."""
    found = None if watch is None else source.changed_since(q.pipeline_id, watch.since(at))
    ids: list[RunId] = []
    if watch is not None and found is not None:
        ids, watch = watch.after(found)
        if not ids and not force:
            return WindowLoaded(q, [], at, visible.start, 0, watch=watch)
    timed = q.with_(at=at)
    # Where the window ends the rows loaded, the runs that new ones push out of it would
    # vanish from the table: load one more row for each change (each may be a new run),
    # or, from a source that cannot say what changed, as many more as the window holds.
    pushed = visible.span if found is None else min(len(ids), visible.span)
    span = visible.span + (pushed if visible.at_end else 0)
    rows = _after(source, timed, visible.start, span, visible.above)
    ranges(source, rows, visible.series)
    shown = {r.id for r in rows}
    others = [i for i in ids if i in visible.loaded and i not in shown]
    return WindowLoaded(
        q,
        rows,
        at,
        visible.start,
        span,
        changed=source.runs(others) if others else [],
        changed_ids=None if found is None or force else frozenset(ids),
        watch=watch,
    )


def _after(
    source: RunSource, q: RunQuery, start: int, span: int, above: RunId | None
) -> list[RunRow]:
    """The `span` rows from position `start`: read from the place of the run `above`
    them when there is one (a keyset page: far down the table as fast as at the top),
    else, or when the query no longer has that run, counted from the top."""
    rows = source.window_after(q, above, span) if above is not None else None
    return source.window(q, start, span) if rows is None else rows


def more(
    source: RunSource, q: RunQuery, at: float, loaded: int, last: RunId, page: int
) -> WindowLoaded:
    """The page after the `loaded` rows, whose last is `last`, appended (`span` 0)."""
    rows = _after(source, q.with_(at=at), loaded, page, last)
    return WindowLoaded(q, rows, at, loaded, 0)
