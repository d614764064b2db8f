"""The search index: `runsearch` (a run's searched text, kept by triggers) and its index,
SQLite FTS5 trigram or PostgreSQL pg_trgm GIN, filled from the runs already there
(core/search_index.py; about a minute at 1,000,000 runs)."""

from __future__ import annotations

from alembic import op

from runs_tui.core import search_index

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    search_index.install(op.get_bind())


def downgrade() -> None:
    search_index.uninstall(op.get_bind())
