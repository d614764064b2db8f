"""The query API against a brute-force filter and sort written here in plain Python.

Random runs (statuses, users, tags with %, _ and \\, metrics, numeric and text
parameters under the same key, missing values everywhere) go into a real SQLite
file; random RunQuery objects go through count, ids, window_ids and window; the
answers must equal what the documented semantics say, row for row and in order:

- missing values (no metric, no parameter, not started, no tags) sort last in both
  directions;
- a parameter sorts numeric values (by number, then by text) before text values
  (by text, code-point order);
- `tags` sorts by a run's smallest tag; `run_time` is ran + (finished or at) - started;
- ties fall back to the run number descending, then the id descending;
- search is a substring match that folds ASCII letters only, over the run's name,
  user, tags and parameter values; digits or `#digits` also match the run number.

Search is checked through the search index (SQLite FTS5 trigram, PostgreSQL pg_trgm) with
needles cut from the runs' own texts, both ways a window can read it (from the index, or
walking the order and testing each run: `query.WALK_ABOVE`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy import insert as sa_insert
from sqlmodel import SQLModel
from support import props

from runs_tui.core import counts, query
from runs_tui.core.columns import AGGS
from runs_tui.core.counts import count, count_at_most
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import Metric, Pipeline, Run, RunParam, RunTag
from runs_tui.core.ops import param_row
from runs_tui.core.query import ids, window, window_ids
from runs_tui.core.records import RangeFilter, RunQuery, SortKey, TagFilter, ValueFilter

BASE = 1_764_000_000.0
AT = BASE + 2_000.0  # the fixed clock of every query

STATUSES = ("pending", "running", "completed", "failed", "aborted")
STATUS_WORDS = (*STATUSES, "Failed", "ABORTED", " Running ")
USERS = ("alice", "Alice", "bob", "Zoë", "ÉMILE", "x_y", "50%", "back\\slash")
VERSIONS = ("1.0.0", "1.10.0", "1.2.0", "2.0", "")
QUEUES = ("default", "gpu", "Gpu", "cpu-ß")
NAMES = ("", "baseline", "Sweep_1", "tëst 3", "100% done", "ÉCOLE Straße", "x\x1fy")
TAGS = ("a", "B", "b", "ab", "é", "É", "50%", "5_0", "500", "a\\b", "x y", "日本", "zz", "#3")
METRICS = (("loss", "val"), ("loss", "train"), ("acc", "acc"))
METRIC_SPECS = tuple(
    f"m:{t}:{agg}" if t == s else f"m:{t}/{s}:{agg}" for t, s in METRICS for agg in AGGS
)
PARAM_KEYS = ("args/lr", "args/opt", "args/n")
PARAM_SPECS = (*(f"p:{k}" for k in PARAM_KEYS), "p:args/none")
PARAM_TEXTS = ("adam", "Adam", "sgd", "10", "2", "1e-3", "", "a%b", "x_y", "ü", "Ü", "a\\b")
BUILTIN = ("run", "version", "tags", "status", "user", "started", "updated", "run_time", "queue")
SORT_COLUMNS = BUILTIN + METRIC_SPECS + PARAM_SPECS

# ---------------------------------------------------------------- the model


@dataclass
class R:
    """One run as the brute force sees it."""

    id: int
    pipeline_id: int
    number: int
    name: str
    version: str
    status: str
    user: str
    queue: str
    started: float | None
    updated: float
    finished: float | None
    archived: bool
    ran: float = 0.0  # what earlier attempts ran
    tags: frozenset[str] = frozenset()
    # (last, min, max, min_step, max_step)
    metrics: dict[tuple[str, str], tuple[float, float, float, int | None, int | None]] = field(
        default_factory=dict
    )
    raw_params: dict[str, Any] = field(default_factory=dict)
    # key -> (text, num) as stored; filled from ops.param_row, the production path
    params: dict[str, tuple[str, float | None]] = field(default_factory=dict)

    def run_time(self, at: float) -> float | None:
        if self.started is None:
            return self.ran or None
        return self.ran + (self.finished if self.finished is not None else at) - self.started


def insert(store: Store, runs: Sequence[R], pipeline_ids: Iterable[int] = (1, 2)) -> None:
    """Replace the store's contents with `runs` (and their pipelines).

    Rows are built as models and written with one executemany per table: an example
    must be cheap, or hypothesis spends minutes shrinking a failure."""
    pipelines = [
        Pipeline(id=pid, name=f"pipe{pid}", version="1", queue="q", created=0, updated=0)
        for pid in pipeline_ids
    ]
    run_rows: list[SQLModel] = []
    tag_rows: list[SQLModel] = []
    metric_rows: list[SQLModel] = []
    param_rows: list[SQLModel] = []
    for r in runs:
        run_rows.append(
            Run(
                id=r.id,
                pipeline_id=r.pipeline_id,
                number=r.number,
                name=r.name,
                version=r.version,
                status=r.status,
                user=r.user,
                queue=r.queue,
                created=BASE,
                started=r.started,
                updated=r.updated,
                finished=r.finished,
                archived=r.archived,
                ran=r.ran,
            )
        )
        tag_rows.extend(RunTag(run_id=r.id, tag=t) for t in sorted(r.tags))
        for (title, series), (last, lo, hi, lo_step, hi_step) in r.metrics.items():
            metric_rows.append(
                Metric(
                    run_id=r.id,
                    title=title,
                    series=series,
                    last=last,
                    min=lo,
                    max=hi,
                    min_step=lo_step,
                    max_step=hi_step,
                    updated=r.updated,
                )
            )
        r.params = {}
        for key, value in r.raw_params.items():
            row = param_row(r.id, key, value)
            r.params[key] = (row.value, row.num)
            param_rows.append(row)
    with store.write() as session:
        for model in (RunTag, Metric, RunParam, Run, Pipeline):
            session.execute(delete(model))
        for model, rows in (
            (Pipeline, pipelines),
            (Run, run_rows),
            (RunTag, tag_rows),
            (Metric, metric_rows),
            (RunParam, param_rows),
        ):
            if rows:
                session.execute(sa_insert(model), [row.model_dump() for row in rows])


# ---------------------------------------------------------------- brute force


def fold(text: str) -> str:
    """ASCII letters to lower case; everything else as it is."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def as_number(text: str) -> int | None:
    if text and all("0" <= c <= "9" for c in text):
        return int(text)
    return None


