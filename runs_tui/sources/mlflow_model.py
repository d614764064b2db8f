"""An MLflow run (the REST API's JSON) as a runs-tui row, and the names between them.

- experiment -> pipeline; run -> run (its name, else the first 8 hex of its id; no `#N`)
- status: SCHEDULED Pending, RUNNING Running, FINISHED Completed, FAILED Failed,
  KILLED Aborted; lifecycle `deleted` -> archived
- start_time -> created and started, end_time -> finished (updated: the later of them);
  `mlflow.source.git.commit` -> version; user_id (else tag `mlflow.user`) -> user
- params -> hyperparameters: `lr` is `p:params/lr`; a name with a section of its own,
  `optim/lr`, stays `p:optim/lr` (and `params/x` is `p:params/params/x`: one way back)
- tags -> tags: `key` for an empty value, else `key=value`; `mlflow.*` (system) hidden
- metrics -> metrics, split like runs-tui series (`loss/val` -> loss, val); the last
  value comes with the run, min and max from its history (`LastValue` until then)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from runs_tui.core.columns import split_metric_name
from runs_tui.core.records import MetricValue, RunRow
from runs_tui.core.status import Status

STATUS = {
    "SCHEDULED": Status.PENDING,
    "RUNNING": Status.RUNNING,
    "FINISHED": Status.COMPLETED,
    "FAILED": Status.FAILED,
    "KILLED": Status.ABORTED,
}
MLFLOW_STATUS = {v.value: k for k, v in STATUS.items()}
PARENT = "mlflow.parentRunId"
COMMIT = "mlflow.source.git.commit"
USER = "mlflow.user"
SYSTEM = "mlflow."
SECTION = "params"


@dataclass
class LastValue(MetricValue):
    """A series as a search page gives it: the last value only. Its min and max (and
    their steps) are read from the history on demand; until then they are unknown."""

    def get(self, field: str) -> float | int | None:
        return super().get(field) if field in ("last", "last_step") else None


def param_spec_name(key: str) -> str:
    """An MLflow param's name as a runs-tui `section/name`."""
    section, sep, _ = key.partition("/")
    if sep and section and section != SECTION:
        return key
    return f"{SECTION}/{key}"


def param_key(name: str) -> str:
    """The MLflow param behind `section/name` (the inverse of `param_spec_name`)."""
    return name.removeprefix(f"{SECTION}/")


def metric_key(title: str, series: str) -> str:
    return title if title == series else f"{title}/{series}"


def tag_text(key: str, value: str) -> str:
    return key if value == "" else f"{key}={value}"


def tag_parts(tag: str) -> tuple[str, str]:
    """`key=value` -> (key, value); `key` -> (key, ""). MLflow keys hold no `=`."""
    key, _, value = tag.partition("=")
    return key, value


def is_number(text: str) -> bool:
    """A value written as a plain number (sorted and filtered by its number)."""
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and text.strip() == text and not text.lower().startswith(("n", "i"))


def seconds(ms: Any) -> float | None:
    return None if ms in (None, "", 0, "0") else int(ms) / 1000.0


def short_id(run_id: str) -> str:
    return run_id[:8]


@dataclass(frozen=True)
class Parsed:
    """A run's row and what else the source keeps of it: its parent, its system tags,
    and each metric's latest (step, timestamp) to tell when its history changed."""

    row: RunRow
    experiment: str
    parent: str | None
    system: dict[str, str]
    latest: dict[str, tuple[int, int]]


def parse_run(data: dict[str, Any], pipeline: str) -> Parsed:
    info = data.get("info", {})
    body = data.get("data", {})
    run_id = str(info.get("run_id") or info.get("run_uuid") or "")
    tags = {str(t.get("key")): str(t.get("value", "")) for t in body.get("tags", [])}
    system = {k: v for k, v in tags.items() if k.startswith(SYSTEM)}
    shown = sorted(
        tag_text(k, v) for k, v in tags.items() if not k.startswith((SYSTEM, "runs_tui."))
    )
    params = {
        param_spec_name(str(p.get("key"))): str(p.get("value", "")) for p in body.get("params", [])
    }
    metrics: dict[tuple[str, str], MetricValue] = {}
    latest: dict[str, tuple[int, int]] = {}
    for m in body.get("metrics", []):
        key = str(m.get("key"))
        value = as_float(m.get("value"))
        step = int(m.get("step") or 0)
        metrics[split_metric_name(key)] = LastValue(value, math.nan, math.nan, step)
        latest[key] = (step, int(m.get("timestamp") or 0))
    start = seconds(info.get("start_time"))
    end = seconds(info.get("end_time"))
    status = STATUS.get(str(info.get("status")), Status.RUNNING)
    created = start if start is not None else 0.0
    row = RunRow(
        id=run_id,
        pipeline=pipeline,
        number=None,
        name=str(info.get("run_name") or "") or short_id(run_id),
        version=system.get(COMMIT, ""),
        status=status.value,
        user=str(info.get("user_id") or "") or system.get(USER, ""),
        queue="",
        created=created,
        started=start,
        updated=max(t for t in (end, start, created) if t is not None),
        finished=end,
        archived=info.get("lifecycle_stage") == "deleted",
        attempt=1,
        agent=None,
        progress=None,
        status_message="",
        exit_code=None,
        tags=tuple(shown),
        metrics=metrics,
        params=params,
    )
    return Parsed(row, str(info.get("experiment_id", "")), system.get(PARENT), system, latest)


def as_float(value: Any) -> float:
    """MLflow sends NaN and infinities as strings ("NaN", "Infinity")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def history_summary(points: list[dict[str, Any]]) -> MetricValue | None:
    """Last (at the highest step, then the latest time), min and max with the step where
    each was first reached, from a metric's whole history."""
    if not points:
        return None
    ordered = sorted(points, key=lambda p: (int(p.get("step") or 0), int(p.get("timestamp") or 0)))
    values = [(as_float(p.get("value")), int(p.get("step") or 0)) for p in ordered]
    real = [v for v in values if not math.isnan(v[0])] or values
    lo = min(real, key=lambda v: (v[0], v[1]))
    hi = max(real, key=lambda v: (v[0], -v[1]))
    last = values[-1]
    return MetricValue(last[0], lo[0], hi[0], last[1], lo[1], hi[1])
