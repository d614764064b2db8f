"""The search index stays true to the runs: edits through the store and through plain SQL
(as another writer would make them) show in search results at once, on SQLite and
PostgreSQL; random edits leave `runsearch` equal to a rebuild from scratch (and SQLite's
FTS5 index equal to its content); install() fills the index from runs already there."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from support import props
from test_plans import MILLION, _fill, plans_of

from runs_tui.core import counts, ops, query, search_index
from runs_tui.core.counts import count
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import EVENT, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.query import ids, window_ids
from runs_tui.core.records import RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.core.search_index import SEARCH, SEP, Kind
from runs_tui.core.textsql import ascii_lower

AT = 1_764_000_000.0


def found(store: Store, needle: str, pipeline_id: int | None = None) -> set[int]:
    """The runs a search finds, asked every way the store answers (count, ids, a window
    read from the index and one walking the order, sorted or not); all must agree."""
    q = RunQuery(pipeline_id, search=needle, at=AT)
    got = set(ids(store, q))
    assert count(store, q) == len(got)
    for walk_above in (query.WALK_ABOVE, 0):
        with mock.patch.object(query, "WALK_ABOVE", walk_above):
            for sort in ((), (SortKey("p:args/name"),), (SortKey("user", True),)):
                assert set(window_ids(store, q.with_(sort=sort), 0, 1000)) == got
    return got


def _drop_run(store: Store, run_id: int) -> None:
    with store.write() as s:
        for table in (TAG, PARAM, EVENT):
            s.execute(delete(table).where(table.c.run_id == run_id))
        s.execute(delete(RUN).where(RUN.c.id == run_id))


def test_edits_show_in_search(any_store: Store, pipeline_file: Path) -> None:
    store = any_store
    pid = register(store, pipeline_file).id
    r1 = ops.new_run(store, "simple", {"name": "Mercury-probe"}, tags=["Alpha-team"], user="Zed").id
    r2 = ops.new_run(store, "simple", {"name": "venus"}, user="amy").id
    assert found(store, "mercury") == {r1}
    assert found(store, "ALPHA-T") == {r1}
    assert found(store, "zed") == {r1}
    assert found(store, "venus", pid) == {r2}
    assert found(store, "simple #", pid) == {r1, r2}

    ops.tag(store, [r2], add=["alpha-team"])  # tags: "Alpha-team" on r1, "alpha-team" on r2
    assert found(store, "alpha-team") == {r1, r2}
    ops.tag(store, [r1], remove=["Alpha-team"])
    assert found(store, "alpha-team") == {r2}

    with store.write() as s:  # another writer, in plain SQL: rename, new user
        s.execute(update(RUN).where(RUN.c.id == r1).values(name="Renamed run"))
        s.execute(update(RUN).where(RUN.c.id == r2).values(user="Bea"))
    assert found(store, "renamed r") == {r1}
    assert found(store, "simple #") == {r2}
    assert found(store, "amy") == set()
    assert found(store, "bea") == {r2}

    with store.write() as s:  # a parameter changed, one added, one removed
        s.execute(
            update(PARAM)
            .where(PARAM.c.run_id == r2, PARAM.c.key == "args/name")
            .values(value="Jupiter")
        )
        s.execute(insert(PARAM).values(run_id=r1, key="extra/x", value="saturn-ring", num=None))
        s.execute(delete(PARAM).where(PARAM.c.run_id == r1, PARAM.c.key == "args/name"))
    assert found(store, "venus") == set()
    assert found(store, "jupiter") == {r2}
    assert found(store, "saturn") == {r1}
    assert found(store, "mercury") == set()

    ops.archive(store, [r1])  # archived runs are found in the archive only
    assert found(store, "saturn") == set()
    archived = RunQuery(pid, search="saturn", archived=True, at=AT)
    assert ids(store, archived) == [r1]

    _drop_run(store, r2)
    assert found(store, "jupiter") == set()
    assert found(store, "bea") == set()
    with store.read() as s:
        assert list(s.execute(select(SEARCH.c.run_id)).scalars()) == [r1]


def test_run_numbers_are_found_whole(any_store: Store, pipeline_file: Path) -> None:
    store = any_store
    pid = register(store, pipeline_file).id
    made = [ops.new_run(store, "simple", user="u").id for _ in range(12)]
    assert found(store, "#12", pid) == {made[11]}  # and "simple #12" holds "#12"
    assert found(store, "12", pid) == {made[11]}
    assert found(store, "#1", pid) == set(made[0:1] + made[9:12])  # #1, #10, #11, #12 names
    assert found(store, "#13", pid) == set()
    assert found(store, "#3000000000", pid) == set()  # past PostgreSQL's 32-bit `number`


# ---------------------------------------------------------------- random edits

TEXTS = st.text("aAbBzZé É日%_ 1", max_size=6)
KEYS = ("args/a", "args/b", "args/c")
edits = st.lists(
    st.one_of(
        st.tuples(st.just("new"), TEXTS, TEXTS),
        st.tuples(st.just("tag"), st.integers(0, 9), TEXTS),
        st.tuples(st.just("untag"), st.integers(0, 9), st.integers(0, 3)),
        st.tuples(st.just("param"), st.integers(0, 9), st.sampled_from(KEYS), TEXTS),
        st.tuples(st.just("unparam"), st.integers(0, 9), st.sampled_from(KEYS)),
        st.tuples(st.just("rename"), st.integers(0, 9), TEXTS),
        st.tuples(st.just("user"), st.integers(0, 9), TEXTS),
        st.tuples(st.just("drop"), st.integers(0, 9)),
    ),
    max_size=25,
)


def apply(store: Store, pid: int, edit: tuple[Any, ...]) -> None:
    """One edit in plain SQL, on the nth run (of those there are) where it names one."""
    with store.write() as s:
        runs = list(s.execute(select(RUN.c.id).order_by(RUN.c.id)).scalars())
        kind, *args = edit
        if kind == "new":
            number = (max(runs) if runs else 0) + 1
            row = {"pipeline_id": pid, "number": number, "name": args[0], "user": args[1]}
            row |= {"version": "1", "status": "pending", "queue": "q", "created": AT}
            s.execute(insert(RUN).values(updated=AT, archived=False, attempt=1, **row))
            return
        if not runs:
            return
        run = runs[args[0] % len(runs)]
        if kind == "tag":
            s.execute(TAG.delete().where(TAG.c.run_id == run, TAG.c.tag == args[1]))
            s.execute(insert(TAG).values(run_id=run, tag=args[1]))
        elif kind == "untag":
            tags = sorted(s.execute(select(TAG.c.tag).where(TAG.c.run_id == run)).scalars())
            if tags:
                s.execute(
                    delete(TAG).where(TAG.c.run_id == run, TAG.c.tag == tags[args[1] % len(tags)])
                )
        elif kind == "param":
            key, value = args[1], args[2]
            where = (PARAM.c.run_id == run, PARAM.c.key == key)
            if s.execute(select(PARAM.c.key).where(*where)).first() is None:
                s.execute(insert(PARAM).values(run_id=run, key=key, value=value, num=None))
            else:
                s.execute(update(PARAM).where(*where).values(value=value))
        elif kind == "unparam":
            s.execute(delete(PARAM).where(PARAM.c.run_id == run, PARAM.c.key == args[1]))
        elif kind in ("rename", "user"):
            column = "name" if kind == "rename" else "user"
            s.execute(update(RUN).where(RUN.c.id == run).values({column: args[1]}))
        else:
            s.execute(delete(TAG).where(TAG.c.run_id == run))
            s.execute(delete(PARAM).where(PARAM.c.run_id == run))
            s.execute(delete(RUN).where(RUN.c.id == run))


def texts_of(store: Store) -> dict[int, list[str]]:
    """Each run's searched texts, read from the tables themselves."""
    with store.read() as s:
        out = {i: [n, u] for i, n, u in s.execute(select(RUN.c.id, RUN.c.name, RUN.c.user))}
        for i, t in s.execute(select(TAG.c.run_id, TAG.c.tag)):
            out[i].append(t)
        for i, v in s.execute(select(PARAM.c.run_id, PARAM.c.value)):
            out[i].append(v)
    return out