def in_range(value: float | None, lo: float | None, hi: float | None) -> bool:
    return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)


def metric_of(r: R, spec: str) -> float | None:
    body, _, agg = spec[2:].rpartition(":")
    title, _, series = body.partition("/")
    got = r.metrics.get((title, series or title))
    return None if got is None else got[AGGS.index(agg)]


def builtin_value(r: R, name: str, at: float) -> Any:
    if name == "run":
        return r.number
    if name == "run_time":
        return r.run_time(at)
    if name == "tags":
        return min(r.tags) if r.tags else None
    return getattr(r, name)


def passes_filter(r: R, flt: ValueFilter | RangeFilter, at: float) -> bool:
    col = flt.column
    if isinstance(flt, ValueFilter):
        if col.startswith("p:"):
            return col[2:] in r.params and r.params[col[2:]][0] in flt.values
        if col == "tags":
            return bool(r.tags & flt.values)
        if col == "run":
            return r.number in {as_number(v.lstrip("#")) for v in flt.values}
        if col == "status":
            return r.status in {v.strip().lower() for v in flt.values}
        return getattr(r, col) in flt.values
    if col.startswith("m:"):
        return in_range(metric_of(r, col), flt.lo, flt.hi)
    if col.startswith("p:"):
        got = r.params.get(col[2:])
        return got is not None and in_range(got[1], flt.lo, flt.hi)
    return in_range(builtin_value(r, col, at), flt.lo, flt.hi)


def passes_tags(r: R, tags: TagFilter) -> bool:
    if tags.include:
        if tags.mode == "all" and not tags.include <= r.tags:
            return False
        if tags.mode != "all" and not tags.include & r.tags:
            return False
    return not tags.exclude & r.tags


def passes_search(r: R, search: str) -> bool:
    needle = search.strip()
    if not needle:
        return True
    n = fold(needle)
    texts = [r.name, r.user, *r.tags, *(text for text, _ in r.params.values())]
    if any(n in fold(t) for t in texts):
        return True
    return as_number(needle.removeprefix("#")) == r.number


