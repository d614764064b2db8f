"""The store's rows as SQLModel classes, for the code that writes them (new runs,
transitions, tags, registering, the agent, the demo) and for tests.

Each class is mapped onto its table in `core.tables`, which alone says what the columns
are (types, keys, defaults, indexes): a field only names a column and gives its Python
type; its default is the column's. Importing this module costs SQLModel, pydantic and
the ORM, so the read path never does: `core.models` imports it on first use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlmodel import Field, SQLModel

from runs_tui.core.tables import (
    AGENT,
    EVENT,
    LOG,
    META,
    METRIC,
    PARAM,
    PIPELINE,
    POINT,
    RUN,
    STEP,
    TAG,
    VERSION,
)


def _column(table: Table, name: str, **field: Any) -> Any:
    """The field of `table`'s column `name`, defaulting to the column's default; else None
    when the database may make the value (NULL, an id), else required."""
    column = table.c[name]
    if "default" not in field:
        if column.default is not None:
            field["default"] = column.default.arg  # type: ignore[attr-defined]
        elif column.nullable or column is table.autoincrement_column:
            field["default"] = None
    return Field(sa_column=column, **field)


class Meta(SQLModel, table=True):
    __table__ = META

    key: str = _column(META, "key")
    value: str = _column(META, "value")


class Pipeline(SQLModel, table=True):
    __table__ = PIPELINE

    id: int | None = _column(PIPELINE, "id")
    name: str = _column(PIPELINE, "name")
    version: str = _column(PIPELINE, "version")
    queue: str = _column(PIPELINE, "queue")
    path: str = _column(PIPELINE, "path")
    definition: str = _column(PIPELINE, "definition", default="{}")
    created: float = _column(PIPELINE, "created")
    updated: float = _column(PIPELINE, "updated")


class PipelineVersion(SQLModel, table=True):
    __table__ = VERSION

    id: int | None = _column(VERSION, "id")
    pipeline_id: int = _column(VERSION, "pipeline_id")
    version: str = _column(VERSION, "version")
    hash: str = _column(VERSION, "hash")
    definition: str = _column(VERSION, "definition")
    created: float = _column(VERSION, "created")


class Run(SQLModel, table=True):
    __table__ = RUN

    id: int | None = _column(RUN, "id")
    pipeline_id: int = _column(RUN, "pipeline_id")
    number: int = _column(RUN, "number")
    name: str = _column(RUN, "name")
    version: str = _column(RUN, "version")
    status: str = _column(RUN, "status")
    user: str = _column(RUN, "user")
    queue: str = _column(RUN, "queue")
    created: float = _column(RUN, "created")
    started: float | None = _column(RUN, "started")
    updated: float = _column(RUN, "updated")
    finished: float | None = _column(RUN, "finished")
    archived: bool = _column(RUN, "archived")
    attempt: int = _column(RUN, "attempt")
    agent: str | None = _column(RUN, "agent")
    heartbeat: float | None = _column(RUN, "heartbeat")
    status_message: str = _column(RUN, "status_message")
    progress: float | None = _column(RUN, "progress")
    exit_code: int | None = _column(RUN, "exit_code")
    ran: float = _column(RUN, "ran")
    definition_id: int | None = _column(RUN, "definition_id")


class RunParam(SQLModel, table=True):
    __table__ = PARAM

    run_id: int = _column(PARAM, "run_id")
    key: str = _column(PARAM, "key")
    value: str = _column(PARAM, "value")
    num: float | None = _column(PARAM, "num")


class RunTag(SQLModel, table=True):
    __table__ = TAG

    run_id: int = _column(TAG, "run_id")
    tag: str = _column(TAG, "tag")


class Metric(SQLModel, table=True):
    __table__ = METRIC

    run_id: int = _column(METRIC, "run_id")
    title: str = _column(METRIC, "title")
    series: str = _column(METRIC, "series")
    last: float = _column(METRIC, "last")
    min: float = _column(METRIC, "min")
    max: float = _column(METRIC, "max")
    last_step: int | None = _column(METRIC, "last_step")
    updated: float = _column(METRIC, "updated")
    min_step: int | None = _column(METRIC, "min_step")
    max_step: int | None = _column(METRIC, "max_step")


class MetricPoint(SQLModel, table=True):
    __table__ = POINT

    id: int | None = _column(POINT, "id")
    run_id: int = _column(POINT, "run_id")
    attempt: int = _column(POINT, "attempt")
    title: str = _column(POINT, "title")
    series: str = _column(POINT, "series")
    step: int | None = _column(POINT, "step")
    value: float = _column(POINT, "value")
    time: float = _column(POINT, "time")


class LogLine(SQLModel, table=True):
    __table__ = LOG

    id: int | None = _column(LOG, "id")
    run_id: int = _column(LOG, "run_id")
    attempt: int = _column(LOG, "attempt")
    step: str = _column(LOG, "step")
    stream: str = _column(LOG, "stream")
    time: float = _column(LOG, "time")
    line: str = _column(LOG, "line")


class StepRun(SQLModel, table=True):
    __table__ = STEP

    id: int | None = _column(STEP, "id")
    run_id: int = _column(STEP, "run_id")
    attempt: int = _column(STEP, "attempt")
    name: str = _column(STEP, "name")
    status: str = _column(STEP, "status")
    started: float | None = _column(STEP, "started")
    finished: float | None = _column(STEP, "finished")
    exit_code: int | None = _column(STEP, "exit_code")
    message: str = _column(STEP, "message")
    executor: str = _column(STEP, "executor")
    external_id: str = _column(STEP, "external_id")
    out_offset: int = _column(STEP, "out_offset")
    err_offset: int = _column(STEP, "err_offset")


class Event(SQLModel, table=True):
    __table__ = EVENT

    id: int | None = _column(EVENT, "id")
    run_id: int = _column(EVENT, "run_id")
    time: float = _column(EVENT, "time")
    user: str = _column(EVENT, "user")
    action: str = _column(EVENT, "action")
    from_status: str | None = _column(EVENT, "from_status")
    to_status: str | None = _column(EVENT, "to_status")
    message: str = _column(EVENT, "message")


class Agent(SQLModel, table=True):
    __table__ = AGENT

    name: str = _column(AGENT, "name")
    host: str = _column(AGENT, "host")
    pid: int = _column(AGENT, "pid")
    queues: str = _column(AGENT, "queues")
    started: float = _column(AGENT, "started")
    last_seen: float = _column(AGENT, "last_seen")
    stopped: float | None = _column(AGENT, "stopped")
