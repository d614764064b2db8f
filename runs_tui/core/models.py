"""The store's tables, and their rows as SQLModel classes for the code that writes them.

The tables (`RUN`, `TAG`, ...; `core.tables`) are SQLAlchemy Core and describe the
schema. The classes (`Run`, `RunTag`, ...; `core.orm`) are mapped onto them and are
built the first time one is imported from here: SQLModel, pydantic and the ORM cost
about as much to import as Textual, and the read path (the app's first screen, `ls`,
exports) needs none of them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from runs_tui.core.tables import (
    AGENT,
    EVENT,
    LOG,
    META,
    METRIC,
    PARAM,
    PIPELINE,
    POINT,
    RUN,
    STEP,
    TAG,
    VERSION,
    metadata,
)

if TYPE_CHECKING:
    from runs_tui.core.orm import (
        Agent,
        Event,
        LogLine,
        Meta,
        Metric,
        MetricPoint,
        Pipeline,
        PipelineVersion,
        Run,
        RunParam,
        RunTag,
        StepRun,
    )

__all__ = [
    "AGENT",
    "EVENT",
    "LOG",
    "META",
    "METRIC",
    "PARAM",
    "PIPELINE",
    "POINT",
    "RUN",
    "SCHEMA_VERSION",
    "STEP",
    "TAG",
    "VERSION",
    "Agent",
    "Event",
    "LogLine",
    "Meta",
    "Metric",
    "MetricPoint",
    "Pipeline",
    "PipelineVersion",
    "Run",
    "RunParam",
    "RunTag",
    "StepRun",
    "definition_hash",
    "metadata",
]

# `meta.schema_version`, which releases before Alembic check: the schema is now the Alembic
# revisions in core/migrations. Raised only by a revision that older releases must refuse.
SCHEMA_VERSION = 4

# The SQLModel classes: the names in __all__ that are neither a table (UPPER) nor lower.
_ORM = frozenset(n for n in __all__ if n[0].isupper() and not n.isupper())


def __getattr__(name: str) -> Any:
    """The SQLModel classes, built on first use (PEP 562)."""
    if name in _ORM:
        from runs_tui.core import orm

        return getattr(orm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def definition_hash(definition: str) -> str:
    """The key of a definition's version row: SHA-256 of its JSON."""
    return hashlib.sha256(definition.encode()).hexdigest()