def matches(r: R, q: RunQuery) -> bool:
    at = q.at
    assert at is not None
    return (
        r.archived == q.archived
        and (q.pipeline_id is None or r.pipeline_id == q.pipeline_id)
        and all(passes_filter(r, f, at) for f in q.filters)
        and (q.tags is None or passes_tags(r, q.tags))
        and passes_search(r, q.search)
    )


def cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def cmp_present(a: Any, b: Any, desc: bool) -> int:
    """Missing (None) last whatever the direction; otherwise by value in `desc`."""
    if a is None or b is None:
        return cmp(a is None, b is None)
    return -cmp(a, b) if desc else cmp(a, b)


def cmp_param(
    a: tuple[str, float | None] | None, b: tuple[str, float | None] | None, desc: bool
) -> int:
    if a is None or b is None:
        return cmp(a is None, b is None)
    (ta, na), (tb, nb) = a, b
    if (na is None) != (nb is None):
        return cmp(na is None, nb is None)  # numbers first, in both directions
    sign = -1 if desc else 1
    if na is not None and nb is not None and na != nb:
        return sign * cmp(na, nb)
    return sign * cmp(ta, tb)


def sort_value(r: R, column: str, at: float) -> Any:
    if column.startswith("m:"):
        return metric_of(r, column)
    if column.startswith("p:"):
        return r.params.get(column[2:])
    return builtin_value(r, column, at)


def expected_order(runs: Sequence[R], q: RunQuery) -> list[int]:
    at = q.at
    assert at is not None

    def compare(a: R, b: R) -> int:
        for key in q.sort:
            va, vb = sort_value(a, key.column, at), sort_value(b, key.column, at)
            if key.column.startswith("p:"):
                c = cmp_param(va, vb, key.desc)
            else:
                c = cmp_present(va, vb, key.desc)
            if c:
                return c
        return -cmp((a.number, a.id), (b.number, b.id))

    kept = [r for r in runs if matches(r, q)]
    return [r.id for r in sorted(kept, key=functools.cmp_to_key(compare))]


def check(store: Store, runs: Sequence[R], q: RunQuery, offset: int, limit: int) -> None:
    order = expected_order(runs, q)
    event(f"result size: {min(len(order), 10) // 3 * 3}+ rows")
    assert count(store, q) == len(order)
    for bound in {1, 2, len(order) or 1, len(order) + 1}:  # the status line's first count
        n = count_at_most(store, q, bound)
        assert n == len(order) if len(order) < bound else bound <= n <= len(order)
    got_ids = ids(store, q)
    assert len(got_ids) == len(set(got_ids))
    assert set(got_ids) == set(order)
    assert window_ids(store, q, 0, len(runs) + 1) == order
    assert window_ids(store, q, offset, limit) == order[offset : offset + limit]
    by_id = {r.id: r for r in runs}
    rows = window(store, q, offset, limit)
    assert [row.id for row in rows] == order[offset : offset + limit]
    for row in rows:
        r = by_id[row.id]
        assert row.tags == tuple(sorted(r.tags))
        assert row.params == {k: text for k, (text, _) in r.params.items()}
        assert {
            k: (m.last, m.min, m.max, m.min_step, m.max_step) for k, m in row.metrics.items()
        } == r.metrics
        assert row.run_time(AT) == r.run_time(AT)


# ---------------------------------------------------------------- strategies

metric_values = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0, 3.0]),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([float("inf"), float("-inf")]),
)
param_values = st.one_of(
    st.sampled_from([0, 1, 2, 10, -1, 1.0, 0.5, 1e-3, 2.5, True, False, float("inf")]),
    st.integers(-50, 50),
    st.floats(-100, 100, allow_nan=False),
    st.sampled_from(PARAM_TEXTS),
)
times = st.one_of(
    st.sampled_from([BASE, BASE + 100.0, BASE + 1000.5]),
    st.integers(0, 4_400).map(lambda k: BASE + k * 0.5),
)


steps = st.none() | st.sampled_from([0, 1, 100]) | st.integers(-5, 2**31 - 1)
often = st.integers(0, 3).map(bool)  # True 3 times in 4: most runs have each metric


