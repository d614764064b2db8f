"""The `RunSource` contract, run against every source kind in `source_seeds.KINDS`.

Each kind gets the same dataset (`source_seeds.DATA`) written by its own seeder, and
every answer is compared with a brute-force evaluation of that dataset in Python, never
with the implementation. What a source's `capabilities` exclude is skipped, naming why.
Read-only tests share one seeded instance per kind and module; action tests each get a
fresh instance of `source_seeds.ACTION_DATA`.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from source_seeds import (
    ACTION_DATA,
    AT,
    DATA,
    KINDS,
    T0,
    Dataset,
    RunSpec,
    SourceKind,
    expected,
    selected,
)

from runs_tui.core.columns import BUILTIN, Kind, parse_column, parse_columns
from runs_tui.core.export import records_of
from runs_tui.core.records import (
    ColumnChoices,
    EventInfo,
    LogInfo,
    PipelineId,
    RangeFilter,
    RunId,
    RunQuery,
    RunRow,
    SortKey,
    TagFilter,
    ValueFilter,
)
from runs_tui.core.source import LazyRanges, RunSource, SourceError
from runs_tui.core.status import Action, Status
from runs_tui.sources import GROUP, known_schemes, open_source

# ---------------------------------------------------------------- fixtures


@dataclass
class Seeded:
    """A source holding `data`, with the source's id of each run key and back."""

    kind: SourceKind
    url: str
    source: RunSource
    data: Dataset
    ids: dict[str, RunId]

    def __post_init__(self) -> None:
        self.keys = {v: k for k, v in self.ids.items()}
        self.pids: dict[str, PipelineId] = {p.name: p.id for p in self.source.pipelines()}

    def q(self, pipeline: str | None = "train", **kw: object) -> RunQuery:
        pid = None if pipeline is None else self.pids[pipeline]
        return RunQuery(pid, at=AT, **kw)

    def keys_of(self, rows: Sequence[RunRow]) -> list[str]:
        return [self.keys[r.id] for r in rows]

    def rows(self, q: RunQuery) -> list[RunRow]:
        return self.source.window(q, 0, 1000)

    def missing_id(self) -> RunId:
        """An id of the source's kind that no run has."""
        if all(isinstance(i, int) for i in self.ids.values()):
            return max(int(i) for i in self.ids.values()) + 10_000
        return "f" * 32


@pytest.fixture(scope="module", params=[k.param() for k in KINDS])
def kind(request: pytest.FixtureRequest) -> SourceKind:
    return request.param


