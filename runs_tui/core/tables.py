"""The store's tables as SQLAlchemy Core: the one description of the schema now.

Everything reads and writes through these; `core.orm` maps its SQLModel classes onto
them (for the writers), and the Alembic revisions in `core.migrations` say how a
database gets here. Plain Core keeps SQLModel, pydantic and the ORM off the read path
(the app's first screen, `ls`, exports): they cost about as much to import as Textual.

Times are UTC epoch seconds stored as floats: the same arithmetic (run time, "since",
ranges) then works in SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# Key/value facts about the database itself (the schema version).
META = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

# A registered pipeline definition; `definition` is its validated TOML as JSON.
PIPELINE = Table(
    "pipeline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), unique=True, nullable=False),
    Column("version", String, nullable=False),
    Column("queue", String, nullable=False),
    Column("path", String, nullable=False, default=""),
    Column("definition", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
)

# A pipeline definition as some run was created with it: runs refer to it, so a queued
# run executes what it was made for whatever is registered later. One row per distinct
# definition (`hash`), however many runs use it.
VERSION = Table(
    "pipelineversion",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pipeline_id", Integer, ForeignKey("pipeline.id"), nullable=False),
    Column("version", String, nullable=False),
    Column("hash", String, nullable=False),
    Column("definition", Text, nullable=False),
    Column("created", Float, nullable=False),
    UniqueConstraint("pipeline_id", "hash", name="uq_pipelineversion_hash"),
)

# One execution of a pipeline; `attempt` fences every write of an agent.
RUN = Table(
    "run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pipeline_id", Integer, ForeignKey("pipeline.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", String, nullable=False, default=""),
    Column("version", String, nullable=False, default=""),
    Column("status", String, nullable=False, default="pending"),
    Column("user", String, nullable=False, default=""),
    Column("queue", String, nullable=False, default="default"),
    Column("created", Float, nullable=False),
    Column("started", Float, nullable=True),
    Column("updated", Float, nullable=False),
    Column("finished", Float, nullable=True),
    Column("archived", Boolean, nullable=False, default=False),
    Column("attempt", Integer, nullable=False, default=1),
    Column("agent", String, nullable=True),
    Column("heartbeat", Float, nullable=True),
    Column("status_message", Text, nullable=False, default=""),
    Column("progress", Float, nullable=True),
    Column("exit_code", Integer, nullable=True),
    # Seconds the run ran in its earlier attempts; `started` is when this one started.
    # RUN TIME is their sum, never the time it spent Pending or Aborted in between.
    Column("ran", Float, nullable=False, default=0.0, server_default="0"),
    # The definition it runs. Nullable only because SQLite cannot add a NOT NULL column
    # to a table that has rows; every run has one (new_run, the upgrade to version 3).
    Column("definition_id", Integer, ForeignKey("pipelineversion.id"), nullable=True),
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

# A run's hyperparameter, `section/name`; `num` is set when the value is numeric.
PARAM = Table(
    "runparam",
    metadata,
    Column("run_id", Integer, ForeignKey("run.id"), primary_key=True),
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
    Column("num", Float, nullable=True),
    Index("ix_param_key_num", "key", "num"),
    Index("ix_param_key_value", "key", "value"),
)

# A user label on a run.
TAG = Table(
    "runtag",
    metadata,
    Column("run_id", Integer, ForeignKey("run.id"), primary_key=True),
    Column("tag", String, primary_key=True),
    Index("ix_tag_tag", "tag", "run_id"),
)

# A run's summary of one scalar series: what the table shows and sorts on. `min_step`
# and `max_step` are the steps of the first points that reached the minimum and the
# maximum (NULL when that point had no step).
METRIC = Table(
    "metric",
    metadata,
    Column("run_id", Integer, ForeignKey("run.id"), primary_key=True),
    Column("title", String, primary_key=True),
    Column("series", String, primary_key=True),
    Column("last", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("last_step", Integer, nullable=True),
    Column("updated", Float, nullable=False),
    Column("min_step", Integer, nullable=True),
    Column("max_step", Integer, nullable=True),
    Index("ix_metric_sort", "title", "series", "last", "run_id"),
    Index("ix_metric_min", "title", "series", "min", "run_id"),
    Index("ix_metric_max", "title", "series", "max", "run_id"),
    Index("ix_metric_min_step", "title", "series", "min_step", "run_id"),
    Index("ix_metric_max_step", "title", "series", "max_step", "run_id"),
)

# One reported value of a series, kept for plots.
POINT = Table(
    "metricpoint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("run.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("title", String, nullable=False),
    Column("series", String, nullable=False),
    Column("step", Integer, nullable=True),
    Column("value", Float, nullable=False),
    Column("time", Float, nullable=False),
    Index("ix_point_run", "run_id", "title", "series", "id"),
)

# One console line of a step (stdout or stderr).
LOG = Table(
    "logline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("run.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("step", String, nullable=False),
    Column("stream", String, nullable=False, default="stdout"),
    Column("time", Float, nullable=False),
    Column("line", Text, nullable=False),
    Index("ix_log_run", "run_id", "id"),
)

# One step of one attempt of a run; `executor` and `external_id` say where it ran (e.g.
# "local" and its pid), to find it with that place's own tools. `out_offset` and
# `err_offset` say how far into the step's output files (a Slurm job's spool files) the
# lines already in the log reach: where an agent that adopts the step reads on.
STEP = Table(
    "steprun",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("run.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("status", String, nullable=False, default="pending"),
    Column("started", Float, nullable=True),
    Column("finished", Float, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("message", String, nullable=False, default=""),
    Column("executor", Text, nullable=False, default="", server_default=""),
    Column("external_id", Text, nullable=False, default="", server_default=""),
    Column("out_offset", BigInteger, nullable=False, default=0, server_default=text("0")),
    Column("err_offset", BigInteger, nullable=False, default=0, server_default=text("0")),
    UniqueConstraint("run_id", "attempt", "name", name="uq_step_attempt"),
)

# A change to a run: who, when, from which state to which, and why.
EVENT = Table(
    "event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("run.id"), nullable=False),
    Column("time", Float, nullable=False),
    Column("user", String, nullable=False),
    Column("action", String, nullable=False),
    Column("from_status", String, nullable=True),
    Column("to_status", String, nullable=True),
    Column("message", Text, nullable=False, default=""),
    Index("ix_event_run", "run_id", "id"),
)

# A worker process taking runs from queues; `last_seen` is its heartbeat.
AGENT = Table(
    "agent",
    metadata,
    Column("name", String, primary_key=True),
    Column("host", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("queues", String, nullable=False),
    Column("started", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("stopped", Float, nullable=True),
)
