"""Counts for a screen that refreshes every few seconds, from any source."""

from __future__ import annotations

import time
from collections.abc import Callable

from runs_tui.core.records import RunQuery


class CountCache:
    """A count that took longer than `slow` seconds (a big pipeline) is reused for up to
    `every` seconds; quick ones are made afresh each time. `forget` after an action, so
    its effect shows at once. A kept count below `at_least` (the rows on screen: runs
    were added since) is made afresh, never shown as "25 of 24 runs"."""

    def __init__(
        self, count: Callable[[RunQuery], int], every: float = 10.0, slow: float = 0.02
    ) -> None:
        self._count, self.every, self.slow = count, every, slow
        self._cache: dict[RunQuery, tuple[int, float, float]] = {}

    def count(self, q: RunQuery, at_least: int = 0) -> int:
        key = _key(q)
        hit = self._cache.get(key)
        start = time.monotonic()
        if (
            hit is not None
            and hit[0] >= at_least
            and hit[2] > self.slow
            and start - hit[1] < self.every
        ):
            return hit[0]
        n = self._count(q)
        self._cache[key] = (n, start, time.monotonic() - start)
        return n

    def last(self, q: RunQuery, at_least: int = 0) -> int:
        """The count kept for `q` however old, not below `at_least`; else counted now. For
        a figure shown beside a fresher one until it is counted again (a search's first
        count shows its pipeline's runs as last counted: a million take a while)."""
        hit = self._cache.get(_key(q))
        if hit is not None and hit[0] >= at_least:
            return hit[0]
        return self.count(q, at_least)

    def forget(self) -> None:
        self._cache.clear()


def _key(q: RunQuery) -> RunQuery:
    """A query as the cache keeps its count: without its clock or its order."""
    return q.with_(at=None, sort=())
