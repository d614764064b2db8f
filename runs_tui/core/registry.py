"""Registering pipeline definitions in the store, and reading them back."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from runs_tui.core.db import Store, now
from runs_tui.core.models import Pipeline
from runs_tui.core.pipelines import PipelineDef, parse_file


def load_registered(pipe: Pipeline) -> PipelineDef:
    return PipelineDef.from_json(pipe.definition)


def register(store: Store, path: str | Path) -> Pipeline:
    """Parse `path` and create or update the pipeline of that name."""
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
        return pipe
