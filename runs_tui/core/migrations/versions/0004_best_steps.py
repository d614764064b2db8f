"""Where a series reached its minimum and maximum: `metric.min_step` and `max_step`, the
steps of the first points that reached them (the `m:…:min@step` columns), with indexes
to sort on them as on the values. A database's existing summaries get them from their
stored points: the first point, in the order reported, holding that value."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen here: the tables as this revision knows them, whatever they become later.
METRIC = sa.table(
    "metric",
    sa.column("run_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("series", sa.String),
    sa.column("min", sa.Float),
    sa.column("max", sa.Float),
    sa.column("min_step", sa.Integer),
    sa.column("max_step", sa.Integer),
)
POINT = sa.table(
    "metricpoint",
    sa.column("id", sa.Integer),
    sa.column("run_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("series", sa.String),
    sa.column("step", sa.Integer),
    sa.column("value", sa.Float),
)


def _first_step(value: sa.ColumnElement[float]) -> sa.ScalarSelect[int]:
    """The step of the series' first point holding `value` (its index walks the
    series' points by id): NULL when none does (points dropped while the database was
    away) or that point had no step."""
    return (
        sa.select(POINT.c.step)
        .where(
            POINT.c.run_id == METRIC.c.run_id,
            POINT.c.title == METRIC.c.title,
            POINT.c.series == METRIC.c.series,
            POINT.c.value == value,
        )
        .order_by(POINT.c.id)
        .limit(1)
        .scalar_subquery()
    )


def upgrade() -> None:
    op.add_column("metric", sa.Column("min_step", sa.Integer, nullable=True))
    op.add_column("metric", sa.Column("max_step", sa.Integer, nullable=True))
    op.execute(
        sa.update(METRIC).values(
            min_step=_first_step(METRIC.c.min), max_step=_first_step(METRIC.c.max)
        )
    )
    op.create_index("ix_metric_min_step", "metric", ["title", "series", "min_step", "run_id"])
    op.create_index("ix_metric_max_step", "metric", ["title", "series", "max_step", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_metric_max_step", "metric")
    op.drop_index("ix_metric_min_step", "metric")
    op.drop_column("metric", "max_step")
    op.drop_column("metric", "min_step")