@pytest.fixture(scope="module")
def seeded(kind: SourceKind, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The main dataset in one instance of the kind, shared by the read-only tests."""
    with kind.instance(tmp_path_factory.mktemp(kind.name)) as url:
        source, ids = kind.seed(url, DATA)
        try:
            yield Seeded(kind, url, source, kind.fit(DATA), ids)
        finally:
            source.close()


@pytest.fixture
def fresh(kind: SourceKind, tmp_path: Path) -> Iterator[Callable[[Dataset], Seeded]]:
    """Seeds a dataset into a fresh instance of the kind, for tests that change runs."""
    n = itertools.count()
    with ExitStack() as stack:

        def make(data: Dataset) -> Seeded:
            folder = tmp_path / f"instance{next(n)}"
            folder.mkdir()
            url = stack.enter_context(kind.instance(folder))
            source, ids = kind.seed(url, data)
            stack.callback(source.close)
            return Seeded(kind, url, source, kind.fit(data), ids)

        yield make


def need_filter(s: Seeded, kind: Kind, spec: str | None = None) -> None:
    column = None if spec is None else parse_column(spec)
    if not s.source.capabilities.can_filter(kind, column):
        pytest.skip(f"{s.kind.name} does not support {kind} filters on {spec or 'any column'}")


def need_sort(s: Seeded, spec: str) -> None:
    column = parse_column(spec)
    if not s.source.capabilities.can_sort(column):
        pytest.skip(f"{s.kind.name} does not support sorting by {column.source} columns")


def need_action(s: Seeded, action: Action) -> None:
    caps = s.source.capabilities
    if not caps.can(action):
        assert caps.why_not(action).strip(), f"{action} unavailable without a reason"
        pytest.skip(f"{s.kind.name} does not support {action}: {caps.why_not(action)}")


def need_report(s: Seeded, what: str) -> None:
    if what not in s.kind.reports:
        pytest.skip(f"{s.kind.name} does not report {what}")


def check_query(s: Seeded, q: RunQuery, pipeline: str | None = "train") -> list[str]:
    """window/count/ids all agree with the model; the window's order too (within one
    pipeline; across pipelines only the set, as run numbers restart per pipeline)."""
    want = expected(s.data, q, pipeline)
    got = s.keys_of(s.rows(q))
    if pipeline is None:
        assert sorted(got) == sorted(want)
    else:
        assert got == want
    assert s.source.count(q) == len(want)
    for bound in {1, len(want) or 1, len(want) + 1}:  # what the status line shows first
        n = s.source.count(q, bound)
        assert n == len(want) if len(want) < bound else bound <= n <= len(want)
    ids = s.source.ids(q)
    assert len(ids) == len(set(ids))
    assert sorted(s.keys[i] for i in ids) == sorted(want)
    return want


# ---------------------------------------------------------------- the registry and errors


def test_known_schemes_include_the_sql_sources() -> None:
    assert {"sqlite", "postgresql"} <= set(known_schemes())


def test_every_entry_point_loads_an_opener() -> None:
    eps = list(entry_points(group=GROUP))
    assert {ep.name for ep in eps} == set(known_schemes())
    for ep in eps:
        assert callable(ep.load()), ep.name


def test_unknown_scheme_names_it_and_the_known_ones() -> None:
    with pytest.raises(SourceError) as info:
        open_source("nosuchscheme://x")
    message = str(info.value)
    assert "nosuchscheme" in message
    for scheme in known_schemes():
        assert scheme in message


@pytest.mark.parametrize("call", ["window", "count"])
def test_a_vanished_instance_raises_source_error(
    fresh: Callable[[Dataset], Seeded], call: str
) -> None:
    s = fresh(ACTION_DATA)
    q = s.q("jobs")
    assert s.source.count(q) == 5
    s.kind.vanish(s.url)
    with pytest.raises(SourceError) as info:
        getattr(s.source, call)(q)
    message = str(info.value)
    assert message.strip()
    assert "\n" not in message
    assert "SELECT" not in message.upper()
    assert not type(info.value).__module__.startswith("sqlalchemy")


# ---------------------------------------------------------------- pipelines


def test_pipelines_count_active_runs_by_status(seeded: Seeded) -> None:
    got = {p.name: {k: n for k, n in p.counts.items() if n} for p in seeded.source.pipelines()}
    want = {
        p.name: dict(Counter(r.status.value for r in seeded.data.of(p.name) if not r.archived))
        for p in seeded.data.pipelines
    }
    assert got == want
    summaries = {p.name: p for p in seeded.source.pipelines()}
    for spec in seeded.data.pipelines:
        assert (summaries[spec.name].version, summaries[spec.name].queue) == (
            spec.version,
            spec.queue,
        )


def test_pipelines_named_at_once_then_counted(seeded: Seeded) -> None:
    """`counted=False` gives the same pipelines; those whose counts it left out say so."""
    quick = seeded.source.pipelines(counted=False)
    full = seeded.source.pipelines()
    assert [(p.id, p.name) for p in quick] == [(p.id, p.name) for p in full]
    assert all(p.counted for p in full)
    for fast, counted in zip(quick, full, strict=True):
        if fast.counted:
            assert fast.counts == counted.counts
        else:
            assert not fast.counts


def test_find_pipeline_by_name_else_the_first(seeded: Seeded) -> None:
    first = min(p.name for p in seeded.data.pipelines)
    pipe, found = seeded.source.find_pipeline("etl")
    assert (pipe and pipe.name, found) == ("etl", True)
    assert pipe.id == seeded.pids["etl"]
    pipe, found = seeded.source.find_pipeline("no-such-pipeline")
    assert (pipe and pipe.name, found) == (first, False)
    pipe, found = seeded.source.find_pipeline(None)
    assert (pipe and pipe.name, found) == (first, True)


def test_pipeline_by_name(seeded: Seeded) -> None:
    pipe = seeded.source.pipeline("train")
    spec = seeded.data.pipeline("train")  # 1.10.0, gpu (as the kind holds them)
    assert (pipe.id, pipe.name, pipe.version, pipe.queue) == (
        seeded.pids["train"],
        "train",
        spec.version,
        spec.queue,
    )
    with pytest.raises(ValueError, match="no-such-pipeline"):
        seeded.source.pipeline("no-such-pipeline")


# ---------------------------------------------------------------- window, count, ids


def check_row(s: Seeded, row: RunRow, run: RunSpec) -> None:
    """A row shows the run as the dataset has it (min and max asked for first from a
    source that reads them on demand)."""
    if isinstance(s.source, LazyRanges):
        s.source.fill_ranges([row], None)
    assert row.id == s.ids[run.key]
    assert row.pipeline == run.pipeline
    assert row.number in (None, run.number)
    got = (row.status, row.archived, row.user, row.queue, row.version)
    assert got == (run.status.value, run.archived, run.user, run.queue, run.version)
    assert (row.started, row.finished) == (run.started, run.finished)
    assert row.run_time(AT) == run.run_time(AT)
    assert row.tags == tuple(sorted(run.tags))
    assert row.params == run.params
    assert {k: (m.last, m.min, m.max) for k, m in row.metrics.items()} == run.metrics


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("pipeline", ["train", "etl", "audit"])
def test_default_order_is_newest_first_with_every_field(
    seeded: Seeded, pipeline: str, archived: bool
) -> None:
    q = seeded.q(pipeline, archived=archived)
    want = check_query(seeded, q, pipeline)
    assert want == [r.key for r in reversed(selected(seeded.data, q, pipeline))]
    for row in seeded.rows(q):
        check_row(seeded, row, seeded.data.run(seeded.keys[row.id]))


@pytest.mark.parametrize("archived", [False, True])
def test_every_pipeline_at_once(seeded: Seeded, archived: bool) -> None:
    check_query(seeded, seeded.q(None, archived=archived), None)


SORT_SPECS = (
    *BUILTIN,
    "m:loss/val:last",
    "m:loss/train:min",
    "m:acc/acc:max",
    "p:args/epochs",
    "p:args/lr",
    "p:args/optimizer",
    "p:data/path",
)


@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("spec", SORT_SPECS)
def test_sort_by_one_column(seeded: Seeded, spec: str, desc: bool) -> None:
    """Missing values last either way; ties newest first."""
    need_sort(seeded, spec)
    check_query(seeded, seeded.q(sort=(SortKey(spec, desc),)))


@pytest.mark.parametrize(
    "keys",
    [
        (SortKey("queue"), SortKey("m:acc/acc:last", desc=True)),
        (SortKey("status", desc=True), SortKey("p:args/epochs")),
        (SortKey("tags"), SortKey("user", desc=True), SortKey("run_time")),
    ],
    ids=["queue,acc-desc", "status-desc,epochs", "tags,user-desc,run_time"],
)
@pytest.mark.parametrize("archived", [False, True])
def test_sort_by_several_columns(seeded: Seeded, keys: tuple[SortKey, ...], archived: bool) -> None:
    for key in keys:
        need_sort(seeded, key.column)
    check_query(seeded, seeded.q(sort=keys, archived=archived))


FILTERS: dict[str, tuple[Kind, ValueFilter | RangeFilter | TagFilter]] = {
    "status": (Kind.VALUES, ValueFilter("status", frozenset({"failed", "aborted"}))),
    "user": (Kind.VALUES, ValueFilter("user", frozenset({"alice", "Carol"}))),
    "queue": (Kind.VALUES, ValueFilter("queue", frozenset({"gpu-large"}))),
    "param-value": (Kind.VALUES, ValueFilter("p:args/optimizer", frozenset({"adam", "sgd"}))),
    "no-value": (Kind.VALUES, ValueFilter("user", frozenset({"nobody"}))),
    "metric-last": (Kind.RANGE, RangeFilter("m:loss/val:last", 0.3, 0.6)),
    "metric-min-open": (Kind.RANGE, RangeFilter("m:loss/train:min", None, 0.1)),
    "metric-max-open": (Kind.RANGE, RangeFilter("m:acc/acc:max", 0.75, None)),
    "param-int": (Kind.RANGE, RangeFilter("p:args/epochs", 5, 20)),
    "param-float": (Kind.RANGE, RangeFilter("p:args/lr", None, 0.01)),
    "started": (Kind.DATES, RangeFilter("started", T0 + 3_000, T0 + 9_000)),
    "started-from": (Kind.DATES, RangeFilter("started", T0 + 9_000, None)),
    "started-until": (Kind.DATES, RangeFilter("started", None, T0 + 2_000)),
    "tags-any": (Kind.TAGS, TagFilter(frozenset({"best", "lr"}))),
    "tags-all": (Kind.TAGS, TagFilter(frozenset({"sweep", "best"}), mode="all")),
    "tags-not": (Kind.TAGS, TagFilter(exclude=frozenset({"baseline", "sweep"}))),
    "tags-any-not": (Kind.TAGS, TagFilter(frozenset({"sweep"}), frozenset({"lr"}))),
    "tags-unknown": (Kind.TAGS, TagFilter(frozenset({"nope"}))),
}


def with_filter(s: Seeded, flt: ValueFilter | RangeFilter | TagFilter, **kw: object) -> RunQuery:
    if isinstance(flt, TagFilter):
        return s.q(tags=flt, **kw)
    return s.q(filters=(flt,), **kw)


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("name", list(FILTERS))
def test_filter(seeded: Seeded, name: str, archived: bool) -> None:
    kind, flt = FILTERS[name]
    need_filter(seeded, kind, getattr(flt, "column", None))
    if name == "queue":
        need_report(seeded, "queues")
    want = check_query(seeded, with_filter(seeded, flt, archived=archived))
    if name.startswith("no-") or name.endswith("unknown"):
        assert want == []
    elif not archived:
        assert want, f"{name} should keep some active runs: the test would prove nothing"


def test_filters_combine(seeded: Seeded) -> None:
    for kind in (Kind.VALUES, Kind.RANGE, Kind.DATES, Kind.TAGS):
        need_filter(seeded, kind)
    q = seeded.q(
        filters=(FILTERS["user"][1], FILTERS["param-int"][1], FILTERS["started-from"][1]),
        tags=TagFilter(exclude=frozenset({"lr"})),
        sort=(SortKey("m:loss/val:last", desc=True),),
    )
    assert check_query(seeded, q)


SEARCHES = ("ali", "CAR", "adam", "BEST", "0.00", "/data/b", "#7", " été ", "nothing-here")


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("needle", SEARCHES)
def test_search(seeded: Seeded, needle: str, archived: bool) -> None:
    """A substring of the user, a tag or a parameter value (ASCII case folded), or the
    run number."""
    if not seeded.source.capabilities.search:
        pytest.skip(f"{seeded.kind.name} does not support search")
    if needle.startswith("#"):
        need_report(seeded, "numbers")
    want = check_query(seeded, seeded.q(search=needle, archived=archived))
    check_query(seeded, seeded.q(None, search=needle, archived=archived), None)
    if needle != "nothing-here" and not archived:
        assert want


@pytest.mark.parametrize("page", [1, 4, 7])
@pytest.mark.parametrize(
    "sort",
    [
        (),
        (SortKey("p:args/epochs"),),
        (SortKey("m:loss/val:last", desc=True),),
        (SortKey("started"),),
    ],
    ids=["default", "epochs", "val-desc", "started"],
)
def test_pages_concatenate_to_the_whole_order(
    seeded: Seeded, sort: tuple[SortKey, ...], page: int
) -> None:
    for key in sort:
        need_sort(seeded, key.column)
    q = seeded.q(sort=sort)
    want = expected(seeded.data, q, "train")
    pages = [
        seeded.keys_of(seeded.source.window(q, offset, page))
        for offset in range(0, len(want) + page, page)
    ]
    assert all(len(p) <= page for p in pages)
    assert [k for p in pages for k in p] == want
    assert pages[-1] == []


@pytest.mark.parametrize("page", [1, 4])
@pytest.mark.parametrize(
    "sort",
    [
        (),
        (SortKey("p:args/epochs"),),
        (SortKey("m:loss/val:last", desc=True),),
        (SortKey("status", desc=True), SortKey("p:args/lr")),
        (SortKey("tags"), SortKey("user", desc=True)),
    ],
    ids=["default", "epochs", "val-desc", "status-lr", "tags-user"],
)
def test_a_page_after_a_run_is_what_follows_it(
    seeded: Seeded, sort: tuple[SortKey, ...], page: int
) -> None:
    """What the table loads as it scrolls far: from a run's place, not past an OFFSET."""
    for key in sort:
        need_sort(seeded, key.column)
    q = seeded.q(sort=sort)
    want = expected(seeded.data, q, "train")
    for i, key in enumerate(want):
        got = seeded.source.window_after(q, seeded.ids[key], page)
        assert got is not None and seeded.keys_of(got) == want[i + 1 : i + 1 + page]
    left_out = next(k for k in seeded.ids if k not in want)
    assert seeded.source.window_after(q, seeded.ids[left_out], page) is None


