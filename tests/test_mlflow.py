"""The MLflow source against a real `mlflow server` filled through its REST API (the
requests the `mlflow` client makes) with 300 runs in 2 experiments
(tests/data/mlflow_seed.py): filters, sorts and pages against a brute-force evaluation
of what the seed logged, min and max against the whole history, and actions visible in
the server afterwards (read by REST directly)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow_support import free_port, rest, seed_random, shared_server

from runs_tui.core.records import RangeFilter, RunQuery, SortKey, TagFilter, ValueFilter
from runs_tui.core.source import SourceError
from runs_tui.core.status import Action
from runs_tui.sources import open_source
from runs_tui.sources.mlflow import MlflowSource

STATUS = {
    "SCHEDULED": "pending",
    "RUNNING": "running",
    "FINISHED": "completed",
    "FAILED": "failed",
    "KILLED": "aborted",
}


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[MlflowSource, dict[str, Any], str]]:
    server = shared_server()
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    logged = seed_random(server, 300, prefix, server.folder)
    source = open_source(f"mlflow+{server.http}?prefix={prefix}")
    assert isinstance(source, MlflowSource)
    try:
        yield source, logged, server.http
    finally:
        source.close()


def last(points: list[list[float]]) -> float:
    return max(points, key=lambda p: p[0])[1]


def tags_of(run: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k if v == "" else f"{k}={v}" for k, v in run["tags"].items()))


def model(logged: dict[str, Any], exp: str, archived: bool = False) -> list[dict[str, Any]]:
    """The seed's runs of one experiment as logged, newest first (start, then id)."""
    runs = [r for r in logged["runs"] if r["experiment"].endswith(exp)]
    runs = [r for r in runs if r["deleted"] == archived]
    runs.sort(key=lambda r: r["id"])
    runs.sort(key=lambda r: r["start"], reverse=True)
    return runs


def value(run: dict[str, Any], spec: str) -> Any:
    if spec.startswith("m:"):
        key = {"m:loss/train:last": "loss/train", "m:acc/acc:last": "acc"}.get(spec, "loss/val")
        points = run["metrics"].get(key)
        return None if not points else last(points)
    if spec.startswith("p:params/"):
        text = run["params"].get(spec.removeprefix("p:params/"))
        return None if text is None else (float(text), text)
    if spec == "started":
        return run["start"]
    raise AssertionError(spec)


def sort(runs: list[dict[str, Any]], spec: str, desc: bool) -> list[dict[str, Any]]:
    have = [r for r in runs if value(r, spec) is not None]
    return sorted(have, key=lambda r: value(r, spec), reverse=desc) + [
        r for r in runs if value(r, spec) is None
    ]


def keep(run: dict[str, Any], what: str) -> bool:
    tags = set(tags_of(run))
    metric = value(run, "m:loss/val:last")
    return {
        "completed": STATUS[run["status"]] == "completed",
        "failed-or-aborted": STATUS[run["status"]] in ("failed", "aborted"),
        "val-range": metric is not None and 0.3 <= metric <= 0.8,
        "sweep-and-best": {"sweep", "best"} <= tags,
        "sweep-or-baseline": bool({"sweep", "baseline"} & tags),
        "not-best": "best" not in tags,
        "adam": run["params"]["optimizer"] == "adam",
        "alice": run["user"] == "alice",
        "search-adam": any("adam" in v.lower() for v in run["params"].values()),
    }[what]


FILTERS: dict[str, dict[str, Any]] = {
    "completed": {"filters": (ValueFilter("status", frozenset({"completed"})),)},
    "failed-or-aborted": {"filters": (ValueFilter("status", frozenset({"failed", "aborted"})),)},
    "val-range": {"filters": (RangeFilter("m:loss/val:last", 0.3, 0.8),)},
    "sweep-and-best": {"tags": TagFilter(frozenset({"sweep", "best"}), mode="all")},
    "sweep-or-baseline": {"tags": TagFilter(frozenset({"sweep", "baseline"}))},
    "not-best": {"tags": TagFilter(exclude=frozenset({"best"}))},
    "adam": {"filters": (ValueFilter("p:params/optimizer", frozenset({"adam"})),)},
    "alice": {"filters": (ValueFilter("user", frozenset({"alice"})),)},
    "search-adam": {"search": "ADAM"},
}
SORTS = [None, ("m:loss/train:last", True), ("m:acc/acc:last", False), ("p:params/lr", False)]


def query(source: MlflowSource, exp: str, **kw: Any) -> RunQuery:
    pipe = source.pipeline(exp)
    return RunQuery(pipe.id, **kw)


