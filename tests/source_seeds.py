"""The `RunSource` contract suite's data: a backend-neutral dataset, a brute-force model
of what a source must answer about it, and one seeder per source kind.

A source kind is one `SourceKind` entry in `KINDS`: how to get a fresh, empty instance
(a URL), how to write a `Dataset` into it (returning the source, opened through
`runs_tui.sources.open_source`, and the source's id of every dataset run), how to make
the instance go away, and what the seeder can write (run numbers, steps, logs, events).
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from runs_tui.core.columns import parse_column
from runs_tui.core.records import RangeFilter, RunId, RunQuery, TagFilter, ValueFilter
from runs_tui.core.source import RunSource
from runs_tui.core.status import Status

T0 = 1_764_000_000.0  # the dataset's clock
AT = T0 + 200_000.0  # the clock of every query (run time of unfinished runs)
Value = bool | int | float | str

# ---------------------------------------------------------------- the dataset


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline: typed parameter defaults keyed `section/name`, steps with parents."""

    name: str
    version: str
    queue: str
    params: dict[str, Value]
    steps: tuple[tuple[str, tuple[str, ...]], ...]

    def numeric(self, key: str) -> bool:
        value = self.params[key]
        return isinstance(value, int | float) and not isinstance(value, bool)

    def toml(self) -> str:
        """The pipeline file: `args/x` under [parameters], `data/x` under [parameters.data]."""

        def literal(value: Value) -> str:
            return json.dumps(value)  # TOML takes JSON's numbers, booleans and simple strings

        sections: dict[str, list[str]] = {}
        for key, value in self.params.items():
            section, name = key.split("/")
            sections.setdefault(section, []).append(f"{name} = {literal(value)}")
        lines = [
            "[pipeline]",
            f"name = {literal(self.name)}",
            f"version = {literal(self.version)}",
            f"queue = {literal(self.queue)}",
            "",
            "[parameters]",
            *sections.pop("args", []),
        ]
        for section, entries in sections.items():
            lines += ["", f"[parameters.{section}]", *entries]
        for name, parents in self.steps:
            lines += ["", "[[steps]]", f"name = {literal(name)}", 'command = ["true"]']
            lines.append(f"parents = {json.dumps(list(parents))}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunSpec:
    """A run as the dataset states it. `number` is its place among its pipeline's runs
    (1 = created first); `params` are the values as stored text, only the keys it has;
    `metrics` are (last, min, max); `logs` are (step, stream, line); `steps` the status
    of each step's first attempt."""

    key: str
    pipeline: str
    number: int
    created: float
    version: str
    status: Status
    archived: bool
    user: str
    queue: str
    tags: frozenset[str]
    params: dict[str, str]
    metrics: dict[tuple[str, str], tuple[float, float, float]]
    started: float | None
    finished: float | None
    updated: float
    logs: tuple[tuple[str, str, str], ...] = ()
    steps: dict[str, str] = field(default_factory=dict)
    # metric points (step, value) per series, in the order reported
    points: dict[tuple[str, str], tuple[tuple[int | None, float], ...]] = field(
        default_factory=dict
    )

    def run_time(self, at: float) -> float | None:
        if self.started is None:
            return None
        return (self.finished if self.finished is not None else at) - self.started


@dataclass(frozen=True)
class Dataset:
    pipelines: tuple[PipelineSpec, ...]
    runs: tuple[RunSpec, ...]  # in creation order

    def pipeline(self, name: str) -> PipelineSpec:
        return next(p for p in self.pipelines if p.name == name)

    def run(self, key: str) -> RunSpec:
        return next(r for r in self.runs if r.key == key)

    def of(self, pipeline: str | None) -> list[RunSpec]:
        return [r for r in self.runs if pipeline is None or r.pipeline == pipeline]


STATES = (Status.PENDING, Status.RUNNING, Status.COMPLETED, Status.FAILED, Status.ABORTED)
STEPS = (("prepare", ()), ("fit", ("prepare",)), ("evaluate", ("fit",)))

TRAIN = PipelineSpec(
    "train",
    "1.10.0",
    "gpu",
    {
        "args/lr": 0.01,
        "args/epochs": 3,
        "args/optimizer": "adam",
        "args/flag": False,
        "data/path": "/data/a0",
    },
    STEPS,
)
ETL = PipelineSpec("etl", "2.0", "cpu", {"args/rows": 100, "args/mode": "full"}, (("extract", ()),))
AUDIT = PipelineSpec("audit", "0.1", "default", {"args/n": 1}, (("check", ()),))  # no runs

TAGSETS = (
    (),
    ("baseline",),
    ("sweep", "lr"),
    ("sweep",),
    ("baseline", "best"),
    ("Zeta", "été"),
    ("sweep", "best"),
)


def _train_run(i: int, g: int) -> RunSpec:
    """The i-th run of `train` (0-based), the g-th run created overall."""
    status = STATES[i % 5]
    created = T0 + g * 600
    never_started = status is Status.PENDING or i == 14  # train#15: aborted while pending
    started = None if never_started else created + 60 + (i % 3) * 7
    if status in (Status.PENDING, Status.RUNNING):
        finished = None
    elif started is None:
        finished = created + 30
    else:
        finished = started + 100 + (i * 37) % 500
    params = {
        "args/lr": ("0.1", "0.01", "0.001", "0.03")[i % 4],
        "args/epochs": ("3", "10", "20", "5", "10", "3", "40")[(i * 2) % 7],
        "args/optimizer": ("adam", "sgd", "AdamW")[(i // 3) % 3],
        "args/flag": ("true", "false")[i % 2],
        "data/path": f"/data/{'ab'[i % 2]}{i % 3}",
    }
    if i % 6 == 5:
        del params["args/epochs"]
    if i % 8 == 2:
        del params["args/optimizer"]
    metrics: dict[tuple[str, str], tuple[float, float, float]] = {}
    if status is not Status.PENDING and started is not None:
        train_loss = round(2.0 / (i + 1), 4)
        metrics[("loss", "train")] = (train_loss, round(train_loss * 0.5, 4), 2.5)
        if i % 9 != 4:
            val = round(0.2 + ((i * 7) % 11) * 0.05, 3)
            metrics[("loss", "val")] = (val, round(val - 0.1, 3), round(val + 0.3, 3))
        acc = (0.5, 0.75, 0.9, 0.75)[i % 4]
        metrics[("acc", "acc")] = (acc, 0.1, acc)
    steps = {
        Status.COMPLETED: {"prepare": "completed", "fit": "completed", "evaluate": "completed"},
        Status.FAILED: {"prepare": "completed", "fit": "failed"},
        Status.RUNNING: {"prepare": "completed", "fit": "running"},
    }.get(status, {})
    logs = ()
    points: dict[tuple[str, str], tuple[tuple[int | None, float], ...]] = {}
    if i == 2:
        logs = (
            ("prepare", "stdout", "loading data"),
            ("fit", "stdout", "epoch 1 loss 0.5"),
            ("fit", "stderr", "warning: slow disk"),
        )
        points = {
            ("loss", "train"): ((0, 2.0), (10, 1.5), (None, 1.25), (20, 2 / 3)),
            ("acc", "acc"): ((5, 0.5),),
        }
    return RunSpec(
        key=f"train#{i + 1}",
        pipeline="train",
        number=i + 1,
        created=created,
        version=("1.0.0", "1.2.0", "1.10.0")[i * 3 // 23],
        status=status,
        archived=i % 4 == 3,
        user=("alice", "bob", "Carol")[i % 3],
        queue=("gpu", "cpu", "gpu-large")[(i // 2) % 3],
        tags=frozenset(TAGSETS[i % 7]),
        params=params,
        metrics=metrics,
        started=started,
        finished=finished,
        updated=(finished or started or created) + 1,
        logs=logs,
        steps=steps,
        points=points,
    )


def _etl_run(i: int, g: int) -> RunSpec:
    status = STATES[(i + 2) % 5]
    created = T0 + g * 600
    started = None if status is Status.PENDING else created + 10
    done = status not in (Status.PENDING, Status.RUNNING)
    finished = started + 50 + i * 10 if done and started is not None else None
    return RunSpec(
        key=f"etl#{i + 1}",
        pipeline="etl",
        number=i + 1,
        created=created,
        version="2.0",
        status=status,
        archived=i == 5,
        user=("dave", "alice")[i % 2],
        queue="cpu",
        tags=frozenset({"nightly"} if i % 2 == 0 else {"backfill", "nightly"}),
        params={"args/rows": ("100", "2000", "50")[i % 3], "args/mode": ("full", "delta")[i % 2]},
        metrics={} if started is None else {("rows", "rows"): (float(i * 10), 0.0, float(i * 10))},
        started=started,
        finished=finished,
        updated=(finished or started or created) + 1,
    )


def _main_dataset() -> Dataset:
    runs: list[RunSpec] = []
    counts = Counter[str]()
    for g in range(30):
        pipeline = "etl" if g % 4 == 3 else "train"
        make = _etl_run if pipeline == "etl" else _train_run
        runs.append(make(counts[pipeline], g))
        counts[pipeline] += 1
    return Dataset((TRAIN, ETL, AUDIT), tuple(runs))


DATA = _main_dataset()

JOBS = PipelineSpec(
    "jobs", "1.0.0", "default", {"args/lr": 0.01, "args/epochs": 3, "args/name": "base"}, STEPS
)


def _action_dataset() -> Dataset:
    """One `jobs` run in every (state, archived), for the actions; the newest lacks `name`."""
    runs = []
    for n, (status, archived) in enumerate(
        ((s, a) for a in (False, True) for s in STATES), start=1
    ):
        created = T0 + n * 100
        started = None if status is Status.PENDING else created + 10
        active = status in (Status.PENDING, Status.RUNNING)
        params = {"args/lr": str(n / 20), "args/epochs": str(n), "args/name": f"job{n}"}
        if n == 10:
            del params["args/name"]
        runs.append(
            RunSpec(
                key=f"jobs#{n}",
                pipeline="jobs",
                number=n,
                created=created,
                version="1.0.0",
                status=status,
                archived=archived,
                user="someone",
                queue=("default", "fast")[n % 2],
                tags=frozenset({"old"} | ({"keep"} if n % 3 == 0 else set())),
                params=params,
                metrics={},
                started=started,
                finished=None if active or started is None else started + 20,
                updated=created + 30,
            )
        )
    return Dataset((JOBS,), tuple(runs))


ACTION_DATA = _action_dataset()


def _check_coverage() -> None:
    """What the tests rely on: every state active and archived, missing metrics and params."""
    train = DATA.of("train")
    assert {(r.status, r.archived) for r in train} >= {
        (s, a) for s in STATES for a in (False, True)
    }
    active = [r for r in train if not r.archived]
    assert any(("loss", "val") not in r.metrics and r.metrics for r in active)
    assert any("args/epochs" not in r.params for r in active)
    assert any("args/optimizer" not in r.params for r in active)
    assert any(r.started is None and r.finished is not None for r in train)


_check_coverage()

# ---------------------------------------------------------------- the model


def fold(s: str) -> str:
    """Lower-case ASCII letters only (search folds nothing else)."""
    return s.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def metric(run: RunSpec, spec: str) -> float | None:
    column = parse_column(spec)
    got = run.metrics.get((column.title, column.series))
    return None if got is None else got[("last", "min", "max").index(column.agg)]


def param_num(data: Dataset, run: RunSpec, key: str) -> float | None:
    """A parameter's number, when its pipeline declares it numeric and the run has it."""
    if key not in run.params or not data.pipeline(run.pipeline).numeric(key):
        return None
    return float(run.params[key])


def builtin(run: RunSpec, name: str, at: float) -> Any:
    if name == "run":
        return run.number
    if name == "run_time":
        return run.run_time(at)
    if name == "tags":
        return min(run.tags) if run.tags else None
    if name == "status":
        return run.status.value
    return getattr(run, name)


def _in(value: float | None, lo: float | None, hi: float | None) -> bool:
    return value is not None and (lo is None or lo <= value) and (hi is None or value <= hi)


def passes(data: Dataset, run: RunSpec, flt: ValueFilter | RangeFilter, at: float) -> bool:
    column = parse_column(flt.column)
    if isinstance(flt, ValueFilter):
        if column.is_param:
            return run.params.get(column.name) in flt.values
        if column.name == "tags":
            return bool(run.tags & flt.values)
        return str(builtin(run, column.name, at)) in flt.values
    if column.is_metric:
        return _in(metric(run, flt.column), flt.lo, flt.hi)
    if column.is_param:
        return _in(param_num(data, run, column.name), flt.lo, flt.hi)
    return _in(builtin(run, column.name, at), flt.lo, flt.hi)


def tagged(run: RunSpec, tags: TagFilter) -> bool:
    if tags.include:
        wanted = tags.include <= run.tags if tags.mode == "all" else tags.include & run.tags
        if not wanted:
            return False
    return not tags.exclude & run.tags


def found(run: RunSpec, needle: str) -> bool:
    """Substring (ASCII case folded) of the user, a tag or a parameter value; or the run
    number, with or without `#`. Needles are chosen not to occur in run names."""
    n = needle.strip()
    if not n:
        return True
    texts = [run.user, *run.tags, *run.params.values()]
    digits = n.removeprefix("#")
    return any(fold(n) in fold(t) for t in texts) or (
        digits.isdigit() and int(digits) == run.number
    )


def selected(data: Dataset, q: RunQuery, pipeline: str | None) -> list[RunSpec]:
    """The runs `q` keeps (its pipeline given by name), in creation order."""
    at = AT if q.at is None else q.at
    return [
        r
        for r in data.of(pipeline)
        if r.archived == q.archived
        and all(passes(data, r, f, at) for f in q.filters)
        and (q.tags is None or tagged(r, q.tags))
        and found(r, q.search)
    ]


def _sorted_by(runs: list[RunSpec], value: Callable[[RunSpec], Any], desc: bool) -> list[RunSpec]:
    """A stable sort on one key: present values in order, missing ones last either way."""
    present = [r for r in runs if value(r) is not None]
    missing = [r for r in runs if value(r) is None]
    return sorted(present, key=value, reverse=desc) + missing


def ordered(data: Dataset, runs: list[RunSpec], q: RunQuery) -> list[RunSpec]:
    """`runs` in `q`'s order: newest first on ties, each key applied as a stable sort
    from the last to the first; a parameter sorts its numbers before its texts."""
    at = AT if q.at is None else q.at
    out = list(reversed(runs))  # ties: the newest run first
    for key in reversed(q.sort):
        column = parse_column(key.column)
        if column.is_metric:
            out = _sorted_by(out, lambda r, spec=key.column: metric(r, spec), key.desc)
        elif column.is_param:
            name = column.name

            def num(r: RunSpec, name: str = name) -> Any:
                n = param_num(data, r, name)
                return None if n is None else (n, r.params[name])

            def txt(r: RunSpec, name: str = name) -> Any:
                return r.params.get(name) if param_num(data, r, name) is None else None

            numbers = _sorted_by([r for r in out if num(r) is not None], num, key.desc)
            texts = _sorted_by([r for r in out if num(r) is None], txt, key.desc)
            out = numbers + texts  # texts end with the runs without the parameter
        else:
            out = _sorted_by(out, lambda r, n=column.name: builtin(r, n, at), key.desc)
    return out


def expected(data: Dataset, q: RunQuery, pipeline: str | None) -> list[str]:
    """The keys of the runs `q` shows, in order (meaningful within one pipeline)."""
    return [r.key for r in ordered(data, selected(data, q, pipeline), q)]


# ---------------------------------------------------------------- source kinds


@dataclass(frozen=True)
class SourceKind:
    """One kind of source under the contract.

    `instance(folder)` yields the URL of a fresh, empty instance (and removes it after);
    `seed(url, data)` writes `data` into it and returns the source opened by URL and the
    source's id of each run by key; `vanish(url)` makes the instance go away under an
    open source. `reports` says what the seeder writes and the source shows back:
    "numbers" (`PIPELINE#N`), "steps", "logs", "events", "points" (metric histories),
    "queues", "archived-tags" (tags of archived runs change). `fit(data)` is the dataset
    as the kind can hold it (an MLflow server has no queues, no run numbers): the model
    answers for that."""

    name: str
    instance: Callable[[Path], AbstractContextManager[str]]
    seed: Callable[[str, Dataset], tuple[RunSource, dict[str, RunId]]]
    vanish: Callable[[str], None]
    reports: frozenset[str] = frozenset()
    marks: tuple[pytest.MarkDecorator, ...] = ()
    fit: Callable[[Dataset], Dataset] = lambda data: data  # what of a dataset it holds

    def param(self) -> Any:
        return pytest.param(self, id=self.name, marks=self.marks)


def seed_sql(url: str, data: Dataset) -> tuple[RunSource, dict[str, RunId]]:
    """Through the real store: register the pipeline files, `ops.new_run` each run, then
    set what an agent would have (status, times, metrics, steps, logs) in one write."""
    from runs_tui.core import ops
    from runs_tui.core.db import open_store
    from runs_tui.core.models import LogLine, Metric, MetricPoint, Run, RunParam, StepRun
    from runs_tui.core.registry import register
    from runs_tui.sources import open_source

    store = open_store(url)
    ids: dict[str, RunId] = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for spec in data.pipelines:
                path = Path(folder) / f"{spec.name}.toml"
                path.write_text(spec.toml())
                register(store, path)
        for run in data.runs:
            made = ops.new_run(
                store,
                run.pipeline,
                {k: v for k, v in run.params.items()},
                queue=run.queue,
                tags=sorted(run.tags),
                user=run.user,
            )
            assert made.number == run.number, (made.ref, run.key)
            ids[run.key] = made.id
        with store.write() as session:
            for run in data.runs:
                rid = ids[run.key]
                session.execute(
                    update(Run)
                    .where(Run.id == rid)
                    .values(
                        status=run.status.value,
                        archived=run.archived,
                        version=run.version,
                        created=run.created,
                        started=run.started,
                        finished=run.finished,
                        updated=run.updated,
                        exit_code={Status.COMPLETED: 0, Status.FAILED: 1}.get(run.status),
                    )
                )
                absent = set(data.pipeline(run.pipeline).params) - set(run.params)
                for key in absent:
                    session.execute(
                        delete(RunParam).where(RunParam.run_id == rid, RunParam.key == key)
                    )
                for (title, series), (last, lo, hi) in run.metrics.items():
                    session.add(
                        Metric(
                            run_id=rid,
                            title=title,
                            series=series,
                            last=last,
                            min=lo,
                            max=hi,
                            updated=run.updated,
                        )
                    )
                for name, status in run.steps.items():
                    session.add(StepRun(run_id=rid, attempt=1, name=name, status=status))
                for (title, series), reported in run.points.items():
                    for n, (step, value) in enumerate(reported):
                        session.add(
                            MetricPoint(
                                run_id=rid,
                                attempt=1,
                                title=title,
                                series=series,
                                step=step,
                                value=value,
                                time=run.updated + n,
                            )
                        )
                for n, (step, stream, line) in enumerate(run.logs):
                    session.add(
                        LogLine(
                            run_id=rid,
                            attempt=1,
                            step=step,
                            stream=stream,
                            time=(run.started or run.created) + n,
                            line=line,
                        )
                    )
    finally:
        store.dispose()
    return open_source(url), ids


@contextmanager
def sqlite_instance(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'runs.db'}"


def sqlite_vanish(url: str) -> None:
    path = Path(make_url(url).database or "")
    path.rename(path.with_name(path.name + ".moved"))


PG_ENV = "RUNS_TUI_TEST_PG_URL"


def _pg_admin() -> Any:
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"{PG_ENV} is not set")  # the `pg_url` fixture's reason
    return create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextmanager
def pg_instance(_folder: Path) -> Iterator[str]:
    """A fresh database on the server RUNS_TUI_TEST_PG_URL names (as the `pg_url`
    fixture makes, but usable at module scope), dropped after."""
    engine = _pg_admin()
    name = f"runs_tui_contract_{uuid.uuid4().hex[:10]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        pg_vanish(engine.url.set(database=name).render_as_string(hide_password=False))
        engine.dispose()


def pg_vanish(url: str) -> None:
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


SQL_REPORTS = frozenset({"numbers", "steps", "logs", "events", "points", "queues", "archived-tags"})

from mlflow_kind import MLFLOW  # noqa: E402 (it builds on the definitions above)

# Every source under the contract; adding one is one entry here.
KINDS: Sequence[SourceKind] = (
    SourceKind("sqlite", sqlite_instance, seed_sql, sqlite_vanish, SQL_REPORTS),
    SourceKind(
        "postgresql", pg_instance, seed_sql, pg_vanish, SQL_REPORTS, (pytest.mark.postgres,)
    ),
    MLFLOW,
)
