"""Finding things by name: pipelines, runs from `PIPELINE#N` or id, queues, run details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from runs_tui.core.db import Store
from runs_tui.core.models import PIPELINE, RUN
from runs_tui.core.records import PipelineSummary
from runs_tui.core.textsql import numbered

if TYPE_CHECKING:
    from runs_tui.core.models import Pipeline

SUMMARY = (PIPELINE.c.id, PIPELINE.c.name, PIPELINE.c.version, PIPELINE.c.queue)


def pipeline_by_name(store: Store, name: str) -> Pipeline:
    from runs_tui.core.models import Pipeline

    with store.read() as session:
        pipe: Pipeline | None = (
            None  # no pipeline name holds NUL, and PostgreSQL refuses the query
            if "\0" in name
            else session.execute(select(Pipeline).where(PIPELINE.c.name == name)).scalar()
        )
    if pipe is None:
        known = ", ".join(p.name for p in pipelines(store)) or "none registered"
        raise ValueError(f"unknown pipeline {name!r} (known: {known})")
    return pipe


def first_pipeline(store: Store, name: str | None) -> tuple[PipelineSummary | None, bool]:
    """The pipeline called `name`, else the first by name (and False: `name` not found);
    without run counts, which cost a scan of every run."""
    with store.connect() as session:
        stmt = select(*SUMMARY).order_by(PIPELINE.c.name).limit(1)
        found = None
        if name and "\0" not in name:  # no pipeline has one (PostgreSQL refuses the query)
            found = session.execute(select(*SUMMARY).where(PIPELINE.c.name == name)).first()
        pipe = found or session.execute(stmt).first()
    if pipe is None:
        return None, not name
    return PipelineSummary(
        pipe.id, pipe.name, pipe.version, pipe.queue
    ), found is not None or not name


def pipelines(store: Store) -> list[PipelineSummary]:
    """Every pipeline with its active (not archived) runs counted by status."""
    with store.connect() as session:
        out = {
            p.id: PipelineSummary(p.id, p.name, p.version, p.queue)
            for p in session.execute(select(*SUMMARY).order_by(PIPELINE.c.name))
        }
        counts = session.execute(
            select(RUN.c.pipeline_id, RUN.c.status, func.count())
            .where(RUN.c.archived.is_(False))
            .group_by(RUN.c.pipeline_id, RUN.c.status)
        )
        for pipeline_id, status, n in counts:
            out[pipeline_id].counts[status] = n
    return list(out.values())


def resolve_refs(store: Store, refs: Sequence[str]) -> list[int]:
    """Run ids for `refs`, each a global id or `PIPELINE#N`; the error names the first unknown."""
    out: list[int] = []
    with store.connect() as session:
        for ref in refs:
            text = ref.strip()
            name, sep, number = text.rpartition("#")
            if sep and name and _is_digits(number):
                stmt = (
                    select(RUN.c.id)
                    .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
                    .where(PIPELINE.c.name == name, numbered(RUN.c.number, int(number)))
                )
                wanted = int(number)
            elif _is_digits(text):
                stmt = select(RUN.c.id).where(numbered(RUN.c.id, int(text)))
                wanted = int(text)
            else:
                raise ValueError(f"invalid run {ref!r}: expected an id or PIPELINE#N")
            # Past a 64-bit SQL integer no run can match (and the driver cannot bind it).
            run_id = session.execute(stmt).scalar() if wanted < 2**63 else None
            if run_id is None:
                raise ValueError(f"unknown run {ref!r}")
            out.append(int(run_id))
    return out


def _is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts "²", which `int()` refuses."""
    return text.isascii() and text.isdigit()


def queues(store: Store) -> list[str]:
    """Queues known from pipelines' defaults and runs, for pickers."""
    with store.connect() as session:
        names = set(session.execute(select(PIPELINE.c.queue)).scalars())
        names |= set(session.execute(select(RUN.c.queue).distinct()).scalars())
    return sorted(names)