@pytest.mark.parametrize("sort_by", SORTS, ids=lambda s: s[0] if s else "default")
@pytest.mark.parametrize("what", list(FILTERS))
def test_filters_and_sorts_match_the_logged_runs(world, what: str, sort_by: Any) -> None:
    source, logged, _ = world
    keys = () if sort_by is None else (SortKey(*sort_by),)
    q = query(source, "vision", sort=keys, **FILTERS[what])
    runs = [r for r in model(logged, "vision") if keep(r, what)]
    if sort_by is not None:
        runs = sort(runs, *sort_by)
    want = [r["id"] for r in runs]
    assert want, "the model keeps some runs: the test would prove nothing"
    assert [r.id for r in source.window(q, 0, 1000)] == want
    assert source.count(q) == len(want)
    pages = [source.window(q, n, 37) for n in range(0, len(want) + 37, 37)]
    assert [r.id for p in pages for r in p] == want
    for i in (0, 5, len(want) // 2):
        after = source.window_after(q, want[i], 10)
        assert after is not None and [r.id for r in after] == want[i + 1 : i + 11]


def test_rows_show_the_runs_as_logged_and_nested_runs_as_steps(world) -> None:
    source, logged, _ = world
    for archived in (False, True):
        want = model(logged, "text", archived)
        rows = source.window(query(source, "text", archived=archived), 0, 1000)
        assert [r.id for r in rows] == [r["id"] for r in want]
        for row, run in zip(rows, want, strict=True):
            assert row.name == (run["name"] or run["id"][:8])
            assert (row.status, row.user, row.archived) == (
                STATUS[run["status"]],
                run["user"],
                archived,
            )
            assert row.tags == tags_of(run)
            assert row.version == run["version"]
            assert row.params == {
                (k if "/" in k else f"params/{k}"): v for k, v in run["params"].items()
            }
            assert row.started == run["start"] / 1000
    parent = next(r for r in model(logged, "vision") if r["children"])
    details = source.details(parent["id"])
    assert details is not None
    assert [s.name for s in details.steps] == ["prepare", "fit"]
    counts = {p.name: p.total for p in source.pipelines()}
    assert counts == {e: len(model(logged, e)) for e in ("text", "vision")}


def test_min_and_max_from_the_history_once_per_run_and_series(world) -> None:
    source, logged, _ = world
    q = query(source, "vision", filters=(ValueFilter("status", frozenset({"completed"})),))
    rows = source.window(q, 0, 12)
    series = {("loss", "train"), ("acc", "acc")}
    calls = source.client.calls.get("metrics/get-history", 0)
    source.fill_ranges(rows, series)
    made = source.client.calls.get("metrics/get-history", 0) - calls
    assert made == sum(1 for r in rows for s in series if s in r.metrics) == 24
    by_id = {r["id"]: r for r in logged["runs"]}
    for row in rows:
        for key, pair in (("loss/train", ("loss", "train")), ("acc", ("acc", "acc"))):
            points = by_id[str(row.id)]["metrics"][key]
            values = [v for _, v in points]
            m = row.metrics[pair]
            assert (m.min, m.max, m.last) == (min(values), max(values), last(points))
            assert m.min_step == min(s for s, v in points if v == min(values))
    again = source.window(q, 0, 12)
    source.fill_ranges(again, series)  # finished runs: kept, no call
    assert source.client.calls.get("metrics/get-history", 0) - calls == made
    assert all(not math.isnan(r.metrics[("acc", "acc")].min) for r in again)


def test_tags_archive_restore_and_mark_killed_are_in_the_server_after(world) -> None:
    source, logged, http = world
    runs = model(logged, "text")
    a, b = runs[0]["id"], runs[1]["id"]
    result = source.tag([a, b], ["hot", "stage=prod"], [])
    assert result.ok
    server_tags = {t["key"]: t["value"] for t in rest_run(http, a)["data"]["tags"]}
    assert (server_tags["hot"], server_tags["stage"]) == ("", "prod")
    assert source.tag([a], [], ["hot"]).ok
    assert "hot" not in {t["key"] for t in rest_run(http, a)["data"]["tags"]}

    assert source.transition(Action.ARCHIVE, [b]).ok
    assert rest_run(http, b)["info"]["lifecycle_stage"] == "deleted"
    shown = [r.id for r in source.window(query(source, "text", archived=True), 0, 1000)]
    assert b in shown
    assert source.transition(Action.RESTORE, [b]).ok
    assert rest_run(http, b)["info"]["lifecycle_stage"] == "active"

    running = next(r["id"] for r in runs if r["status"] == "RUNNING")
    result = source.transition(Action.ABORT, [running, a])
    assert result.summary().startswith("Marked killed 1 of 2")
    assert rest_run(http, running)["info"]["status"] == "KILLED"
    assert source.capabilities.label(Action.ABORT, "Abort").startswith("Mark killed")
    assert not source.capabilities.can(Action.CONTINUE)
    assert "own code" in source.capabilities.why_not(Action.RUN)


def rest_run(http: str, run_id: str) -> dict[str, Any]:
    got: dict[str, Any] = rest(http, f"runs/get?run_id={run_id}")["run"]
    return got


def test_errors_are_source_errors_with_the_servers_words(world) -> None:
    source, _, _ = world
    with pytest.raises(SourceError, match="experiment 987654321 does not exist"):
        source.window(RunQuery("987654321"), 0, 10)
    down = open_source(f"mlflow+http://127.0.0.1:{free_port()}")
    with pytest.raises(SourceError, match="not reachable"):
        down.pipelines()
    with pytest.raises(SourceError, match=r"max_results|50000|exceed"):
        source._search(["0"], source_plan(), 60_000, None)


def source_plan() -> Any:
    from runs_tui.sources.mlflow_query import plan

    return plan(RunQuery("0"))
