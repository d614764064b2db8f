"""Opening a source of runs from `--db` / RUNS_TUI_DB: a path or a URL.

Sources are found by the URL's scheme (the part before `+` or `://`) among the
`runs_tui.sources` entry points, so a new source is one module and one entry point;
a plain path is a SQLite file. The source module is imported only when opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import entry_points

from runs_tui.core.source import RunSource, SourceError

GROUP = "runs_tui.sources"
Opener = Callable[[str | None], RunSource]


def scheme_of(db: str | None) -> str:
    """`postgresql+psycopg://…` -> postgresql; a path (or nothing) -> sqlite."""
    value = db or os.environ.get("RUNS_TUI_DB") or ""
    if "://" not in value:
        return "sqlite"
    return value.split("://", 1)[0].split("+", 1)[0].lower()


def known_schemes() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def open_source(db: str | None = None) -> RunSource:
    """The source `db` names (else RUNS_TUI_DB, else the default SQLite file); SourceError
    names the value when no source takes it or it cannot be opened."""
    scheme = scheme_of(db)
    found = [ep for ep in entry_points(group=GROUP) if ep.name == scheme]
    if not found:
        known = ", ".join(known_schemes()) or "none installed"
        shown = db or os.environ.get("RUNS_TUI_DB") or ""
        raise SourceError(f"no source for {shown!r}: unknown scheme {scheme!r} (known: {known})")
    opener: Opener = found[0].load()
    return opener(db)
