"""The store's tables.

Times are UTC epoch seconds stored as floats: the same arithmetic (run time,
"since", ranges) then works in SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

# `meta.schema_version`, which releases before Alembic check: the schema is now the Alembic
# revisions in core/migrations. Raised only by a revision that older releases must refuse.
SCHEMA_VERSION = 4


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (the schema version)."""

    key: str = Field(primary_key=True)
    value: str


class Pipeline(SQLModel, table=True):
    """A registered pipeline definition; `definition` is its validated TOML as JSON."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    version: str
    queue: str
    path: str = ""
    definition: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created: float
    updated: float


class PipelineVersion(SQLModel, table=True):
    """A pipeline definition as some run was created with it: runs refer to it, so a
    queued run executes what it was made for whatever is registered later. One row per
    distinct definition (`hash`), however many runs use it."""

    __table_args__ = (UniqueConstraint("pipeline_id", "hash", name="uq_pipelineversion_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    version: str
    hash: str
    definition: str = Field(sa_column=Column(Text, nullable=False))
    created: float


def definition_hash(definition: str) -> str:
    """The key of a definition's version row: SHA-256 of its JSON."""
    return hashlib.sha256(definition.encode()).hexdigest()


class Run(SQLModel, table=True):
    """One execution of a pipeline; `attempt` fences every write of an agent."""

    __table_args__ = (
        UniqueConstraint("pipeline_id", "number", name="uq_run_pipeline_number"),
        Index("ix_run_window", "pipeline_id", "archived", "number"),
        Index("ix_run_status", "pipeline_id", "archived", "status"),
        Index("ix_run_updated", "pipeline_id", "archived", "updated"),
        Index("ix_run_user", "pipeline_id", "archived", "user"),
        Index("ix_run_version", "pipeline_id", "archived", "version"),
        Index("ix_run_queue", "pipeline_id", "archived", "queue"),
        Index("ix_run_started", "pipeline_id", "archived", "started"),
        Index("ix_run_claim", "status", "queue", "created"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    number: int
    name: str = ""
    version: str = ""
    status: str = "pending"
    user: str = ""
    queue: str = "default"
    created: float
    started: float | None = None
    updated: float
    finished: float | None = None
    archived: bool = False
    attempt: int = 1
    agent: str | None = None
    heartbeat: float | None = None
    status_message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    progress: float | None = None
    exit_code: int | None = None
    # The definition it runs. Nullable only because SQLite cannot add a NOT NULL column
    # to a table that has rows; every run has one (new_run, the upgrade to version 3).
    definition_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("pipelineversion.id"), nullable=True),
    )


class RunParam(SQLModel, table=True):
    """A run's hyperparameter, `section/name`; `num` is set when the value is numeric."""

    __table_args__ = (
        Index("ix_param_key_num", "key", "num"),
        Index("ix_param_key_value", "key", "value"),
    )

    run_id: int = Field(foreign_key="run.id", primary_key=True)
    key: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
    num: float | None = Field(default=None, sa_column=Column(Float, nullable=True))


class RunTag(SQLModel, table=True):
    """A user label on a run."""

    __table_args__ = (Index("ix_tag_tag", "tag", "run_id"),)

    run_id: int = Field(foreign_key="run.id", primary_key=True)
    tag: str = Field(primary_key=True)


class Metric(SQLModel, table=True):
    """A run's summary of one scalar series: what the table shows and sorts on."""

    __table_args__ = (
        Index("ix_metric_sort", "title", "series", "last", "run_id"),
        Index("ix_metric_min", "title", "series", "min", "run_id"),
        Index("ix_metric_max", "title", "series", "max", "run_id"),
    )

    run_id: int = Field(foreign_key="run.id", primary_key=True)
    title: str = Field(primary_key=True)
    series: str = Field(primary_key=True)
    last: float
    min: float
    max: float
    last_step: int | None = None
    updated: float


class MetricPoint(SQLModel, table=True):
    """One reported value of a series, kept for plots."""

    __table_args__ = (Index("ix_point_run", "run_id", "title", "series", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    attempt: int
    title: str
    series: str
    step: int | None = None
    value: float
    time: float


class LogLine(SQLModel, table=True):
    """One console line of a step (stdout or stderr)."""

    __table_args__ = (Index("ix_log_run", "run_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    attempt: int
    step: str
    stream: str = "stdout"
    time: float
    line: str = Field(sa_column=Column(Text, nullable=False))


class StepRun(SQLModel, table=True):
    """One step of one attempt of a run; `executor` and `external_id` say where it ran
    (e.g. "local" and its pid), to find it with that place's own tools. `out_offset` and
    `err_offset` say how far into the step's output files (a Slurm job's spool files) the
    lines already in the log reach: where an agent that adopts the step reads on."""

    __table_args__ = (UniqueConstraint("run_id", "attempt", "name", name="uq_step_attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    attempt: int
    name: str
    status: str = "pending"
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    message: str = ""
    executor: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="", server_default="")
    )
    external_id: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="", server_default="")
    )
    out_offset: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default=text("0"))
    )
    err_offset: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default=text("0"))
    )


class Event(SQLModel, table=True):
    """A change to a run: who, when, from which state to which, and why."""

    __table_args__ = (Index("ix_event_run", "run_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    time: float
    user: str
    action: str
    from_status: str | None = None
    to_status: str | None = None
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Agent(SQLModel, table=True):
    """A worker process taking runs from queues; `last_seen` is its heartbeat."""

    name: str = Field(primary_key=True)
    host: str
    pid: int
    queues: str
    started: float
    last_seen: float
    stopped: float | None = None


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


RUN = _table(Run)
TAG = _table(RunTag)
METRIC = _table(Metric)
PARAM = _table(RunParam)
PIPELINE = _table(Pipeline)
VERSION = _table(PipelineVersion)
STEP = _table(StepRun)
LOG = _table(LogLine)
POINT = _table(MetricPoint)
EVENT = _table(Event)