def check_index(store: Store, pid: int, needles: list[str]) -> None:
    texts = texts_of(store)
    with store.read() as s:
        rows = {i: t for i, t in s.execute(select(SEARCH.c.run_id, SEARCH.c.text))}
        if store.is_sqlite:  # the FTS5 index against its content table, row for row
            s.connection().exec_driver_sql(
                "INSERT INTO runsearch_fts (runsearch_fts, rank) VALUES ('integrity-check', 1)"
            )
    assert {i: sorted(t.split(SEP)) for i, t in rows.items()} == {
        i: sorted(ascii_lower(t) for t in ts) for i, ts in texts.items()
    }
    for needle in needles:
        n = ascii_lower(needle.strip())
        want = {i for i, ts in texts.items() if n and any(n in ascii_lower(t) for t in ts)}
        if n.isdigit() or (n.startswith("#") and n[1:].isdigit()):
            continue  # numbers are the property tests' (test_query_props)
        assert found(store, needle, pid) == (want if n else set(texts))


def _pipeline(store: Store) -> int:
    with store.write() as s:
        s.execute(delete(PIPELINE))
        s.execute(
            insert(PIPELINE).values(
                id=1,
                name="p",
                version="1",
                queue="q",
                path="",
                definition="{}",
                created=AT,
                updated=AT,
            )
        )
    return 1


