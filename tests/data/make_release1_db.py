"""How `tests/data/release-1.sqlite` was made: a database written by the release before
Alembic (commit d2b29cb, schema version 3), for tests/test_release_upgrade.py.

Run it with that release's code first on the path, from a copy that leaves the repository
alone (git archive writes nothing to it):

    mkdir /tmp/rel && git archive d2b29cb | tar -x -C /tmp/rel
    PYTHONPATH=/tmp/rel python tests/data/make_release1_db.py tests/data/release-1.sqlite

It writes the demo's history (three pipelines, runs in every state, tags, parameters,
metrics and their points, logs, steps, events) at a fixed clock, then archives one run,
tags two and makes one the release's own way (ops.new_run), and leaves one file: no WAL.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import runs_tui
from runs_tui.core import models, ops
from runs_tui.core.db import open_store
from runs_tui.core.lookup import resolve_refs
from runs_tui.demo.seed import seed

AT = 1_764_000_000.0  # tests/conftest.py FIXED_NOW
RUNS_PER_PIPELINE = 8


def main(out: Path) -> None:
    if models.SCHEMA_VERSION != 3:
        sys.exit(f"runs_tui from {runs_tui.__file__} is not the previous release (schema 3)")
    out.unlink(missing_ok=True)
    store = open_store(str(out))
    try:
        names = seed(store, AT, runs_per_pipeline=RUNS_PER_PIPELINE)
        first, second, third = resolve_refs(
            store, [f"{names[0]}#1", f"{names[1]}#2", f"{names[2]}#3"]
        )
        ops.archive(store, [first], user="release-1")
        ops.tag(store, [second, third], add=["release-1"], user="release-1")
        ops.new_run(store, names[0], {"lr": "0.5"}, tags=["made-by-ops"], user="release-1")
    finally:
        store.dispose()
    con = sqlite3.connect(out, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")  # one file to commit
    con.execute("PRAGMA page_size=1024")  # small: it is committed
    con.execute("VACUUM")
    con.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
