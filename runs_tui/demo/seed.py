"""Example history for the demo: runs in every state over the last days.

Deterministic for a given seed and clock, so screenshots and snapshots can be
made again and come out the same.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from sqlmodel import Session

from runs_tui.core.columns import split_metric_name
from runs_tui.core.db import Store
from runs_tui.core.models import Event, LogLine, Metric, MetricPoint, Run, RunTag, StepRun
from runs_tui.core.ops import param_row
from runs_tui.core.pipelines import PipelineDef
from runs_tui.core.registry import load_registered, register, version_of
from runs_tui.core.status import Status

DEMO_DIR = Path(__file__).parent
PIPELINE_FILES = ("train-resnet.toml", "tune-bert.toml", "etl-daily.toml")
USERS = ("alice", "bob", "carol", "dmitri")
TAGS = ("baseline", "sweep", "prod", "debug", "lr-search", "ablation")
STATES = (
    [Status.COMPLETED] * 12
    + [Status.FAILED] * 4
    + [Status.ABORTED] * 3
    + [Status.RUNNING] * 3
    + [Status.PENDING] * 2
)
METRICS = {
    "train-resnet": ("loss/train", "loss/val", "accuracy/val"),
    "tune-bert": ("loss/train", "loss/val", "f1/val"),
    "etl-daily": ("rows/out",),
}


def seed(
    store: Store, at: float, runs_per_pipeline: int = 24, rng_seed: int = 7, *, live: bool = False
) -> list[str]:
    """Register the demo pipelines and write their history ending at `at`; `live` leaves
    the newest runs Pending instead of Running, for a real agent to take."""
    rng = random.Random(rng_seed)
    names = []
    for filename in PIPELINE_FILES:
        pipe = register(store, DEMO_DIR / filename)
        assert pipe.id is not None
        definition = load_registered(pipe)
        names.append(pipe.name)
        with store.write() as session:
            version_id = version_of(session, pipe)
            for number in range(1, runs_per_pipeline + 1):
                status = STATES[(number * 7 + len(pipe.name)) % len(STATES)]
                if number > runs_per_pipeline - 3:
                    status = (Status.RUNNING, Status.PENDING, Status.RUNNING)[
                        runs_per_pipeline - number
                    ]
                if live and status == Status.RUNNING:
                    status = Status.PENDING
                _write_run(
                    session,
                    rng,
                    (pipe.id, version_id),
                    definition,
                    number,
                    status,
                    at,
                    runs_per_pipeline,
                )
    return names


def _write_run(
    session: Session,
    rng: random.Random,
    ids: tuple[int, int],
    definition: PipelineDef,
    number: int,
    status: Status,
    at: float,
    total: int,
) -> None:
    """One run of the pipeline and definition version `ids`, with its params, metrics,
    steps, logs and events."""
    created = at - (total - number + 1) * 3.1 * 3600 * rng.uniform(0.8, 1.0)
    started = created + rng.uniform(5, 120) if status != Status.PENDING else None
    length = rng.uniform(600, 5400)
    finished = None
    if status in (Status.COMPLETED, Status.FAILED, Status.ABORTED) and started is not None:
        finished = started + length * (1.0 if status == Status.COMPLETED else rng.uniform(0.2, 0.8))
    if status == Status.RUNNING:
        started = at - rng.uniform(60, 1800)
    progress = None
    if status == Status.RUNNING and started is not None:
        progress = round(min((at - started) / length, 0.95), 2)
    updated = finished or (at - rng.uniform(1, 20) if status == Status.RUNNING else created)
    message = {
        Status.FAILED: "step 'train' exited with code 1",
        Status.ABORTED: f"aborted by {rng.choice(USERS)}",
    }.get(status, "")
    run = Run(
        pipeline_id=ids[0],
        definition_id=ids[1],
        number=number,
        name=f"{definition.name} #{number}",
        version=definition.version,
        status=status,
        user=rng.choice(USERS),
        queue=definition.queue,
        created=created,
        started=started,
        updated=updated,
        finished=finished,
        attempt=1,
        progress=progress,
        status_message=message,
        agent="demo-agent" if started else None,
        exit_code={Status.COMPLETED: 0, Status.FAILED: 1}.get(status),
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    params = _params(rng, definition)
    for key, value in params.items():
        session.add(param_row(run.id, key, value))
    for tag in rng.sample(TAGS, rng.choice((0, 1, 1, 2, 3))):
        session.add(RunTag(run_id=run.id, tag=tag))
    session.add(
        Event(
            run_id=run.id,
            time=created,
            user=run.user,
            action="run",
            from_status=None,
            to_status="pending",
            message=f"queue {run.queue}",
        )
    )
    if started is not None:
        session.add(
            Event(
                run_id=run.id,
                time=started,
                user="demo-agent",
                action="start",
                from_status="pending",
                to_status="running",
            )
        )
        _metrics(session, rng, run.id, definition.name, started, finished or at, params)
        _steps(session, run.id, definition, status, started, finished or at)
    if finished is not None:
        session.add(
            Event(
                run_id=run.id,
                time=finished,
                user=run.user if status == Status.ABORTED else "demo-agent",
                action=str(status),
                from_status="running",
                to_status=status,
                message=message,
            )
        )


def _params(rng: random.Random, definition: PipelineDef) -> dict[str, str | int | float | bool]:
    out = dict(definition.parameters)
    for key, value in out.items():
        if key.endswith("/lr") and isinstance(value, float):
            out[key] = float(f"{value * rng.choice((0.3, 0.5, 1, 2, 3)):.6g}")
        elif key.endswith("/epochs") and isinstance(value, int):
            out[key] = value + rng.choice((0, 0, 5, 10))
        elif key.endswith("/batch_size"):
            out[key] = rng.choice((64, 128, 256))
    return out


def _metrics(
    session: Session,
    rng: random.Random,
    run_id: int,
    pipeline: str,
    start: float,
    end: float,
    params: dict[str, str | int | float | bool],
) -> None:
    lr = float(params.get("args/lr", 0.01))
    quality = rng.uniform(0.7, 1.3) * (1.2 if lr > 0.015 else 1.0)
    steps = 20
    for name in METRICS[pipeline]:
        title, series = split_metric_name(name)
        values = []
        for i in range(steps):
            x = (i + 1) / steps
            if title == "loss":
                v = quality * (0.25 + 2.0 * math.exp(-4 * x)) + rng.uniform(-0.03, 0.03)
                v += 0.05 if series == "val" else 0.0
            elif title == "rows":
                v = float(int(rng.uniform(9e5, 1.1e6) * x))
            else:
                v = min(0.99, (0.97 / quality) * (1 - math.exp(-3 * x)) + rng.uniform(-0.02, 0.02))
            values.append(v)
            session.add(
                MetricPoint(
                    run_id=run_id,
                    attempt=1,
                    title=title,
                    series=series,
                    step=i * 100,
                    value=v,
                    time=start + (end - start) * x,
                )
            )
        session.add(
            Metric(
                run_id=run_id,
                title=title,
                series=series,
                last=values[-1],
                min=min(values),
                max=max(values),
                last_step=(steps - 1) * 100,
                min_step=values.index(min(values)) * 100,
                max_step=values.index(max(values)) * 100,
                updated=end,
            )
        )


def _steps(
    session: Session, run_id: int, definition: PipelineDef, status: Status, start: float, end: float
) -> None:
    order = definition.order()
    span = (end - start) / len(order)
    for i, step in enumerate(order):
        t0 = start + i * span
        last = i == len(order) - 1 or (status != Status.COMPLETED and i == len(order) // 2)
        step_status = "completed" if not last or status == Status.COMPLETED else str(status)
        session.add(
            StepRun(
                run_id=run_id,
                attempt=1,
                name=step.name,
                status=step_status,
                started=t0,
                finished=None if step_status == "running" else t0 + span,
                exit_code={"completed": 0, "failed": 1}.get(step_status),
            )
        )
        for j in range(3):
            session.add(
                LogLine(
                    run_id=run_id,
                    attempt=1,
                    step=step.name,
                    time=t0 + j,
                    line=f"[{step.name}] line {j + 1}: working",
                )
            )
        if step_status == "failed":
            for j, line in enumerate(_traceback(step.name), start=3):
                session.add(
                    LogLine(
                        run_id=run_id,
                        attempt=1,
                        step=step.name,
                        stream="stderr",
                        time=t0 + j,
                        line=line,
                    )
                )
        if last:
            break


def _traceback(step: str) -> list[str]:
    """What a failed demo step wrote last: a Python traceback (`E` jumps to it)."""
    return [
        "Traceback (most recent call last):",
        f'  File "{step}.py", line 88, in <module>',
        "    main()",
        f'  File "{step}.py", line 71, in main',
        "    loss = run_batch(batch)",
        "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
    ]
