"""Bringing a database to the newest revision with Alembic, on the store's own connection.

No alembic.ini and no env.py: the configuration is made here and the revisions run in the
caller's transaction, so the caller's lock (SQLite's write lock, PostgreSQL's advisory
lock) covers the whole upgrade and a failure leaves the database as it was. Only
`db.open_store` imports this, and only when a database is behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from runs_tui.core.migrations import FOLDER

# Alembic's `op` and `context` are proxies global to the process: one upgrade at a time.
_ONE_AT_A_TIME = threading.Lock()


@cache
def scripts() -> tuple[Config, ScriptDirectory]:
    """The configuration and the revisions in `versions/`, read once per process."""
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    return config, ScriptDirectory.from_config(config)


def upgrade(connection: Connection) -> None:
    """Run every revision the database lacks, oldest first, inside the connection's open
    transaction (committed or rolled back by the caller). A database made before Alembic
    has no `alembic_version` table and gets every revision from "0001", which brings any
    earlier schema to the last one made without Alembic."""
    _run(connection, "head", lambda script, current: script._upgrade_revs("head", current))


def downgrade(connection: Connection, target: str) -> None:
    """Undo revisions down to `target` ("base": all), as `upgrade` runs them. runs-tui
    itself never goes back (a newer database is refused); tests make older databases
    with it, and it checks that each revision's `downgrade()` undoes its `upgrade()`."""
    _run(connection, target, lambda script, current: script._downgrade_revs(target, current))


def _run(
    connection: Connection,
    destination: str,
    steps: Callable[[ScriptDirectory, Any], Iterable[Any]],
) -> None:
    """Alembic's `upgrade`/`downgrade` commands without their env.py: `steps` picks the
    revisions from the database's current one (the same private calls the commands use)."""
    config, script = scripts()

    def chosen(current: Any, _context: MigrationContext) -> Iterable[Any]:
        return steps(script, current)

    with (
        _ONE_AT_A_TIME,
        EnvironmentContext(config, script, fn=chosen, destination_rev=destination) as env,
    ):
        env.configure(connection=connection)
        env.run_migrations()
