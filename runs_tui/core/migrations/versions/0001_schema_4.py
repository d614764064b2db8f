"""Schema 4, the last made without Alembic: any database brought to it.

An empty database gets every table. One made by a runs-tui before Alembic
(`meta.schema_version` 1 to 4) gets what it lacks: tables, the columns added since
schema 1, indexes (made when missing, made again when their columns changed since), and
a `pipelineversion` row for runs made before versions were kept; `meta.schema_version`
becomes 4. So this revision may run on a database that has all of it already.

Frozen: the tables are written out here as they were, not taken from `models.py`; later
changes are later revisions.
"""

from __future__ import annotations

import hashlib
import time

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA_VERSION = 4  # what runs-tui releases before Alembic read in `meta`

metadata = sa.MetaData()


def _ids() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True)


def _run_id() -> sa.Column[int]:
    return sa.Column("run_id", sa.Integer, sa.ForeignKey("run.id"), nullable=False)


sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)
sa.Table(
    "agent",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("host", sa.String, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("queues", sa.String, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("stopped", sa.Float),
)
PIPELINE = sa.Table(
    "pipeline",
    metadata,
    _ids(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("version", sa.String, nullable=False),
    sa.Column("queue", sa.String, nullable=False),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)
VERSION = sa.Table(
    "pipelineversion",
    metadata,
    _ids(),
    sa.Column("pipeline_id", sa.Integer, sa.ForeignKey("pipeline.id"), nullable=False),
    sa.Column("version", sa.String, nullable=False),
    sa.Column("hash", sa.String, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.UniqueConstraint("pipeline_id", "hash", name="uq_pipelineversion_hash"),
)
RUN = sa.Table(
    "run",
    metadata,
    _ids(),
    sa.Column("pipeline_id", sa.Integer, sa.ForeignKey("pipeline.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("version", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("queue", sa.String, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("started", sa.Float),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("finished", sa.Float),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("agent", sa.String),
    sa.Column("heartbeat", sa.Float),
    sa.Column("status_message", sa.Text, nullable=False),
    sa.Column("progress", sa.Float),
    sa.Column("exit_code", sa.Integer),
    sa.Column("definition_id", sa.Integer, sa.ForeignKey("pipelineversion.id")),
    sa.UniqueConstraint("pipeline_id", "number", name="uq_run_pipeline_number"),
    sa.Index("ix_run_window", "pipeline_id", "archived", "number"),
    sa.Index("ix_run_status", "pipeline_id", "archived", "status"),
    sa.Index("ix_run_updated", "pipeline_id", "archived", "updated"),
    sa.Index("ix_run_user", "pipeline_id", "archived", "user"),
    sa.Index("ix_run_version", "pipeline_id", "archived", "version"),
    sa.Index("ix_run_queue", "pipeline_id", "archived", "queue"),
    sa.Index("ix_run_started", "pipeline_id", "archived", "started"),
    sa.Index("ix_run_claim", "status", "queue", "created"),
)
sa.Table(
    "runparam",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("run.id"), primary_key=True),
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("num", sa.Float),
    sa.Index("ix_param_key_num", "key", "num"),
    sa.Index("ix_param_key_value", "key", "value"),
)
sa.Table(
    "runtag",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("run.id"), primary_key=True),
    sa.Column("tag", sa.String, primary_key=True),
    sa.Index("ix_tag_tag", "tag", "run_id"),
)
sa.Table(
    "metric",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("run.id"), primary_key=True),
    sa.Column("title", sa.String, primary_key=True),
    sa.Column("series", sa.String, primary_key=True),
    sa.Column("last", sa.Float, nullable=False),
    sa.Column("min", sa.Float, nullable=False),
    sa.Column("max", sa.Float, nullable=False),
    sa.Column("last_step", sa.Integer),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Index("ix_metric_sort", "title", "series", "last", "run_id"),
    sa.Index("ix_metric_min", "title", "series", "min", "run_id"),
    sa.Index("ix_metric_max", "title", "series", "max", "run_id"),
)
sa.Table(
    "metricpoint",
    metadata,
    _ids(),
    _run_id(),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("series", sa.String, nullable=False),
    sa.Column("step", sa.Integer),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Index("ix_point_run", "run_id", "title", "series", "id"),
)
sa.Table(
    "logline",
    metadata,
    _ids(),
    _run_id(),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("step", sa.String, nullable=False),
    sa.Column("stream", sa.String, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.Index("ix_log_run", "run_id", "id"),
)
sa.Table(
    "steprun",
    metadata,
    _ids(),
    _run_id(),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("started", sa.Float),
    sa.Column("finished", sa.Float),
    sa.Column("exit_code", sa.Integer),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("executor", sa.Text, nullable=False, server_default=""),
    sa.Column("external_id", sa.Text, nullable=False, server_default=""),
    sa.Column("out_offset", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("err_offset", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.UniqueConstraint("run_id", "attempt", "name", name="uq_step_attempt"),
    sa.Index("ix_steprun_run_id", "run_id"),
)
sa.Table(
    "event",
    metadata,
    _ids(),
    _run_id(),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("user", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("from_status", sa.String),
    sa.Column("to_status", sa.String),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index("ix_event_run", "run_id", "id"),
)

# Columns added by schemas 2 to 4, as (table, column, DDL): what a table made by an
# earlier schema lacks. SQLite cannot add a NOT NULL column without a default, nor a
# NOT NULL foreign key to a table with rows (hence `definition_id` stays nullable).
ADDED_COLUMNS = (
    ("steprun", "executor", "TEXT NOT NULL DEFAULT ''"),  # 2
    ("steprun", "external_id", "TEXT NOT NULL DEFAULT ''"),  # 2
    ("run", "definition_id", "INTEGER REFERENCES pipelineversion(id)"),  # 3
    ("steprun", "out_offset", "BIGINT NOT NULL DEFAULT 0"),  # 4
    ("steprun", "err_offset", "BIGINT NOT NULL DEFAULT 0"),  # 4
)


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)  # the tables missing, with their indexes
    inspector = sa.inspect(bind)
    for table, column, ddl in ADDED_COLUMNS:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
    _remake_indexes(bind)
    _give_runs_versions(bind)
    meta = metadata.tables["meta"]
    bind.execute(sa.delete(meta).where(meta.c.key == "schema_version"))
    bind.execute(sa.insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))


def _remake_indexes(bind: sa.Connection) -> None:
    """Schema 1 databases lack indexes added later without a version change, and one of
    theirs (`ix_run_updated`) has other columns: each index is made as it is now."""
    inspector = sa.inspect(bind)
    for table in metadata.sorted_tables:
        found = {i["name"]: i["column_names"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            columns = [c.name for c in index.columns]
            if index.name in found and found[index.name] != columns:
                index.drop(bind)
            if found.get(index.name) != columns:
                index.create(bind)


def _give_runs_versions(bind: sa.Connection) -> None:
    """Schema 3: every pipeline gets a version row of its current definition, and runs
    made before versions were kept refer to it. What they were created with is not known;
    their pipeline's current definition is what they would have run until now."""
    for pid, number, definition in bind.execute(
        sa.select(PIPELINE.c.id, PIPELINE.c.version, PIPELINE.c.definition)
    ).all():
        key = hashlib.sha256(definition.encode()).hexdigest()
        find = sa.select(VERSION.c.id).where(VERSION.c.pipeline_id == pid, VERSION.c.hash == key)
        vid = bind.execute(find).scalar()
        if vid is None:
            values = {"version": number, "definition": definition, "created": time.time()}
            bind.execute(sa.insert(VERSION).values(pipeline_id=pid, hash=key, **values))
            vid = bind.execute(find).scalar_one()
        bind.execute(
            sa.update(RUN)
            .where(RUN.c.pipeline_id == pid, RUN.c.definition_id.is_(None))
            .values(definition_id=vid)
        )
