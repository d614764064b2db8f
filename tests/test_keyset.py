"""Keyset pages (`core.keyset`) against the brute-force order of test_query_props, and
exports and `ls` reading them while runs are added and their sort values change."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import SIMPLE_PIPELINE, database_copy, template_databases
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert as sa_insert
from sqlalchemy import update
from support import props
from test_query_props import AT, R, datasets, expected_order, insert, run_queries

from runs_tui.core import keyset, ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import METRIC
from runs_tui.core.records import RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.sources import open_source

SORT = "m:loss/val:last"


def check_pages(store: Store, runs: list[R], q: RunQuery, size: int, start: int) -> None:
    """`walk` gives the whole order, in a page of `size` then each 4 times the last (up
    to GROWTH times `size`); `page` from the key of the run at `start` (`key_of`) gives
    the runs after it."""
    order = expected_order(runs, q)
    with store.snapshot():
        pages = list(keyset.walk(store, q, size))
    limits = [min(size * 4**n, size * keyset.GROWTH) for n in range(len(pages))]
    assert all(0 < len(p) <= limit for p, limit in zip(pages, limits, strict=True))
    assert all(len(p) == limit for p, limit in zip(pages[:-1], limits, strict=False))
    assert [i for p in pages for i in p] == order
    if not order:
        assert keyset.page(store, q, None, size) == ([], None)
        return
    at = start % len(order)
    key = keyset.key_of(store, q, order[at])
    assert key is not None and key.values[-1] == order[at]
    ids, last = keyset.page(store, q, key, size)
    assert ids == order[at + 1 : at + 1 + size]
    assert (last is None) == (not ids)
    if last is not None:
        assert keyset.key_of(store, q, ids[-1]) == last


@props(80)
@given(
    runs=datasets(),
    queries=st.lists(
        st.tuples(run_queries(), st.integers(1, 9), st.integers(0, 50)), min_size=1, max_size=5
    ),
)
def test_keyset_pages_match_brute_force(
    store: Store, runs: list[R], queries: list[tuple[tuple[RunQuery, int, int], int, int]]
) -> None:
    insert(store, runs)
    for (q, _, _), size, start in queries:
        check_pages(store, runs, q, size, start)


@pytest.mark.postgres
@props(30)
@given(
    runs=datasets(),
    queries=st.lists(
        st.tuples(run_queries(), st.integers(1, 9), st.integers(0, 50)), min_size=1, max_size=4
    ),
)
def test_keyset_pages_match_brute_force_postgres(
    pg_url: str, runs: list[R], queries: list[tuple[tuple[RunQuery, int, int], int, int]]
) -> None:
    """The same on PostgreSQL: text keys compare by code point there too (COLLATE "C")."""
    store = open_store(pg_url)
    try:
        insert(store, runs)
        for (q, _, _), size, start in queries:
            check_pages(store, runs, q, size, start)
    finally:
        store.dispose()


def test_a_run_left_out_has_no_key(store: Store) -> None:
    insert(store, [R(1, 1, 1, "", "1", "completed", "u", "q", None, 0.0, None, archived=True)])
    q = RunQuery(1, at=AT)
    assert keyset.key_of(store, q, 1) is None
    assert keyset.key_of(store, q.with_(archived=True), 1) == keyset.Key(0, (1, 1))
    with pytest.raises(ValueError, match="page size"):
        next(keyset.walk(store, q, 0))


N = 600


def _six_hundred(url: str, folder: Path) -> tuple[str, list[int]]:
    """The pipeline `simple` and N runs made by `ops.new_run` in the database at `url`,
    every third without a value of the metric (the segment of missing values): the
    pipeline's name and the runs' ids."""
    pipeline = folder / "simple.toml"
    pipeline.write_text(SIMPLE_PIPELINE)
    store = open_store(url)
    try:
        name = register(store, pipeline).name
        made = [int(ops.new_run(store, name).id) for _ in range(N)]
        with store.write() as s:
            s.execute(
                sa_insert(METRIC),
                [_metric(run_id, float(k % 97)) for k, run_id in enumerate(made) if k % 3],
            )
    finally:
        store.dispose()  # nothing connected: PostgreSQL copies only such a one
    return name, made


@pytest.fixture(scope="module")
def templates(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], tuple[str, tuple[str, list[int]]]]]:
    """`make(kind)`: the URL of a database of the kind ("sqlite", "postgresql") holding
    `_six_hundred`'s runs, made once a module (the tests below are one xdist group, so
    on one worker); with the pipeline's name and the runs' ids. A test's `churned` is a
    copy of it."""
    with template_databases(tmp_path_factory, _six_hundred) as make:
        yield make


@pytest.fixture(params=["sqlite", "postgresql"])
def churned(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    templates: Callable[[str], tuple[str, tuple[str, list[int]]]],
) -> tuple[str, str, list[int]]:
    """A copy of the kind's database of N runs, this test's alone: its URL, the
    pipeline's name and the runs' ids."""
    template, (name, made) = templates(request.param)
    return database_copy(request, tmp_path, request.param, template), name, made


@pytest.mark.xdist_group("keyset-churn")  # one worker: the templates made once
@pytest.mark.parametrize("read", ["rows", "records"])
@pytest.mark.parametrize("desc", [False, True])
def test_an_export_sorted_by_a_metric_while_it_changes_has_each_run_once(
    churned: tuple[str, str, list[int]], read: str, desc: bool
) -> None:
    """A writer adds runs with the metric and moves old runs across the order (their
    metric changes) while `rows()` / `records()` read keyset pages of 7: each run once,
    and every run that was there all along."""
    url, name, made = churned
    source = open_source(url)
    store = source.store  # type: ignore[attr-defined]
    pipeline_id = source.pipeline(name).id
    q = RunQuery(pipeline_id, sort=(SortKey(SORT, desc),), at=AT)
    stop = threading.Event()
    changes = {"new": 0, "moved": 0}

    def churn() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            run = ops.new_run(store, name)
            with store.write() as s:
                s.execute(sa_insert(METRIC), [_metric(int(run.id), float(k % 50))])
                victim = made[k * 37 % N]  # to the first page or the last
                s.execute(
                    update(METRIC)
                    .where(METRIC.c.run_id == victim)
                    .values(last=-1.0 * k if k % 2 else 1000.0 + k)
                )
            changes["new"] += 1
            changes["moved"] += 1

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        if read == "rows":
            seen = [row.id for row in source.rows(q, 7, parse_columns(f"run,{SORT}"))]
        else:
            pages = source.records(q, parse_columns(f"run,{SORT}"), 7)
            seen = [record[1] for page in pages for record in page]
    finally:
        stop.set()
        writer.join()
        source.close()
    assert changes["new"] > 0 and changes["moved"] > 0, "runs changed during the export"
    assert len(seen) == len(set(seen)), "a run was exported twice"
    assert set(made) <= set(seen), "a run that was there all along was missed"


def _metric(run_id: int, value: float) -> dict[str, object]:
    return {
        "run_id": run_id,
        "title": "loss",
        "series": "val",
        "last": value,
        "min": value,
        "max": value,
        "last_step": 1,
        "updated": AT,
    }