@pytest.mark.parametrize("page", [1, 4, 1000])
def test_rows_are_every_run_in_order(seeded: Seeded, page: int) -> None:
    """`rows()` (exports, `ls`) gives the whole result in the window's order, whatever
    the page size."""
    q = seeded.q(sort=(SortKey("m:loss/val:last", desc=True),))
    need_sort(seeded, "m:loss/val:last")
    assert seeded.keys_of(list(seeded.source.rows(q, page))) == expected(seeded.data, q, "train")


COLUMN_SETS = (
    "run,version,tags,status,user,started,updated,run_time,queue",
    "run,m:loss/val:last,m:loss/val:min,m:acc:max,p:args/lr,p:args/optimizer,tags",
    "p:args/epochs",
)


@pytest.mark.parametrize("columns", COLUMN_SETS)
def test_rows_for_columns_carry_what_the_columns_show(seeded: Seeded, columns: str) -> None:
    """`rows(q, page, columns)`: the same runs in the same order, and every column's
    value as in the whole row (a source may leave out what no column shows)."""
    need_sort(seeded, "m:loss/val:last")
    cols = parse_columns(columns)
    q = seeded.q(None, sort=(SortKey("m:loss/val:last"),))
    whole = list(seeded.source.rows(q, 1000))
    part = list(seeded.source.rows(q, 3, cols))
    assert [r.id for r in part] == [r.id for r in whole]
    for got, want in zip(part, whole, strict=True):
        assert [got.value(c, AT) for c in cols] == [want.value(c, AT) for c in cols]


