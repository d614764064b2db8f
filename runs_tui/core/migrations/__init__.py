"""Schema migrations: Alembic revisions in `versions/`, applied by `upgrade.py`.

Revision ids are "0001", "0002", ... and each revision's file starts with its id
(`versions/0002_search_index.py`), so the newest revision is known from the file names
alone: opening a database that is up to date never imports Alembic.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).parent


@cache
def revisions() -> tuple[str, ...]:
    """Every revision this runs-tui has, oldest first."""
    names = os.listdir(FOLDER / "versions")  # NNNN_what.py, and __init__.py
    return tuple(
        sorted(n[:4] for n in names if n[:4].isdigit() and n[4:5] == "_" and n.endswith(".py"))
    )


def head() -> str:
    """The newest revision: what every database is brought to."""
    return revisions()[-1]
