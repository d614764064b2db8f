"""CountCache: slow counts kept for a while; `last` gives the kept one however old."""

from __future__ import annotations

from runs_tui.core.count_cache import CountCache
from runs_tui.core.records import RunQuery


def test_last_is_the_kept_count_however_old_never_below_the_rows_shown() -> None:
    answers = iter([10, 12, 15])
    asked: list[RunQuery] = []

    def count(q: RunQuery) -> int:
        asked.append(q)
        return next(answers)

    counts = CountCache(count, every=0.0, slow=0.0)  # nothing is kept for `count`
    q = RunQuery(1)
    assert counts.last(q) == 10, "nothing kept: counted now"
    assert counts.count(q.with_(at=5.0)) == 12, "count() counts again once `every` is up"
    assert counts.last(q.with_(at=9.0, sort=())) == 12, "last() keeps it, whatever its age"
    assert len(asked) == 2
    assert counts.last(q, at_least=13) == 15, "fewer than the rows shown: counted again"
    assert len(asked) == 3