@pytest.mark.parametrize("columns", COLUMN_SETS)
@pytest.mark.parametrize("sort", ["", "p:args/lr", "-started"])
def test_records_are_the_values_of_the_rows(seeded: Seeded, columns: str, sort: str) -> None:
    """`records()` (what an export writes): per run, the pipeline, the id and each
    column's `fmt.record_value` of its row, in the rows' order, `page` at a time."""
    sort_keys = (SortKey(sort.lstrip("-"), sort.startswith("-")),) if sort else ()
    if sort:
        need_sort(seeded, sort.lstrip("-"))
    cols = parse_columns(columns)
    for pipeline in (None, "train"):
        q = seeded.q(pipeline, sort=sort_keys)
        pages = list(seeded.source.records(q, cols, 4))
        assert pages and all(0 < len(p) <= 4 for p in pages)
        got = [record for p in pages for record in p]
        want = [r for p in records_of(seeded.source.rows(q), cols, AT, 1000) for r in p]
        assert got == want
        keys = [seeded.keys[r[1]] for r in got]
        if pipeline is None:  # run numbers restart per pipeline: only the set is known
            assert sorted(keys) == sorted(expected(seeded.data, q, pipeline))
        else:
            assert keys == expected(seeded.data, q, pipeline)


def test_runs_by_id_in_the_order_asked(seeded: Seeded) -> None:
    keys = ["train#3", "train#1", "train#2"]
    got = seeded.source.runs([seeded.ids[k] for k in keys] + [seeded.missing_id()])
    assert seeded.keys_of(got) == keys, "in the order asked; an unknown id left out"
    assert seeded.source.runs([]) == []


