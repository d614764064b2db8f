"""MarkSet: a set of run ids that the cycle collector does not walk."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from runs_tui.core.mark_set import SLICE, MarkSet
from tests.support import examples

ids = st.lists(st.integers(min_value=1, max_value=50) | st.text(max_size=3), max_size=40)


@given(ids, ids, ids)
@settings(max_examples=examples(200))
def test_it_behaves_as_a_set(
    start: list[int | str], added: list[int | str], toggled: list[int | str]
) -> None:
    marks, model = MarkSet(start), set(start)
    marks.update(added)
    model |= set(added)
    for run_id in toggled:
        marks.toggle(run_id)
        model ^= {run_id}
    assert marks == model and model == set(marks)
    assert len(marks) == len(model)
    assert all(i in marks for i in model) and 0 not in marks
    assert marks & {1, 2} == model & {1, 2}


def test_many_ids_are_out_of_the_collectors_way() -> None:
    marks = MarkSet.of(list(range(3 * SLICE + 7)))
    gc.collect()
    assert len(marks) == 3 * SLICE + 7 and 3 * SLICE + 6 in marks
    assert not gc.is_tracked(marks._ids), "a set would be walked at every full collection"
    marks.add(-1)
    gc.collect()
    assert not gc.is_tracked(marks._ids)


def test_a_snapshot_keeps_the_ids_it_was_taken_with() -> None:
    marks = MarkSet([1, 2, 3])
    seen = marks.snapshot()
    marks.toggle(2)
    marks.add(4)
    assert seen == {1, 2, 3} and marks == {1, 3, 4}
    seen.update([9])
    assert seen == {1, 2, 3, 9} and marks == {1, 3, 4}
