"""Registering pipeline definitions in the store, and reading them back.

Each distinct definition of a pipeline is also kept as a version row, which the runs
made from it refer to (see models.PipelineVersion).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from runs_tui.core.db import Store, now
from runs_tui.core.models import VERSION, Pipeline, definition_hash
from runs_tui.core.pipelines import PipelineDef, parse_file


def load_registered(pipe: Pipeline) -> PipelineDef:
    return PipelineDef.from_json(pipe.definition)


def register(store: Store, path: str | Path) -> Pipeline:
    """Parse `path` and create or update the pipeline of that name, and its version row."""
    definition = parse_file(path)
    folder = str(Path(path).resolve().parent)
    with store.write() as session:
        found = session.exec(select(Pipeline).where(Pipeline.name == definition.name)).first()
        pipe: Pipeline | None = found
        t = now()
        if pipe is None:
            pipe = Pipeline(
                name=definition.name,
                version=definition.version,
                queue=definition.queue,
                path=folder,
                definition=definition.to_json(),
                created=t,
                updated=t,
            )
            session.add(pipe)
        else:
            pipe.version, pipe.queue, pipe.path = definition.version, definition.queue, folder
            pipe.definition, pipe.updated = definition.to_json(), t
        session.flush()
        version_of(session, pipe)
        return pipe


def version_of(session: Session, pipe: Pipeline) -> int:
    """The id of the version row of `pipe`'s current definition, made if missing. Safe
    when two writers make the same one at once (the second insert does nothing)."""
    assert pipe.id is not None
    key = definition_hash(pipe.definition)
    find = sa_select(VERSION.c.id).where(VERSION.c.pipeline_id == pipe.id, VERSION.c.hash == key)
    found: int | None = session.execute(find).scalar()
    if found is not None:
        return found
    row = {
        "pipeline_id": pipe.id,
        "version": pipe.version,
        "hash": key,
        "definition": pipe.definition,
        "created": now(),
    }
    if session.get_bind().dialect.name == "sqlite":  # each dialect imported only when used
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(VERSION).values(row).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(VERSION).values(row).on_conflict_do_nothing())
    made: int = session.execute(find).scalar_one()
    return made