def test_changed_since_tells_the_runs_an_action_changed(
    fresh: Callable[[Dataset], Seeded],
) -> None:
    s = fresh(ACTION_DATA)
    pid = s.pids["jobs"]
    latest = s.source.changed_since(pid, None)
    if latest is None:
        pytest.skip(f"{s.kind.name} cannot tell what changed: the table reloads what it shows")
    assert len(latest) == 1
    since = latest[0][1] + 1e-3
    assert s.source.changed_since(pid, since) == []
    need_action(s, Action.ADD_TAG)
    target = s.ids["jobs#1"]
    s.source.tag([target], ["seen"], [])
    changed = s.source.changed_since(pid, since)
    assert changed is not None and [run_id for run_id, _ in changed] == [target]


# ---------------------------------------------------------------- references and details


def test_resolve_ids(seeded: Seeded) -> None:
    keys = ["train#3", "etl#2", "train#16"]
    ids = [seeded.ids[k] for k in keys]
    assert seeded.source.resolve_refs([str(i) for i in ids]) == ids


def test_resolve_pipeline_numbers(seeded: Seeded) -> None:
    need_report(seeded, "numbers")
    keys = ["train#3", "etl#2", "train#16", "train#3"]
    assert seeded.source.resolve_refs(keys) == [seeded.ids[k] for k in keys]
    assert seeded.source.resolve_refs([" train#7 "]) == [seeded.ids["train#7"]]


@pytest.mark.parametrize(
    "ref", ["train#999", "nosuch#1", "missing-id", "train#x", "train#3000000000", "3000000000"]
)
def test_resolve_unknown_ref_names_it(seeded: Seeded, ref: str) -> None:
    if ref == "missing-id":
        ref = str(seeded.missing_id())
    known = "train#1" if "numbers" in seeded.kind.reports else str(seeded.ids["train#1"])
    with pytest.raises(ValueError, match=re.escape(ref)):
        seeded.source.resolve_refs([known, ref])


@pytest.mark.parametrize("value", ["3000000000", "#9223372036854775807", "#99999999999999999999"])
def test_a_run_number_past_any_run_matches_nothing(seeded: Seeded, value: str) -> None:
    """Past 32 bits (PostgreSQL's integer) or 64 (any SQL integer): no run, no error."""
    need_report(seeded, "numbers")
    q = seeded.q(filters=(ValueFilter("run", frozenset({value, "#1"})),))
    assert seeded.keys_of(seeded.source.window(q)) == ["train#1"]
    assert seeded.source.count(q) == 1


@pytest.mark.parametrize("key", ["train#3", "train#4", "train#1", "train#15", "etl#5"])
def test_details_row(seeded: Seeded, key: str) -> None:
    details = seeded.source.details(seeded.ids[key])
    assert details is not None
    check_row(seeded, details.row, seeded.data.run(key))
    assert isinstance(details.steps, list)
    assert isinstance(details.events, list)
    assert all(isinstance(e, EventInfo) for e in details.events)
    assert isinstance(details.logs, list)


@pytest.mark.parametrize("key", ["train#3", "train#4", "train#2", "train#1"])
def test_details_steps(seeded: Seeded, key: str) -> None:
    need_report(seeded, "steps")
    run = seeded.data.run(key)
    details = seeded.source.details(seeded.ids[key])
    assert details is not None
    got = [(s.name, s.parents, s.status) for s in details.steps]
    steps = seeded.data.pipeline(run.pipeline).steps
    assert got == [(name, parents, run.steps.get(name)) for name, parents in steps]


def test_details_events(fresh: Callable[[Dataset], Seeded]) -> None:
    """A change shows in the run's events (who, from, to)."""
    s = fresh(ACTION_DATA)
    need_report(s, "events")
    need_action(s, Action.ABORT)
    run_id = s.ids["jobs#2"]  # running
    before = s.source.details(run_id)
    assert before is not None
    s.source.transition(Action.ABORT, [run_id], message="stop it")
    after = s.source.details(run_id)
    assert after is not None
    new = after.events[len(before.events) :]
    assert [(e.from_status, e.to_status) for e in new] == [("running", "aborted")]
    assert new[0].user == "tester"
    assert "stop it" in new[0].message


def test_details_logs_and_following(seeded: Seeded) -> None:
    need_report(seeded, "logs")
    run = seeded.data.run("train#3")
    details = seeded.source.details(seeded.ids[run.key])
    assert details is not None
    assert all(isinstance(line, LogInfo) for line in details.logs)
    assert [(x.step, x.stream, x.line) for x in details.logs] == list(run.logs)
    first = details.logs[0].id
    later = seeded.source.details(seeded.ids[run.key], after_log=first)
    assert later is not None
    assert [x.line for x in later.logs] == [line for _, _, line in run.logs[1:]]
    other = seeded.source.details(seeded.ids["train#4"])
    assert other is not None
    assert other.logs == []


def test_details_of_an_unknown_run_is_none(seeded: Seeded) -> None:
    assert seeded.source.details(seeded.missing_id()) is None