def _random_edits(store: Store, steps: list[tuple[Any, ...]], needles: list[str]) -> None:
    with store.write() as s:
        for table in (TAG, PARAM, RUN):
            s.execute(delete(table))
    pid = _pipeline(store)
    for step in steps:
        apply(store, pid, step)
    check_index(store, pid, needles)


@props(60)
@given(steps=edits, needles=st.lists(TEXTS, max_size=4))
def test_random_edits_keep_the_index_true(
    store: Store, steps: list[tuple[Any, ...]], needles: list[str]
) -> None:
    _random_edits(store, steps, needles)


@pytest.mark.postgres
@props(25)
@given(steps=edits, needles=st.lists(TEXTS, max_size=4))
def test_random_edits_keep_the_index_true_postgres(
    pg_store: Store, steps: list[tuple[Any, ...]], needles: list[str]
) -> None:
    _random_edits(pg_store, steps, needles)


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    store = open_store(pg_url)
    yield store
    store.dispose()


# ---------------------------------------------------------------- install


def test_install_fills_the_index_from_runs_already_there(
    any_store: Store, pipeline_file: Path
) -> None:
    store = any_store
    pid = register(store, pipeline_file).id
    with store.write() as s:
        search_index.uninstall(s.connection())
    plain = Store(store.url, store.engine)  # a Store learns what its database has once
    assert search_index.kind(plain) is Kind.NONE
    r1 = ops.new_run(plain, "simple", {"name": "Mercury"}, tags=["alpha"], user="zed").id
    r2 = ops.new_run(plain, "simple", {"name": "venus"}, user="amy").id
    assert found(plain, "mercury") == {r1}  # no index: the scan, same results
    assert found(plain, "simple #", pid) == {r1, r2}
    with store.write() as s:
        made = search_index.install(s.connection())
    assert made is (Kind.FTS if store.is_sqlite else Kind.TRGM)
    indexed = Store(store.url, store.engine)
    assert search_index.kind(indexed) is made
    assert found(indexed, "mercury") == {r1}
    assert found(indexed, "ALPHA") == {r1}
    assert found(indexed, "simple #", pid) == {r1, r2}
    assert found(indexed, "venu") == {r2}


def test_without_fts5_search_scans_the_table(tmp_path: Path, pipeline_file: Path) -> None:
    """A SQLite without FTS5 (simulated: the module is unknown) gets the table and its
    triggers all the same, and search scans it."""
    store = open_store(str(tmp_path / "runs.db"))
    register(store, pipeline_file)
    with store.write() as s:
        search_index.uninstall(s.connection())
    no_fts = ["CREATE VIRTUAL TABLE runsearch_fts USING no_such_module(text)"]
    with mock.patch.object(search_index, "_SQLITE_FTS", no_fts), store.write() as s:
        assert search_index.install(s.connection()) is Kind.SCAN
    scan = Store(store.url, store.engine)
    assert search_index.kind(scan) is Kind.SCAN
    r1 = ops.new_run(scan, "simple", {"name": "Mercury"}, tags=["alpha"]).id
    assert found(scan, "mercury") == {r1}
    assert found(scan, "al") == {r1}
    store.dispose()


