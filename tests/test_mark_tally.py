"""MarkTally: counts of marked runs kept from the runs that change, equal to counting
them all again."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from runs_tui.core.mark_tally import MarkTally, same_query
from runs_tui.core.records import MarkState, RunQuery, SortKey, ValueFilter

Q = RunQuery(1)
STATES = st.tuples(
    st.sampled_from(["pending", "running", "completed", "failed"]), st.booleans(), st.booleans()
)
STEP = st.tuples(st.dictionaries(st.integers(0, 30), STATES), st.sets(st.integers(0, 30)))


@given(st.dictionaries(st.integers(0, 30), STATES), st.lists(STEP, max_size=6))
def test_updates_count_as_a_full_count(start: dict[int, MarkState], steps) -> None:
    tally = MarkTally.of(Q, start)
    now = dict(start)
    for states, gone in steps:
        tally.update(states, gone)
        for run_id in gone:
            now.pop(run_id, None)
        now.update(states)
    assert len(tally) == len(now)
    assert tally.state_counts() == Counter((s, a) for s, a, _ in now.values())
    assert tally.hidden == sum(not shown for _, _, shown in now.values())


def test_the_same_query_is_the_same_whatever_its_moment_or_sort() -> None:
    failed = Q.with_(filters=(ValueFilter("status", frozenset({"failed"})),))
    assert same_query(Q.with_(at=1.0, sort=(SortKey("number"),)), Q.with_(at=2.0))
    assert not same_query(Q, failed)
    assert not same_query(Q, Q.with_(archived=True))
    assert not same_query(Q, None) and same_query(None, None)
