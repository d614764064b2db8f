"""The MLflow server as a kind of source under the `RunSource` contract.

`fit` says what of a contract dataset an MLflow server can hold, and the model
answers for that: no run numbers (0: matches no `#N`), one start time (a run's
creation is its start, a Pending run started when it was made), no queues, no
pipeline versions or queues (a run's version is its git commit tag), `updated` its
end (else its start). `seed` logs the dataset through the server's REST API: metrics as
three points (max, min, then last), the runs' steps as nested runs (which the run
list must leave out), archived runs deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mlflow_support import seed_spec, shared_server
from source_seeds import Dataset, PipelineSpec, RunSpec, SourceKind

from runs_tui.core.records import RunId
from runs_tui.core.source import RunSource
from runs_tui.core.status import Status
from runs_tui.sources import open_source

MLFLOW_STATUS = {
    Status.PENDING: "SCHEDULED",
    Status.RUNNING: "RUNNING",
    Status.COMPLETED: "FINISHED",
    Status.FAILED: "FAILED",
    Status.ABORTED: "KILLED",
}


def _fit_run(run: RunSpec) -> RunSpec:
    started = run.started if run.started is not None else run.created
    return replace(
        run,
        number=0,
        created=started,
        started=started,
        queue="",
        updated=run.finished if run.finished is not None else started,
    )


def fit(data: Dataset) -> Dataset:
    pipelines = tuple(PipelineSpec(p.name, "", "", p.params, p.steps) for p in data.pipelines)
    return Dataset(pipelines, tuple(_fit_run(r) for r in data.runs))


def _ms(t: float) -> int:
    return round(t * 1000)


def _spec(data: Dataset, prefix: str) -> dict[str, Any]:
    runs = []
    for run in fit(data).runs:
        metrics = {
            (title if title == series else f"{title}/{series}"): [[0, hi], [1, lo], [2, last]]
            for (title, series), (last, lo, hi) in run.metrics.items()
        }
        assert run.started is not None
        runs.append(
            {
                "key": run.key,
                "experiment": prefix + run.pipeline,
                "name": f"{run.pipeline}-{run.key.split('#')[1]}",
                "start": _ms(run.started),
                "end": None if run.finished is None else _ms(run.finished),
                "status": MLFLOW_STATUS[run.status],
                "user": run.user,
                "version": run.version,
                "tags": {t: "" for t in run.tags},
                "params": run.params,
                "metrics": metrics,
                "deleted": run.archived,
                "children": [
                    {
                        "name": step,
                        "start": _ms(run.started) + n,
                        "end": None,
                        "status": "RUNNING",
                        "user": run.user,
                    }
                    for n, step in enumerate(run.steps)
                ],
            }
        )
    return {"experiments": [prefix + p.name for p in data.pipelines], "runs": runs}


@contextmanager
def instance(folder: Path) -> Iterator[str]:
    """A prefix of experiment names on the session's server: an empty instance."""
    server = shared_server()
    yield f"mlflow+{server.http}?prefix=c{uuid.uuid4().hex[:8]}-"


def seed(url: str, data: Dataset) -> tuple[RunSource, dict[str, RunId]]:
    server = shared_server()
    prefix = parse_qs(urlsplit(url.removeprefix("mlflow+")).query)["prefix"][0]
    ids = seed_spec(server, _spec(data, prefix), server.folder)
    return open_source(url), dict(ids)


def vanish(url: str) -> None:
    pytest.skip("the session's MLflow server is shared (test_mlflow.py checks an unreachable one)")


MLFLOW = SourceKind("mlflow", instance, seed, vanish, frozenset(), fit=fit)
