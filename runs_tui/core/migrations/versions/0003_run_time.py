"""RUN TIME counts the time a run's attempts ran: `run.ran` holds what its earlier
attempts ran and `started` becomes this attempt's start (it was the first attempt's, so a
continued run counted the days it waited Aborted or Pending). A run of several attempts
gets both from its steps and events."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen here: the tables as this revision knows them, whatever they become later.
RUN = sa.table(
    "run",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("attempt", sa.Integer),
    sa.column("started", sa.Float),
    sa.column("ran", sa.Float),
)
STEP = sa.table(
    "steprun",
    sa.column("run_id", sa.Integer),
    sa.column("attempt", sa.Integer),
    sa.column("started", sa.Float),
    sa.column("finished", sa.Float),
)
EVENT = sa.table(
    "event",
    sa.column("run_id", sa.Integer),
    sa.column("time", sa.Float),
    sa.column("action", sa.String),
)


def upgrade() -> None:
    op.add_column("run", sa.Column("ran", sa.Float, nullable=False, server_default="0"))
    conn = op.get_bind()
    again = {
        run_id: (status, attempt, started)
        for run_id, status, attempt, started in conn.execute(
            sa.select(RUN.c.id, RUN.c.status, RUN.c.attempt, RUN.c.started).where(RUN.c.attempt > 1)
        )
    }
    if not again:
        return
    spans = (
        sa.select(
            STEP.c.run_id,
            STEP.c.attempt,
            sa.func.min(STEP.c.started),
            sa.func.max(sa.func.coalesce(STEP.c.finished, STEP.c.started)),
        )
        .where(STEP.c.started.is_not(None), STEP.c.run_id.in_(list(again)))
        .group_by(STEP.c.run_id, STEP.c.attempt)
    )
    ran: dict[int, float] = {}
    first_step: dict[int, float] = {}
    for run_id, attempt, begin, end in conn.execute(spans):
        if attempt < again[run_id][1]:
            ran[run_id] = ran.get(run_id, 0.0) + max(end - begin, 0.0)
        elif attempt == again[run_id][1]:
            first_step[run_id] = begin
    starts = dict(
        conn.execute(
            sa.select(EVENT.c.run_id, sa.func.max(EVENT.c.time))
            .where(EVENT.c.action == "start", EVENT.c.run_id.in_(list(again)))
            .group_by(EVENT.c.run_id)
        ).all()
    )
    for run_id, (status, _attempt, started) in again.items():
        if status == "pending":
            current = None  # waiting for its next attempt: it has not started
        else:
            current = starts.get(run_id, first_step.get(run_id, started))
        conn.execute(
            sa.update(RUN)
            .where(RUN.c.id == run_id)
            .values(ran=ran.get(run_id, 0.0), started=current)
        )


def downgrade() -> None:
    op.drop_column("run", "ran")