@st.composite
def datasets(draw: st.DrawFn) -> list[R]:
    n = draw(st.integers(0, 40) | st.integers(15, 40))
    pipes = draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n))
    run_ids = draw(st.permutations(range(1, n + 1)))
    numbers: dict[int, list[int]] = {}
    for pid in (1, 2):
        k = pipes.count(pid)
        numbers[pid] = draw(st.lists(st.integers(1, 50), min_size=k, max_size=k, unique=True))
    runs = []
    for i, (pid, run_id) in enumerate(zip(pipes, run_ids, strict=True)):
        number = numbers[pid][pipes[:i].count(pid)]
        started = draw(st.none() | times)
        finished = draw(st.none() | times)
        runs.append(
            R(
                id=run_id,
                pipeline_id=pid,
                number=number,
                name=draw(st.sampled_from(NAMES)),
                version=draw(st.sampled_from(VERSIONS)),
                status=draw(st.sampled_from(STATUSES)),
                user=draw(st.sampled_from(USERS)),
                queue=draw(st.sampled_from(QUEUES)),
                started=started,
                updated=draw(times),
                finished=finished,
                archived=draw(st.booleans()),
                ran=draw(st.sampled_from([0.0, 0.0, 30.0, 3600.0])),
                tags=draw(st.frozensets(st.sampled_from(TAGS), max_size=3)),
                metrics={
                    m: draw(st.tuples(metric_values, metric_values, metric_values, steps, steps))
                    for m in METRICS
                    if draw(often)
                },
                raw_params={k: draw(param_values) for k in PARAM_KEYS if draw(often)},
            )
        )
    return runs


def bounds(
    values: st.SearchStrategy[float],
) -> st.SearchStrategy[tuple[float | None, float | None]]:
    """Open or closed bounds; when both are set, mostly in order (lo > hi is empty)."""
    pair = st.tuples(st.none() | values, st.none() | values)
    ordered = pair.map(lambda b: b if None in b else (min(b), max(b)))  # type: ignore[type-var]
    return st.one_of(ordered, ordered, ordered, pair)


def range_filter(column: str, values: st.SearchStrategy[float]) -> st.SearchStrategy[RangeFilter]:
    return bounds(values).map(lambda b: RangeFilter(column, b[0], b[1]))


def value_sets(values: st.SearchStrategy[str]) -> st.SearchStrategy[frozenset[str]]:
    """Mostly non-empty sets (an empty one matches nothing, so it is drawn rarely)."""
    some = st.frozensets(values, min_size=1, max_size=4)
    return st.one_of(some, some, some, st.just(frozenset()))


def value_filter(column: str, values: Sequence[str]) -> st.SearchStrategy[ValueFilter]:
    return value_sets(st.sampled_from(values)).map(lambda vs: ValueFilter(column, vs))


PARAM_SHOWN = ("0", "1", "1.0", "2", "10", "-1", "0.5", "0.001", "true", "false", *PARAM_TEXTS)
RUN_WORDS = ("1", "#2", "03", "7", "#12", "x", "", "#", "99999999999999999999", "²", "٣")

filters = st.one_of(
    value_filter("status", STATUS_WORDS),
    value_filter("user", (*USERS, "nobody")),
    value_filter("version", VERSIONS),
    value_filter("queue", QUEUES),
    value_filter("tags", (*TAGS, "nope")),
    st.sampled_from(PARAM_SPECS).flatmap(lambda c: value_filter(c, PARAM_SHOWN)),
    value_sets(st.sampled_from(RUN_WORDS) | st.integers(1, 50).map(str)).map(
        lambda vs: ValueFilter("run", vs)
    ),
    st.sampled_from(METRIC_SPECS).flatmap(
        lambda c: range_filter(
            c, steps.filter(lambda v: v is not None).map(float) if "@" in c else metric_values
        )
    ),
    st.sampled_from(PARAM_SPECS).flatmap(
        lambda c: range_filter(c, param_values.filter(lambda v: not isinstance(v, str)).map(float))
    ),
    range_filter("run", st.integers(0, 51).map(float) | st.floats(0, 51)),
    range_filter("run_time", st.sampled_from([0.0, 100.0, 1000.5]) | st.floats(-2500, 2500)),
    range_filter("started", times),
    range_filter("updated", times),
)