def test_metric_history_is_every_point_in_the_order_reported(seeded: Seeded) -> None:
    need_report(seeded, "points")
    run = seeded.data.run("train#3")
    rid = seeded.ids[run.key]
    for (title, series), reported in run.points.items():
        got = seeded.source.metric_history(rid, title, series)
        assert list(zip(got.steps, got.values, strict=True)) == list(reported)
        since = seeded.source.metric_history(rid, title, series, after=got.until)
        assert (since.steps, since.values, since.until) == ([], [], got.until)
    assert seeded.source.metric_history(rid, "loss", "nope").values == []
    assert seeded.source.metric_history(seeded.missing_id(), "loss", "train").values == []
    assert seeded.source.metric_history(seeded.ids["train#4"], "loss", "train").values == []


def test_details_carry_each_series_for_a_chart(seeded: Seeded) -> None:
    """x the step (a point without one: its place), all of them while they are few."""
    need_report(seeded, "points")
    details = seeded.source.details(seeded.ids["train#3"])
    assert details is not None
    loss = details.points[("loss", "train")]
    assert (loss.steps, loss.values) == ([0, 2, 10, 20], [2.0, 1.25, 1.5, 2 / 3])
    assert details.points[("acc", "acc")].values == [0.5]


# ---------------------------------------------------------------- choices


DISTINCT_SPECS = ("status", "user", "queue", "version", "tags", "p:args/epochs", "p:data/path")
OTHER_FILTERS: dict[str, dict[str, object]] = {
    "alone": {},
    "archived": {"archived": True},
    "values": {"filters": (ValueFilter("status", frozenset({"failed", "completed", "running"})),)},
    "param-range": {"filters": (RangeFilter("p:args/lr", None, 0.05),)},
    "tags": {"tags": TagFilter(frozenset({"sweep", "baseline"}))},
    "search": {"search": "adam"},
}
# Known bug in runs_tui/core/facets.py distinct_values (see the suite's report): the
# count joins the tag or parameter table, and the query's EXISTS clauses on that same
# table (search, parameter filters) auto-correlate to it and lose their FROM.


@pytest.mark.parametrize("other", list(OTHER_FILTERS))
@pytest.mark.parametrize("spec", DISTINCT_SPECS)
def test_distinct_values_leave_out_the_columns_own_filter(
    seeded: Seeded, spec: str, other: str, request: pytest.FixtureRequest
) -> None:
    """A value column's values among the runs the other filters keep, most frequent first."""
    need_filter(seeded, Kind.VALUES)
    if other == "search" and not seeded.source.capabilities.search:
        pytest.skip(f"{seeded.kind.name} does not support search")
    rest = seeded.q(**OTHER_FILTERS[other])
    if spec == "tags":
        q = rest.with_(tags=TagFilter(frozenset({"x"})))
        rest = rest.with_(tags=None)  # the own filter replaces any other tag filter
    else:
        rest = rest.with_(filters=tuple(f for f in rest.filters if f.column != spec))
        q = rest.with_(filters=(ValueFilter(spec, frozenset({"x"})), *rest.filters))
    got = seeded.source.distinct_values(q, spec)
    column = parse_column(spec)
    want: Counter[str] = Counter()
    for run in selected(seeded.data, rest, "train"):
        if column.is_param:
            want.update([run.params[column.name]] if column.name in run.params else [])
        elif spec == "tags":
            want.update(run.tags)
        else:
            want[str(getattr(run, spec) if spec != "status" else run.status.value)] += 1
    assert want, "the model keeps some runs: the test would prove nothing"
    assert {v.value: v.count for v in got} == dict(want)
    counts = [v.count for v in got]
    assert counts == sorted(counts, reverse=True), "most frequent first"


@pytest.mark.parametrize("pipeline", ["train", "etl", "audit"])
def test_column_choices(seeded: Seeded, pipeline: str) -> None:
    got = seeded.source.column_choices(seeded.pids[pipeline])
    assert isinstance(got, ColumnChoices)
    runs = seeded.data.of(pipeline)
    spec = seeded.data.pipeline(pipeline)
    assert sorted(got.series) == sorted({m for r in runs for m in r.metrics})
    keys = {k for r in runs for k in r.params}
    assert got.params == {k: spec.numeric(k) for k in keys}


@pytest.mark.parametrize(
    ("spec", "numeric"),
    [
        ("p:args/lr", True),
        ("p:args/epochs", True),
        ("p:args/optimizer", False),
        ("p:args/flag", False),
        ("p:data/path", False),
        ("p:args/nothing", False),
    ],
)
def test_is_numeric_param(seeded: Seeded, spec: str, numeric: bool) -> None:
    assert seeded.source.is_numeric_param(seeded.pids["train"], spec) is numeric


@pytest.mark.parametrize("pipeline", ["train", "etl", "audit"])
def test_pipeline_tags_most_used_first(seeded: Seeded, pipeline: str) -> None:
    got = seeded.source.pipeline_tags(seeded.pids[pipeline])
    uses = Counter(t for r in seeded.data.of(pipeline) for t in r.tags)
    assert sorted(got) == sorted(uses)
    assert [uses[t] for t in got] == sorted(uses.values(), reverse=True)


SELECTION = ("train#1", "train#2", "train#4", "train#6", "train#8", "train#12", "etl#6", "etl#1")


