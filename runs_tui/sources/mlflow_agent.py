"""New runs, continue and retry on an MLflow server whose experiments are also
pipelines registered with runs-tui's own agent (`?store=DB` on the source's URL).

The agent runs the pipeline's steps; their code logs to MLflow (the experiment named
as the pipeline) and tags its run `runs_tui.run=$RUNS_TUI_RUN_ID`. So a new run of such
an experiment is queued in the runs-tui store, and continuing or retrying an MLflow run
acts on the runs-tui run its tag names; a run without the tag was not started by the
agent and is left alone, saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from runs_tui.core.records import BulkResult, NewRun, NewRunForm, Outcome, RunId, RunRow
from runs_tui.core.source import Capabilities, RunSource, SourceError
from runs_tui.core.status import Action

LINK = "runs_tui.run"  # the MLflow tag naming the runs-tui run behind an MLflow run
STARTED = frozenset({Action.RUN, Action.CONTINUE, Action.RETRY})
NOT_LINKED = "not started by runs-tui's agent"


def linked(caps: Capabilities) -> Capabilities:
    """`caps` with new runs, continue and retry, which the agent's store carries out."""
    unavailable = {a: why for a, why in caps.unavailable.items() if a not in STARTED}
    return replace(caps, actions=caps.actions | STARTED, unavailable=unavailable)


def link_of(data: dict[str, Any]) -> int | None:
    """The runs-tui run an MLflow run (the server's JSON) names in its `runs_tui.run` tag."""
    tags = {t.get("key"): t.get("value") for t in data.get("data", {}).get("tags", [])}
    value = str(tags.get(LINK, ""))
    return int(value) if value.isdigit() else None


class AgentLink:
    """The runs-tui store behind an MLflow server's runs (a `RunSource`, opened once)."""

    def __init__(self, store: RunSource) -> None:
        self.store = store

    def new_run_form(self, pipeline: str) -> NewRunForm:
        self._registered(pipeline)
        return self.store.new_run_form(pipeline)

    def new_run(
        self, pipeline: str, params: dict[str, str], queue: str | None, tags: Sequence[str]
    ) -> NewRun:
        self._registered(pipeline)
        return self.store.new_run(pipeline, params, queue=queue, tags=tags)

    def act(
        self, action: Action, found: Sequence[tuple[RunRow, int | None]], ids: Sequence[RunId]
    ) -> BulkResult:
        """Continue or retry, on the runs-tui runs the MLflow runs (`found`: each with the
        runs-tui run its tag names, if any) stand for."""
        rows = {str(row.id): (row, link) for row, link in found}
        agent_ids = sorted({link for _, link in found if link is not None})
        if action is Action.CONTINUE:
            done = self.store.resume(agent_ids)
        else:
            done = self.store.transition(action, agent_ids)
        by_agent = {int(o.run_id): o for o in done.outcomes}
        result = BulkResult(action)
        for run_id in ids:
            row, link = rows.get(str(run_id), (None, None))
            ref = row.ref if row is not None else str(run_id)
            if link is None or link not in by_agent:
                why = NOT_LINKED if link is None else "its runs-tui run is gone"
                result.outcomes.append(Outcome(run_id, ref, False, why))
                continue
            got = by_agent[link]
            result.outcomes.append(Outcome(run_id, ref, got.affected, got.reason, got.from_status))
        return result

    def _registered(self, pipeline: str) -> None:
        try:
            self.store.pipeline(pipeline)
        except (ValueError, SourceError):
            raise SourceError(
                f"experiment {pipeline!r} is not a pipeline of runs-tui's agent "
                f"({self.store.name}): register it there to start its runs here"
            ) from None