tag_filters = st.builds(
    TagFilter,
    st.frozensets(st.sampled_from(TAGS), max_size=3),
    st.frozensets(st.sampled_from(TAGS), max_size=2),
    st.sampled_from(["any", "all"]),
)

SEARCH_ALPHABET = "aAbBzZ%_\\éÉ#0123 x日"
searches = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            "%",
            "_",
            "\\",
            "0%",
            "5_",
            "a\\b",
            "É",
            "é",
            "ZOË",
            "zo",
            "ALICE",
            "#3",
            "3",
            " 12 ",
            "#",
            "Sweep_1",
            "ADAM",
            "1e-3",
            "日本",
            "99999999999999999999",
            "²",
            "\x1f",
            "x\x1fy",
            "école",
            "ÉCOLE",
            "LE STR",
            "straße",
            "STRASSE",
            "baselinealice",
        ]
    ),
    st.text(SEARCH_ALPHABET, max_size=3),
)

sort_keys = st.lists(
    st.builds(SortKey, st.sampled_from(SORT_COLUMNS), st.booleans()), min_size=0, max_size=3
)


@st.composite
def run_queries(draw: st.DrawFn) -> tuple[RunQuery, int, int]:
    q = RunQuery(
        pipeline_id=draw(st.sampled_from([None, None, None, 1, 2, 99])),
        filters=tuple(draw(st.one_of(st.just([]), st.lists(filters, min_size=1, max_size=2)))),
        tags=draw(st.none() | tag_filters),
        search=draw(st.just("") | searches),
        sort=tuple(draw(sort_keys)),
        archived=draw(st.booleans()),
        at=AT,
    )
    return q, draw(st.integers(0, 42)), draw(st.integers(0, 42))


# ---------------------------------------------------------------- properties


@props(120)
@given(runs=datasets(), queries=st.lists(run_queries(), min_size=1, max_size=6))
def test_query_matches_brute_force(
    store: Store, runs: list[R], queries: list[tuple[RunQuery, int, int]]
) -> None:
    insert(store, runs)
    for q, offset, limit in queries:
        check(store, runs, q, offset, limit)


@pytest.mark.postgres
@props(60)
@given(
    runs=datasets(),
    queries=st.lists(run_queries(), min_size=1, max_size=4),
    needles=st.lists(searches, max_size=4),
)
def test_query_matches_brute_force_postgres(
    pg_url: str, runs: list[R], queries: list[tuple[RunQuery, int, int]], needles: list[str]
) -> None:
    """The same on PostgreSQL (RUNS_TUI_TEST_PG_URL): text compares by code point there
    too, and search folds ASCII letters only (PostgreSQL's lower() folds more)."""
    store = open_store(pg_url)
    try:
        insert(store, runs)
        for q, offset, limit in queries:
            check(store, runs, q, offset, limit)
        for needle in needles:
            check(store, runs, RunQuery(None, search=needle, at=AT), 0, 200)
    finally:
        store.dispose()