def test_tags_of(seeded: Seeded) -> None:
    got = seeded.source.tags_of([seeded.ids[k] for k in SELECTION])
    assert got == Counter(t for k in SELECTION for t in seeded.data.run(k).tags)
    assert seeded.source.tags_of([]) == Counter()


def test_state_counts(seeded: Seeded) -> None:
    got = seeded.source.state_counts([seeded.ids[k] for k in SELECTION])
    runs = [seeded.data.run(k) for k in SELECTION]
    assert got == Counter((r.status.value, r.archived) for r in runs)


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("name", ["status", "tags-any", "param-int", "started"])
def test_hidden(seeded: Seeded, name: str, archived: bool) -> None:
    kind, flt = FILTERS[name]
    need_filter(seeded, kind)
    q = with_filter(seeded, flt, archived=archived)
    shown = set(expected(seeded.data, q, "train"))
    assert seeded.source.hidden(q, [seeded.ids[k] for k in SELECTION]) == len(
        [k for k in SELECTION if k not in shown]
    )


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("name", ["status", "tags-any", "param-int", "started"])
def test_mark_states(seeded: Seeded, name: str, archived: bool) -> None:
    kind, flt = FILTERS[name]
    need_filter(seeded, kind)
    q = with_filter(seeded, flt, archived=archived)
    shown = set(expected(seeded.data, q, "train"))
    got = seeded.source.mark_states(q, [seeded.ids[k] for k in SELECTION])
    assert got == {
        seeded.ids[k]: (seeded.data.run(k).status.value, seeded.data.run(k).archived, k in shown)
        for k in SELECTION
    }
    assert seeded.source.mark_states(q, []) == {}


# ---------------------------------------------------------------- actions

# DESIGN.md, "Run states": where each state change applies, and what it leads to.
ANY = frozenset(Status)
APPLIES: dict[Action, tuple[frozenset[Status], bool]] = {
    Action.ABORT: (frozenset({Status.PENDING, Status.RUNNING}), False),
    Action.CONTINUE: (frozenset({Status.ABORTED}), False),
    Action.RETRY: (frozenset({Status.FAILED}), False),
    Action.ARCHIVE: (ANY, False),
    Action.RESTORE: (ANY, True),
}
PAST = {
    Action.ABORT: "Aborted",
    Action.CONTINUE: "Continued",
    Action.RETRY: "Retried",
    Action.ARCHIVE: "Archived",
    Action.RESTORE: "Restored",
}


def after(action: Action, run: RunSpec) -> tuple[str, bool]:
    """(status, archived) of an affected run once `action` is done."""
    if action is Action.ABORT:
        return Status.ABORTED.value, False
    if action in (Action.CONTINUE, Action.RETRY):
        return Status.PENDING.value, False
    if action is Action.ARCHIVE:
        active = run.status in (Status.PENDING, Status.RUNNING)
        return (Status.ABORTED if active else run.status).value, True
    return run.status.value, False


def refusal(action: Action, run: RunSpec) -> str | None:
    """Why `action` does not apply to `run` (None: it does), as results say it."""
    states, archived = APPLIES[action]
    if run.archived != archived:
        return "archived" if run.archived else "not archived"
    if run.status not in states:
        return run.status.label
    return None


def all_rows(s: Seeded) -> dict[str, RunRow]:
    rows = s.rows(s.q("jobs")) + s.rows(s.q("jobs", archived=True))
    return {s.keys[r.id]: r for r in rows}


@pytest.mark.parametrize("action", list(APPLIES))
def test_transition_every_state(fresh: Callable[[Dataset], Seeded], action: Action) -> None:
    s = fresh(ACTION_DATA)
    need_action(s, action)
    before = all_rows(s)
    runs = list(s.data.runs)
    result = s.source.transition(action, [s.ids[r.key] for r in runs])
    assert result.action is action
    assert [s.keys[o.run_id] for o in result.outcomes] == [r.key for r in runs]
    for outcome, run in zip(result.outcomes, runs, strict=True):
        why = refusal(action, run)
        assert (outcome.affected, outcome.reason) == (why is None, why or ""), run.key
        assert outcome.ref == before[run.key].ref
    affected = [r for r in runs if refusal(action, r) is None]
    assert affected, "the dataset has a run for every action"
    past = result.verb or PAST[action]  # a source's own words ("Marked killed")
    assert result.summary().startswith(f"{past} {len(affected)} of {len(runs)}")
    rows = all_rows(s)
    for run in runs:
        row, old = rows[run.key], before[run.key]
        if refusal(action, run) is None:
            assert (row.status, row.archived) == after(action, run), run.key
            bumped = action in (Action.CONTINUE, Action.RETRY)
            assert row.attempt == old.attempt + bumped, run.key
        else:
            assert (row.status, row.archived, row.attempt) == (
                old.status,
                old.archived,
                old.attempt,
            )
    # the same again affects none of them: each now is where the action leads
    again = s.source.transition(action, [s.ids[r.key] for r in affected])
    assert again.affected == []


