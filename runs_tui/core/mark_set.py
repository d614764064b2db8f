"""The marked runs' ids, as a set that a million marks do not make slow to live with.

A `set` of a million ids is walked entry by entry by Python's cycle collector on every
full collection (30 ms on a quiet machine, 200 ms on a busy one), and that collection
holds the GIL: the UI thread stops, whichever thread triggered it. A `dict` whose keys
and values are all atoms (ints, strings, None) is untracked by the collector the first
time it looks, and never walked again. So the ids are a dict's keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set

from runs_tui.core.records import RunId

SLICE = 20_000  # ids added per C call: about a millisecond of the GIL


class MarkSet(Set[RunId]):
    """A set of run ids (compares equal to a `set` of the same ids) that can grow."""

    __slots__ = ("_ids", "_shared")

    def __init__(self, ids: Iterable[RunId] = ()) -> None:
        self._ids: dict[RunId, None] = dict.fromkeys(ids)
        self._shared = False  # `_ids` is another MarkSet's too: copied before a change

    @classmethod
    def of(cls, ids: list[RunId]) -> MarkSet:
        """`ids` a slice at a time: one C call over a million ids would hold the GIL, and
        so the UI thread, for a tenth of a second."""
        out = cls()
        for i in range(0, len(ids), SLICE):
            out.update(ids[i : i + SLICE])
        return out

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._ids

    def __iter__(self) -> Iterator[RunId]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"MarkSet({len(self._ids)} runs)"

    def snapshot(self) -> MarkSet:
        """The same ids for a worker to read while marks change: nothing is copied
        until one of the two changes (a million ids take 10-60 ms to copy)."""
        out = MarkSet()
        out._ids, out._shared, self._shared = self._ids, True, True
        return out

    def _own(self) -> dict[RunId, None]:
        """The ids, this set's own from now on (a copy of them if they were shared)."""
        if self._shared:
            self._ids, self._shared = self._ids.copy(), False
        return self._ids

    def add(self, run_id: RunId) -> None:
        self._own()[run_id] = None

    def update(self, run_ids: Iterable[RunId]) -> None:
        self._own().update(dict.fromkeys(run_ids))

    def toggle(self, run_id: RunId) -> None:
        """Mark `run_id`, or unmark it when it is marked."""
        ids = self._own()
        if ids.pop(run_id, False) is False:
            ids[run_id] = None
