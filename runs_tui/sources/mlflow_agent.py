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
from runs_tui.sources.mlflow_client import Client

LINK = "runs_tui.run"  # the MLflow tag naming the runs-tui run behind an MLflow run
STARTED = frozenset({Action.RUN, Action.CONTINUE, Action.RETRY})
NOT_LINKED = "not started by runs-tui's agent"


def linked(caps: Capabilities) -> Capabilities:
    """`caps` with new runs, continue and retry, which the agent's store carries out."""
    unavailable = {a: why for a, why in caps.unavailable.items() if a not in STARTED}
    return replace(caps, actions=caps.actions | STARTED, unavailable=unavailable)


class AgentLink:
    """The runs-tui store behind an MLflow server's runs (a `RunSource`, opened once)."""

    def __init__(self, client: Client, store: RunSource) -> None:
        self.client, self.store = client, store

    def new_run_form(self, pipeline: str) -> NewRunForm:
        self._registered(pipeline)
        return self.store.new_run_form(pipeline)

    def new_run(
        self, pipeline: str, params: dict[str, str], queue: str | None, tags: Sequence[str]
    ) -> NewRun:
        self._registered(pipeline)
        return self.store.new_run(pipeline, params, queue=queue, tags=tags)

    def act(self, action: Action, rows: Sequence[RunRow], ids: Sequence[RunId]) -> BulkResult:
        """Continue or retry, on the runs-tui runs the MLflow runs are tagged with."""
        links = self._links([str(i) for i in ids])
        agent_ids = sorted(set(links.values()))
        if action is Action.CONTINUE:
            done = self.store.resume(agent_ids)
        else:
            done = self.store.transition(action, agent_ids)
        by_agent = {int(o.run_id): o for o in done.outcomes}
        names = {str(r.id): r.ref for r in rows}
        result = BulkResult(action)
        for run_id in ids:
            ref = names.get(str(run_id), str(run_id))
            agent_id = links.get(str(run_id))
            if agent_id is None or agent_id not in by_agent:
                why = NOT_LINKED if agent_id is None else "its runs-tui run is gone"
                result.outcomes.append(Outcome(run_id, ref, False, why))
                continue
            got = by_agent[agent_id]
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

    def _links(self, mlflow_ids: list[str]) -> dict[str, int]:
        """The runs-tui run id in each MLflow run's `runs_tui.run` tag, where it has one."""
        found: dict[str, int] = {}
        for n in range(0, len(mlflow_ids), 100):
            listed = ", ".join(f"'{i}'" for i in mlflow_ids[n : n + 100] if i.isalnum())
            token: str | None = None
            while listed:
                body: dict[str, Any] = {
                    "experiment_ids": self._experiments(),
                    "filter": f"attributes.run_id IN ({listed})",
                    "run_view_type": "ALL",
                    "max_results": 1000,
                }
                if token:
                    body["page_token"] = token
                got = self.client.post("runs/search", body)
                for run in got.get("runs", []):
                    data = run.get("data", {})
                    tags = {t.get("key"): t.get("value") for t in data.get("tags", [])}
                    value = str(tags.get(LINK, ""))
                    if value.isdigit():
                        found[str(run["info"]["run_id"])] = int(value)
                token = got.get("next_page_token") or None
                if token is None:
                    break
        return found

    def _experiments(self) -> list[str]:
        got = self.client.post("experiments/search", {"max_results": 1000, "view_type": "ALL"})
        return [str(e["experiment_id"]) for e in got.get("experiments", [])]