def test_resume_continues_aborted_and_retries_failed(fresh: Callable[[Dataset], Seeded]) -> None:
    s = fresh(ACTION_DATA)
    need_action(s, Action.CONTINUE)
    need_action(s, Action.RETRY)
    runs = list(s.data.runs)
    result = s.source.resume([s.ids[r.key] for r in runs])
    resumed = {
        r.key for r in runs if not r.archived and r.status in (Status.ABORTED, Status.FAILED)
    }
    assert {s.keys[o.run_id] for o in result.affected} == resumed
    assert len(result.outcomes) == len(runs)
    for outcome in result.not_affected:
        run = s.data.run(s.keys[outcome.run_id])
        assert outcome.reason == ("archived" if run.archived else run.status.label)
    rows = all_rows(s)
    assert {k for k, r in rows.items() if r.status == "pending" and not r.archived} == resumed | {
        r.key for r in runs if r.status is Status.PENDING and not r.archived
    }


def test_tag_round_trip(fresh: Callable[[Dataset], Seeded]) -> None:
    s = fresh(ACTION_DATA)
    need_action(s, Action.ADD_TAG)
    need_action(s, Action.REMOVE_TAG)
    keys = ["jobs#1", "jobs#3", "jobs#6", "jobs#9"]  # active and archived, some with "keep"
    if "archived-tags" not in s.kind.reports:
        keys = [k for k in keys if not s.data.run(k).archived]
    ids = [s.ids[k] for k in keys]
    result = s.source.tag(ids, ["hot", "new"], [])
    assert [o.affected for o in result.outcomes] == [True] * len(keys)
    rows = all_rows(s)
    for key, run in ((r.key, r) for r in s.data.runs):
        extra = {"hot", "new"} if key in keys else set()
        assert set(rows[key].tags) == set(run.tags) | extra, key
    assert s.source.tags_of(ids)["hot"] == len(keys)
    hot = s.q("jobs", tags=TagFilter(frozenset({"hot"})))
    assert sorted(s.keys[i] for i in s.source.ids(hot)) == sorted(
        k for k in keys if not s.data.run(k).archived
    )
    assert "hot" in s.source.pipeline_tags(s.pids["jobs"])

    result = s.source.tag(ids, [], ["hot", "keep"])
    assert [o.affected for o in result.outcomes] == [True] * len(keys)
    rows = all_rows(s)
    for key, run in ((r.key, r) for r in s.data.runs):
        want = (set(run.tags) | {"new"}) - {"keep"} if key in keys else set(run.tags)
        assert set(rows[key].tags) == want, key
    assert "hot" not in s.source.tags_of(ids)
    assert s.source.count(hot) == 0


def test_new_run(fresh: Callable[[Dataset], Seeded]) -> None:
    s = fresh(ACTION_DATA)
    need_action(s, Action.RUN)
    q = s.q("jobs")
    before = s.source.count(q)
    made = s.source.new_run(
        "jobs", {"args/lr": "0.5", "args/name": "fresh"}, queue="gpu-x", tags=["a", "b"]
    )
    assert (made.pipeline, made.queue) == ("jobs", "gpu-x")
    assert made.params["args/lr"] == 0.5
    assert made.number in (None, len(s.data.runs) + 1)
    assert s.source.count(q) == before + 1
    row = s.rows(q)[0]  # the newest run first
    assert row.id == made.id
    assert (row.status, row.queue, row.archived, row.tags) == (
        "pending",
        "gpu-x",
        False,
        ("a", "b"),
    )
    assert row.params == {"args/lr": "0.5", "args/epochs": "3", "args/name": "fresh"}
    plain = s.source.new_run("jobs", {})
    assert plain.queue == "default"
    assert s.rows(q)[0].params == {"args/lr": "0.01", "args/epochs": "3", "args/name": "base"}


@pytest.mark.parametrize(
    ("pipeline", "params", "named"),
    [
        ("jobs", {"args/epochs": "many"}, "epochs"),
        ("jobs", {"args/lr": "fast"}, "lr"),
        ("jobs", {"args/nothing": "1"}, "nothing"),
        ("no-such-pipeline", {}, "no-such-pipeline"),
    ],
)
def test_new_run_refuses_bad_input_naming_it(
    fresh: Callable[[Dataset], Seeded], pipeline: str, params: dict[str, str], named: str
) -> None:
    s = fresh(ACTION_DATA)
    need_action(s, Action.RUN)
    q = s.q("jobs")
    before = s.source.count(q)
    with pytest.raises(ValueError, match=named):
        s.source.new_run(pipeline, params)
    assert s.source.count(q) == before


def test_new_run_form(fresh: Callable[[Dataset], Seeded]) -> None:
    s = fresh(ACTION_DATA)
    need_action(s, Action.RUN)
    form = s.source.new_run_form("jobs")
    assert form.pipeline == "jobs"
    assert form.defaults == s.data.pipeline("jobs").params
    assert form.prefill == s.data.runs[-1].params  # the newest run's, as text
    assert form.queue == "default"
    assert set(form.queues) == {"default", "fast"}
    uses = Counter(t for r in s.data.runs for t in r.tags)
    assert sorted(form.tags) == sorted(uses)
    assert [uses[t] for t in form.tags] == sorted(uses.values(), reverse=True)
    with pytest.raises(ValueError, match="no-such-pipeline"):
        s.source.new_run_form("no-such-pipeline")
