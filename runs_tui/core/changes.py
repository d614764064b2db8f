"""Watching a pipeline for changed runs by their `updated` stamps, which come from the
clocks of whoever changed them (agents on other machines, other users)."""

from __future__ import annotations

from dataclasses import dataclass

from runs_tui.core.records import RunId

# Writers stamp changes with their own clocks; one that lags the others by up to this
# many seconds is still seen. Changes already seen inside the margin are not news.
SKEW = 10.0


@dataclass(frozen=True)
class Watch:
    """Where watching for changes stands: the latest change time seen (the source's
    clocks), and the changes seen within SKEW of it."""

    latest: float
    seen: frozenset[tuple[RunId, float]] = frozenset()

    def since(self, now: float) -> float:
        """Ask from here: a writer whose clock runs ahead must not hide the others'."""
        return min(self.latest, now) - SKEW

    def after(self, changes: list[tuple[RunId, float]]) -> tuple[list[RunId], Watch]:
        """The runs that changed anew, and the watch to keep."""
        fresh = [run_id for run_id, t in changes if (run_id, t) not in self.seen]
        latest = max([self.latest, *(t for _, t in changes)])
        # The next ask starts no earlier than this one did, so what it finds again is
        # among these.
        return fresh, Watch(latest, frozenset(changes))
