"""What marked runs allow, kept up to date from the runs that change.

At a million marks, counting them again in the store takes seconds; a tick changes a
few of them. So each marked run's state (status, archived, shown by the query) is
read once, and afterwards only the marks toggled and the marked runs that changed are
read again: the counts cost what changed, not what is marked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from runs_tui.core.records import MarkState, RunId, RunQuery, StateCounts

SLICE = 20_000  # values counted per C call (about a millisecond)


def same_query(a: RunQuery | None, b: RunQuery | None) -> bool:
    """Whether two queries keep out the same runs (the moment they were asked aside)."""
    if a is None or b is None:
        return a is b
    return a.with_(at=None, sort=()) == b.with_(at=None, sort=())


@dataclass
class MarkTally:
    """The state of each marked run under `query`, and how many are in each state."""

    query: RunQuery
    _states: dict[RunId, MarkState] = field(default_factory=dict)
    _counts: Counter[MarkState] = field(default_factory=Counter)

    @classmethod
    def of(cls, query: RunQuery, states: dict[RunId, MarkState]) -> MarkTally:
        """The tally of `states`, which it keeps (no copy: a million entries). Counted a
        slice at a time: one C call over a million values would hold the GIL, and so
        the UI thread, that long."""
        counts: Counter[MarkState] = Counter()
        values = list(states.values())
        for i in range(0, len(values), SLICE):
            counts.update(values[i : i + SLICE])
        return cls(query, states, counts)

    def update(self, states: Mapping[RunId, MarkState], gone: Iterable[RunId]) -> None:
        """Runs marked or changed, as they are now; and runs unmarked or deleted."""
        for run_id in gone:
            old = self._states.pop(run_id, None)
            if old is not None:
                self._counts[old] -= 1
        for run_id, state in states.items():
            old = self._states.get(run_id)
            if old is not None:
                self._counts[old] -= 1
            self._states[run_id] = state
            self._counts[state] += 1

    def __len__(self) -> int:
        return len(self._states)

    def state_counts(self) -> StateCounts:
        """How many marked runs are in each (status, archived)."""
        out: StateCounts = Counter()
        for (status, archived, _shown), n in self._counts.items():
            if n:
                out[(status, archived)] += n
        return out

    @property
    def hidden(self) -> int:
        """How many marked runs the query leaves out."""
        return sum(n for (_s, _a, shown), n in self._counts.items() if not shown)
