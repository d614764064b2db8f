"""Actions on MLflow runs, each a REST call per run, never forced: a run the action does
not apply to (by `core.actions`' rules) is reported with why, untouched.

- abort: the run is marked KILLED (`runs/update`, with an end time). Nothing stops the
  process logging to it, which is why the action is called "Mark killed" here.
- archive: `runs/delete` (soft: the run stays, deleted, in the archive), after marking
  a Scheduled or Running run KILLED; restore: `runs/restore`.
- tags: `runs/set-tag` and `runs/delete-tag`; a tag `key=value` is the key with that
  value, a plain `key` the key with an empty value. MLflow changes no deleted run: an
  archived run is not tagged ("archived").
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from runs_tui.core.actions import aborts_first, eligible, why_not
from runs_tui.core.records import BulkResult, Outcome, RunId, RunRow
from runs_tui.core.status import Action
from runs_tui.sources.mlflow_client import Client, MlflowRefused
from runs_tui.sources.mlflow_model import tag_parts

MARKED = "Marked killed"


def _kill(client: Client, run_id: str) -> None:
    now = int(time.time() * 1000)
    client.post("runs/update", {"run_id": run_id, "status": "KILLED", "end_time": now})


def _missing(run_id: RunId) -> Outcome:
    return Outcome(run_id, str(run_id), False, "not found")


def transition(
    client: Client, action: Action, rows: Sequence[RunRow], ids: Sequence[RunId]
) -> BulkResult:
    if action not in (Action.ABORT, Action.ARCHIVE, Action.RESTORE):
        raise ValueError(f"{action.label}: MLflow runs are started by their own code")
    by_id = {str(r.id): r for r in rows}
    result = BulkResult(action, verb=MARKED if action is Action.ABORT else "")
    for run_id in ids:
        row = by_id.get(str(run_id))
        if row is None:
            result.outcomes.append(_missing(run_id))
            continue
        if not eligible(action, row.status, row.archived):
            reason = why_not(action, row.status, row.archived)
            result.outcomes.append(Outcome(row.id, row.ref, False, reason, row.status))
            continue
        try:
            if action is Action.ABORT or aborts_first(action, row.status):
                _kill(client, str(row.id))
            if action is Action.ARCHIVE:
                client.post("runs/delete", {"run_id": str(row.id)})
            elif action is Action.RESTORE:
                client.post("runs/restore", {"run_id": str(row.id)})
        except MlflowRefused as exc:
            result.outcomes.append(Outcome(row.id, row.ref, False, str(exc), row.status))
            continue
        result.outcomes.append(Outcome(row.id, row.ref, True, "", row.status))
    return result


def tag(
    client: Client,
    rows: Sequence[RunRow],
    ids: Sequence[RunId],
    add: Sequence[str],
    remove: Sequence[str],
) -> BulkResult:
    by_id = {str(r.id): r for r in rows}
    result = BulkResult(Action.ADD_TAG)
    for run_id in ids:
        row = by_id.get(str(run_id))
        if row is None:
            result.outcomes.append(_missing(run_id))
            continue
        if row.archived:  # MLflow changes no deleted run
            result.outcomes.append(Outcome(row.id, row.ref, False, "archived", row.status))
            continue
        try:
            for text in add:
                key, value = tag_parts(text)
                client.post("runs/set-tag", {"run_id": str(row.id), "key": key, "value": value})
            for text in remove:
                if text in row.tags:
                    key, _ = tag_parts(text)
                    client.post("runs/delete-tag", {"run_id": str(row.id), "key": key})
        except MlflowRefused as exc:
            result.outcomes.append(Outcome(row.id, row.ref, False, str(exc), row.status))
            continue
        result.outcomes.append(Outcome(row.id, row.ref, True, "", row.status))
    return result