@props(50)
@given(
    runs=datasets(),
    queries=st.lists(
        st.tuples(
            st.lists(
                st.builds(SortKey, st.sampled_from(SORT_COLUMNS), st.booleans()),
                min_size=1,
                max_size=3,
            ),
            st.booleans(),
            st.integers(1, 9),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_sort_only_matches_brute_force(
    store: Store, runs: list[R], queries: list[tuple[list[SortKey], bool, int]]
) -> None:
    """Sorting alone, over every run of both pipelines, so that every row's place counts;
    then the whole result page by page, as the table loads it."""
    insert(store, runs)
    for keys, archived, page in queries:
        q = RunQuery(None, sort=tuple(keys), archived=archived, at=AT)
        check(store, runs, q, 0, 200)
        order = expected_order(runs, q)
        pages = [window_ids(store, q, start, page) for start in range(0, len(order) + 1, page)]
        assert [i for p in pages for i in p] == order


@props(80)
@given(runs=datasets(), flts=st.lists(filters | tag_filters, min_size=1, max_size=6))
def test_one_filter_matches_brute_force(
    store: Store, runs: list[R], flts: list[ValueFilter | RangeFilter | TagFilter]
) -> None:
    """One filter at a time over both pipelines, so that most results are not empty."""
    insert(store, runs)
    for flt in flts:
        for archived in (False, True):
            if isinstance(flt, TagFilter):
                q = RunQuery(None, tags=flt, archived=archived, at=AT)
            else:
                q = RunQuery(None, (flt,), archived=archived, at=AT)
            check(store, runs, q, 0, 200)


def texts(runs: Sequence[R]) -> list[str]:
    """Every text search looks in (after `insert`, which fills `params`)."""
    found = {t for r in runs for t in (r.name, r.user, *r.tags, *(v for v, _ in r.params.values()))}
    return sorted(found - {""})


@st.composite
def pieces(draw: st.DrawFn, runs: Sequence[R]) -> str:
    """A needle cut from the runs' own texts (the trigram index finds 3 characters or
    more), its case sometimes changed, sometimes running on into another text (which no
    run holds unless one text holds both)."""
    pool = texts(runs) or ["none"]
    text = draw(st.sampled_from(pool))
    start = draw(st.integers(0, len(text) - 1))
    piece = text[start : draw(st.integers(start + 1, len(text)))]
    piece = draw(st.sampled_from([piece, piece, piece.upper(), piece.lower(), piece.swapcase()]))
    if draw(st.integers(0, 4)) == 0:
        piece += draw(st.sampled_from(pool))
    return piece


def search_queries(needle: str, sort: Sequence[SortKey]) -> list[RunQuery]:
    return [
        RunQuery(None, search=needle, at=AT),
        RunQuery(None, search=needle, archived=True, at=AT),
        RunQuery(1, search=needle, sort=tuple(sort), at=AT),
    ]


# (counts.WALK_PART, counts.OUTSIDE): each run of the part tested; every match less
# those outside (the query narrowed by its search alone); each match looked up
COUNT_WAYS = ((10_000, 10_000), (-1, 10**9), (-1, -1))


def check_counts(store: Store, runs: Sequence[R], needle: str, sort: Sequence[SortKey]) -> None:
    """The search's exact count the ways `check` does not take (it counts the first),
    and every way for pipeline 2's archived runs (outside them: runs of a pipeline before
    theirs, and their unarchived ones)."""
    theirs = RunQuery(2, search=needle, archived=True, at=AT)
    for i, (part, outside) in enumerate(COUNT_WAYS):
        with mock.patch.multiple(counts, WALK_PART=part, OUTSIDE=outside):
            for q in [*(search_queries(needle, sort) if i else []), theirs]:
                assert count(store, q) == len(expected_order(runs, q))


@props(50)
@given(
    runs=datasets(),
    needles=st.lists(searches, min_size=1, max_size=4),
    sort=sort_keys,
    data=st.data(),
)
def test_search_matches_brute_force(
    store: Store, runs: list[R], needles: list[str], sort: list[SortKey], data: st.DataObject
) -> None:
    insert(store, runs)
    needles += data.draw(st.lists(pieces(runs), min_size=1, max_size=4))
    for needle in needles:
        for walk_above in (query.WALK_ABOVE, 0):  # read from the index, walk the order
            with mock.patch.object(query, "WALK_ABOVE", walk_above):
                for q in search_queries(needle, sort):
                    check(store, runs, q, 0, 200)
        check_counts(store, runs, needle, sort)


@pytest.mark.postgres
@props(30)
@given(
    runs=datasets(),
    needles=st.lists(searches, min_size=1, max_size=4),
    sort=sort_keys,
    data=st.data(),
)
def test_search_matches_brute_force_postgres(
    pg_url: str, runs: list[R], needles: list[str], sort: list[SortKey], data: st.DataObject
) -> None:
    """The same through pg_trgm (the planner chooses how to read the index)."""
    store = open_store(pg_url)
    try:
        insert(store, runs)
        needles += data.draw(st.lists(pieces(runs), min_size=1, max_size=4))
        for needle in needles:
            for q in search_queries(needle, sort):
                check(store, runs, q, 0, 200)
            check_counts(store, runs, needle, sort)
    finally:
        store.dispose()


# ---------------------------------------------------------------- examples


def make(run_id: int, **kw: Any) -> R:
    base: dict[str, Any] = dict(
        id=run_id,
        pipeline_id=1,
        number=run_id,
        name="",
        version="1",
        status="completed",
        user="u",
        queue="default",
        started=None,
        updated=BASE,
        finished=None,
        archived=False,
    )
    base.update(kw)
    return R(**base)


def found(store: Store, q: RunQuery) -> list[int]:
    return window_ids(store, q, 0, 1000)


def test_search_escapes_like_wildcards(store: Store) -> None:
    runs = [
        make(1, tags=frozenset({"50%"})),
        make(2, tags=frozenset({"5_0"})),
        make(3, tags=frozenset({"500"})),
        make(4, tags=frozenset({"a\\b"})),
        make(5, tags=frozenset({"ab"})),
        make(6, raw_params={"args/x": "100% off"}),
    ]
    insert(store, runs)

    def search(text: str) -> set[int]:
        return set(found(store, RunQuery(1, search=text, at=AT)))

    assert search("%") == {1, 6}
    assert search("0%") == {1, 6}
    assert search("_") == {2}
    assert search("5_0") == {2}
    assert search("\\") == {4}
    assert search("a\\b") == {4}
    assert search("a%b") == set()
    assert search("a_") == set()
    assert search("50") == {1, 3}


def test_search_folds_ascii_only_and_matches_run_numbers(store: Store) -> None:
    runs = [
        make(1, user="Zoë"),
        make(2, tags=frozenset({"É"})),
        make(3, name="BASELINE"),
        make(12, tags=frozenset({"x"})),
    ]
    insert(store, runs)

    def search(text: str) -> set[int]:
        return set(found(store, RunQuery(1, search=text, at=AT)))

    assert search("zo") == {1}
    assert search("ZOË") == set()  # Ë is not folded (SQLite's lower() is ASCII only)
    assert search("É") == {2}
    assert search("é") == set()
    assert search("baseline") == {3}
    assert search("3") == {3}
    assert search("#3") == {3}
    assert search(" #12 ") == {12}
    assert search("1") == {1}  # the number matches whole, not as a substring


def test_run_value_filter_takes_hash_numbers_and_ignores_junk(store: Store) -> None:
    insert(store, [make(n) for n in (1, 2, 3, 12)])

    def only(*values: str) -> set[int]:
        return set(found(store, RunQuery(1, (ValueFilter("run", frozenset(values)),), at=AT)))

    assert only("#3") == {3}
    assert only("3", "#12") == {3, 12}
    assert only("x", "²", "99999999999999999999") == set()
    assert set(found(store, RunQuery(1, search="99999999999999999999", at=AT))) == set()
    assert set(found(store, RunQuery(1, search="²", at=AT))) == set()


def test_not_tags_keep_untagged_runs(store: Store) -> None:
    runs = [
        make(1),
        make(2, tags=frozenset({"bad"})),
        make(3, tags=frozenset({"bad", "good"})),
        make(4, tags=frozenset({"good"})),
    ]
    insert(store, runs)

    def tagged(tags: TagFilter) -> list[int]:
        return found(store, RunQuery(1, tags=tags, at=AT))

    assert tagged(TagFilter(exclude=frozenset({"bad"}))) == [4, 1]
    assert tagged(TagFilter(frozenset({"good"}), frozenset({"bad"}))) == [4]
    assert tagged(TagFilter(frozenset({"good", "bad"}), mode="any")) == [4, 3, 2]


def test_all_tags_needs_every_tag(store: Store) -> None:
    runs = [
        make(1, tags=frozenset({"a"})),
        make(2, tags=frozenset({"a", "b"})),
        make(3, tags=frozenset({"a", "b", "c"})),
        make(4, tags=frozenset({"b", "c"})),
    ]
    insert(store, runs)

    def tagged(tags: TagFilter) -> list[int]:
        return found(store, RunQuery(1, tags=tags, at=AT))

    assert tagged(TagFilter(frozenset({"a", "b"}), mode="all")) == [3, 2]
    assert tagged(TagFilter(frozenset({"a", "b"}), frozenset({"c"}), mode="all")) == [2]
    assert tagged(TagFilter(frozenset({"a"}), mode="all")) == [3, 2, 1]
    assert tagged(TagFilter(frozenset({"a", "b"}), mode="any")) == [4, 3, 2, 1]


def test_params_sort_numbers_before_text_both_ways(store: Store) -> None:
    values: dict[int, Any] = {1: 10, 2: 2, 3: 1.0, 4: 1, 5: "abc", 6: "10", 7: "Z", 9: -0.5}
    runs = [make(n, raw_params={"args/x": v}) for n, v in values.items()]
    runs.append(make(8))  # no such parameter
    insert(store, runs)

    def by(desc: bool) -> list[int]:
        return found(store, RunQuery(1, sort=(SortKey("p:args/x", desc),), at=AT))

    # numbers by value ("1" and "1.0" tie on 1.0, then by text), then text by code point
    assert by(False) == [9, 4, 3, 2, 1, 6, 7, 5, 8]
    assert by(True) == [1, 2, 3, 4, 9, 5, 7, 6, 8]
    # the numeric range filter sees numbers only; the value filter sees the text
    lr = RunQuery(1, (RangeFilter("p:args/x", 1, 10),), at=AT)
    assert set(found(store, lr)) == {1, 2, 3, 4}
    text = RunQuery(1, (ValueFilter("p:args/x", frozenset({"10", "1"})),), at=AT)
    assert set(found(store, text)) == {1, 4, 6}


def test_missing_values_sort_last_both_ways(store: Store) -> None:
    runs = [
        make(
            1, metrics={("loss", "val"): (0.5, 0.5, 0.5, 1, 1)}, started=BASE, tags=frozenset("b")
        ),
        make(2, started=BASE + 10, finished=BASE + 20),
        make(3, metrics={("loss", "val"): (0.1, 0.1, 0.1, None, 2)}, tags=frozenset({"a", "z"})),
    ]
    insert(store, runs)
    for desc in (False, True):

        def by(column: str, desc: bool = desc) -> list[int]:
            return found(store, RunQuery(1, sort=(SortKey(column, desc),), at=AT))

        assert by("m:loss/val:last") == ([3, 1, 2] if not desc else [1, 3, 2])
        assert by("started") == ([1, 2, 3] if not desc else [2, 1, 3])
        assert by("run_time") == ([2, 1, 3] if not desc else [1, 2, 3])  # 10 s vs AT - BASE
        assert by("tags") == ([3, 1, 2] if not desc else [1, 3, 2])


@pytest.mark.parametrize("desc", [False, True])
def test_ties_fall_back_to_number_then_id(store: Store, desc: bool) -> None:
    runs = [
        make(1, number=5, pipeline_id=1),
        make(2, number=5, pipeline_id=2),
        make(3, number=7, pipeline_id=1),
        make(4, number=1, pipeline_id=2),
    ]
    insert(store, runs)
    got = found(store, RunQuery(None, sort=(SortKey("status", desc),), at=AT))
    assert got == [3, 2, 1, 4]


@pytest.mark.postgres
def test_tags_sort_by_code_point_on_a_locale_database_postgres() -> None:
    """On a database whose collation is not C, a run's smallest tag is still the smallest
    by code point ("Z" < "_" < "a"), not by the locale ("_" < "a" < "Z")."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    admin = os.environ.get("RUNS_TUI_TEST_PG_URL")
    if not admin:
        pytest.skip("RUNS_TUI_TEST_PG_URL is not set")
    name = f"runs_tui_test_icu_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                    "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            )
    except DBAPIError as exc:
        engine.dispose()
        pytest.skip(f"cannot create an ICU database: {exc}")
    try:
        store = open_store(make_url(admin).set(database=name).render_as_string(False))
        runs = [make(1, tags=frozenset({"_"})), make(2, tags=frozenset({"Z", "a"})), make(3)]
        insert(store, runs)
        for desc in (False, True):
            q = RunQuery(1, sort=(SortKey("tags", desc),), at=AT)
            assert window_ids(store, q) == expected_order(runs, q) == ([2, 1, 3], [1, 2, 3])[desc]
        store.dispose()
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