def test_install_twice_fails_and_changes_nothing(store: Store) -> None:
    with pytest.raises(DBAPIError), store.write() as s:
        search_index.install(s.connection())
    assert search_index.kind(store) is Kind.FTS


# ---------------------------------------------------------------- plans


def _plans(store: Store, q: RunQuery) -> list[list[str]]:
    """SQLite's plan of each SELECT a window of `q` runs."""
    return plans_of(store, partial(window_ids, store, q, 0, 200))


@pytest.mark.parametrize("sort", [(), (SortKey("m:loss/val:last"),)])
def test_windows_read_the_index_or_walk_with_statistics(
    store: Store, simple: str, db_path: Path, sort: tuple[SortKey, ...]
) -> None:
    """With the statistics of one pipeline of 1M runs: a needle few runs hold is read
    from the FTS5 index and nothing is scanned; one many hold (over WALK_ABOVE) walks the
    window's order (the run or the metric index) and looks each run up in runsearch."""
    pid = _fill(store, 3000)
    with sqlite3.connect(db_path) as conn:
        conn.execute("ANALYZE")
        conn.executemany(
            "UPDATE sqlite_stat1 SET stat = ? WHERE idx = ?", [(v, k) for k, v in MILLION.items()]
        )
    rare = RunQuery(pid, search="r2999", sort=sort, at=AT)
    probe, *plans = _plans(store, rare)  # the probe: how many hold it
    assert "SCAN runsearch_fts VIRTUAL TABLE INDEX 0:M1" in probe
    assert plans and all(any("runsearch_fts VIRTUAL TABLE" in s for s in p) for p in plans)
    for plan in plans:
        assert not [s for s in plan if s.startswith("SCAN") and "runsearch_fts" not in s], plan
        assert not any("ix_metric_sort" in s or "ix_run_window" in s for s in plan), plan
    assert window_ids(store, rare) == [3000]  # "r2999" is run number 3000's name
    with mock.patch.object(query, "WALK_ABOVE", 100):
        common = RunQuery(pid, search="R1", sort=sort, at=AT)  # 1111 runs' names
        plans = _plans(store, common)[1:]  # after the probe of the index
        walked = "ix_metric_sort" if sort else "ix_run_window"
        assert plans and all(any(walked in s for s in p) for p in plans), plans
        assert all(any("runsearch USING INTEGER PRIMARY KEY" in s for s in p) for p in plans)
        assert len(window_ids(store, common)) == 200


def test_a_searchs_count_looks_no_match_up_in_run(any_store: Store, pipeline_file: Path) -> None:
    """The exact count of a needle many runs hold reads few runs one by one: the query's
    part when it is few (each run's text tested), else, with few runs outside it, every
    match in the index less those outside that hold it. Each match looked up in `run`
    (80% of the count at 1M runs) is what is left when both are many."""
    store = any_store
    register(store, pipeline_file)
    pid = _fill(store, 3000)  # and one more run, archived: the part outside the query
    made = ops.new_run(store, "simple", user="r1-user")
    ops.archive(store, [made.id])
    with store.connect() as c:
        c.execute(text("ANALYZE"))
        c.commit()
    lookups = ("SEARCH run USING INTEGER PRIMARY KEY", "Index Scan using run_pkey")

    def plan(needle: str, held: int) -> list[str]:
        q = RunQuery(pid, search=needle, at=AT)
        *_probes, counted = plans_of(store, partial(count, store, q))
        assert count(store, q) == held == len(ids(store, q))
        return counted

    # the runs named r1, r10..r19, r100..r1999; r10, r100..r109, r1000..r1099 (trigrams)
    for needle, held in (("r1", 1111), ("r10", 111)):
        walked = plan(needle, held)  # 3000 runs in the part
        assert any("runsearch USING INTEGER PRIMARY KEY" in s for s in walked) or not (
            store.is_sqlite
        ), walked
        with mock.patch.object(counts, "WALK_PART", 2999):
            counted = plan(needle, held)
        assert not any(a in s for s in counted for a in lookups), counted
        assert not any("SCAN run " in f"{s} " or "Seq Scan on run " in s for s in counted)
        with mock.patch.multiple(counts, WALK_PART=2999, OUTSIDE=0):  # the archived run
            looked_up = plan(needle, held)
        assert any(a in s for s in looked_up for a in lookups) or not store.is_sqlite, looked_up
