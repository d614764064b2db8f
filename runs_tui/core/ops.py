"""What users do to runs: new run, abort, continue, retry, tag, archive, restore.

Bulk operations run in chunks; each run is changed by its own compare-and-set
(`UPDATE ... WHERE id=? AND status=? AND attempt=?`), so a run that changed
meanwhile is reported as not affected, never forced. Every change writes an event.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from runs_tui.core.actions import aborts_first, eligible, why_not
from runs_tui.core.db import Store, chunked, now
from runs_tui.core.models import Event, Pipeline, Run, RunParam, RunTag
from runs_tui.core.pipelines import PipelineDef, format_value, resolve_params
from runs_tui.core.records import BulkResult, NewRun, Outcome
from runs_tui.core.registry import load_registered, version_of
from runs_tui.core.status import Action, Status

CHUNK = 500


def who() -> str:
    """The user named in events: RUNS_TUI_USER, else the OS user."""
    env = os.environ.get("RUNS_TUI_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _event(
    session: Session,
    run_id: int,
    user: str,
    action: Action | str,
    frm: str | None,
    to: str | None,
    message: str = "",
) -> None:
    session.add(
        Event(
            run_id=run_id,
            time=now(),
            user=user,
            action=str(action),
            from_status=frm,
            to_status=to,
            message=message,
        )
    )


def param_row(run_id: int, key: str, value: Any) -> RunParam:
    """A parameter as stored: text always, `num` too when it is a number (not a bool)."""
    num = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return RunParam(run_id=run_id, key=key, value=format_value(value), num=num)


def new_run(
    store: Store,
    pipeline: str,
    params: dict[str, str] | None = None,
    *,
    queue: str | None = None,
    tags: Sequence[str] = (),
    user: str | None = None,
) -> NewRun:
    """Enqueue a new Pending run; `params` (text, as typed) override the defaults and are
    checked against their types, and the error names the parameter."""
    user = user or who()
    clean_tags = _clean_tags(tags)
    with store.write() as session:
        pipe = _pipeline_for_update(session, store, pipeline)
        definition: PipelineDef = load_registered(pipe)
        values = resolve_params(definition, params or {})
        q = (queue or pipe.queue).strip()
        if not q:
            raise ValueError("queue name is empty")
        if "\0" in q:
            raise ValueError(f"invalid queue {q!r}: NUL character")
        number = (
            session.exec(
                select(func.coalesce(func.max(Run.number), 0)).where(Run.pipeline_id == pipe.id)
            ).one()
            + 1
        )
        t = now()
        assert pipe.id is not None
        run = Run(
            pipeline_id=pipe.id,
            number=number,
            name=f"{pipe.name} #{number}",
            version=pipe.version,
            status=Status.PENDING,
            user=user,
            queue=q,
            created=t,
            updated=t,
            definition_id=version_of(session, pipe),  # what it runs, whatever comes later
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        for key, value in values.items():
            session.add(param_row(run.id, key, value))
        for tag in clean_tags:
            session.add(RunTag(run_id=run.id, tag=tag))
        _event(session, run.id, user, Action.RUN, None, Status.PENDING, f"queue {q}")
        return NewRun(run.id, pipe.name, number, q, values)


def _pipeline_for_update(session: Session, store: Store, name: str) -> Pipeline:
    stmt = select(Pipeline).where(Pipeline.name == name)
    if not store.is_sqlite:
        stmt = stmt.with_for_update()
    pipe = session.exec(stmt).first()
    if pipe is None:
        raise ValueError(f"unknown pipeline {name!r}")
    return pipe


def _clean_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        clean = tag.strip()
        if not clean:
            raise ValueError(f"invalid tag {tag!r}: a tag cannot be empty")
        if "\0" in clean:
            raise ValueError(f"invalid tag {tag!r}: NUL character")
        if clean not in out:
            out.append(clean)
    return out


def _locked_runs(session: Session, store: Store, ids: Sequence[int]) -> dict[int, tuple[Run, str]]:
    stmt = (
        select(Run, Pipeline.name)
        .join(Pipeline, col(Pipeline.id) == Run.pipeline_id)
        .where(col(Run.id).in_(ids))
    )
    if not store.is_sqlite:
        stmt = stmt.with_for_update(of=Run)
    return {run.id: (run, name) for run, name in session.exec(stmt) if run.id is not None}


def _cas(session: Session, run: Run, **values: Any) -> bool:
    """Change `run` only if it is still in the state it was read in.

    `run` itself is left as read (no session synchronization): callers use it for the
    event's `from` state, and a failed compare must not pretend the values were set."""
    stmt = (
        update(Run)
        .where(
            col(Run.id) == run.id,
            col(Run.status) == run.status,
            col(Run.attempt) == run.attempt,
            col(Run.archived) == run.archived,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _transition_values(
    action: Action, run: Run, user: str, message: str, t: float
) -> dict[str, Any]:
    note = f"{action.label.lower()}ed by {user}" if action is Action.ABORT else ""
    if action is Action.ABORT:
        return {
            "status": Status.ABORTED,
            "finished": t,
            "updated": t,
            "status_message": f"{note}: {message}" if message else note,
        }
    if action in (Action.CONTINUE, Action.RETRY):
        verb = "continued" if action is Action.CONTINUE else "retried"
        ran = run.finished - run.started if run.finished and run.started else 0.0
        return {
            "status": Status.PENDING,
            "attempt": run.attempt + 1,
            "ran": run.ran + max(ran, 0.0),  # what this attempt ran; the next one starts anew
            "started": None,
            "agent": None,
            "heartbeat": None,
            "finished": None,
            "exit_code": None,
            "updated": t,
            "progress": None,
            "status_message": f"{verb} by {user}",
        }
    if action is Action.ARCHIVE:
        values: dict[str, Any] = {"archived": True, "updated": t}
        if aborts_first(action, run.status):  # what the confirmation named
            values |= {
                "status": Status.ABORTED,
                "finished": t,
                "status_message": f"aborted by {user}: archived",
            }
        return values
    if action is Action.RESTORE:
        return {"archived": False, "updated": t}
    raise ValueError(f"{action} is not a state change")


def transition(
    store: Store, action: Action, ids: Sequence[int], *, user: str | None = None, message: str = ""
) -> BulkResult:
    """Apply abort, continue, retry, archive or restore to each run that allows it."""
    user = user or who()
    result = BulkResult(action)
    for chunk in chunked(list(dict.fromkeys(ids)), CHUNK):
        with store.write() as session:
            runs = _locked_runs(session, store, chunk)
            for run_id in chunk:
                if run_id not in runs:
                    result.outcomes.append(Outcome(run_id, f"id {run_id}", False, "not found"))
                    continue
                run, pipe = runs[run_id]
                ref = f"{pipe}#{run.number}"
                if not eligible(action, run.status, run.archived):
                    reason = why_not(action, run.status, run.archived)
                    result.outcomes.append(Outcome(run_id, ref, False, reason, run.status))
                    continue
                t = now()
                values = _transition_values(action, run, user, message, t)
                if not _cas(session, run, **values):
                    result.outcomes.append(
                        Outcome(run_id, ref, False, "changed meanwhile", run.status)
                    )
                    continue
                to = values.get("status", run.status)
                if action is Action.ARCHIVE and to != run.status:
                    _event(session, run_id, user, Action.ABORT, run.status, to, "archived")
                    _event(session, run_id, user, action, to, to, message)
                else:
                    _event(
                        session,
                        run_id,
                        user,
                        action,
                        run.status,
                        to,
                        message or values.get("status_message", ""),
                    )
                result.outcomes.append(Outcome(run_id, ref, True, "", run.status))
    return result


def abort(store: Store, ids: Sequence[int], **kw: Any) -> BulkResult:
    return transition(store, Action.ABORT, ids, **kw)


def continue_runs(store: Store, ids: Sequence[int], **kw: Any) -> BulkResult:
    return transition(store, Action.CONTINUE, ids, **kw)


def retry(store: Store, ids: Sequence[int], **kw: Any) -> BulkResult:
    return transition(store, Action.RETRY, ids, **kw)


def resume(store: Store, ids: Sequence[int], **kw: Any) -> BulkResult:
    """`c` in the table: continue the Aborted and retry the Failed, each run by its own CAS."""
    first = transition(store, Action.CONTINUE, ids, **kw)
    failed = [int(o.run_id) for o in first.not_affected if o.reason == Status.FAILED.label]
    retried = {o.run_id: o for o in transition(store, Action.RETRY, failed, **kw).outcomes}
    outcomes = [retried.get(o.run_id, o) for o in first.outcomes]
    return BulkResult(Action.CONTINUE, outcomes, verb="Continued or retried")


def archive(store: Store, ids: Sequence[int], **kw: Any) -> BulkResult:
    return transition(store, Action.ARCHIVE, ids, **kw)


def restore(store: Store, ids: Sequence[int], **kw: Any) -> BulkResult:
    return transition(store, Action.RESTORE, ids, **kw)


def tag(
    store: Store,
    ids: Sequence[int],
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    *,
    user: str | None = None,
) -> BulkResult:
    """Add and remove tags; every existing run is affected (tags are valid in any state)."""
    user = user or who()
    to_add, to_remove = _clean_tags(add), _clean_tags(remove)
    action = Action.ADD_TAG if to_add or not to_remove else Action.REMOVE_TAG
    result = BulkResult(action)
    for chunk in chunked(list(dict.fromkeys(ids)), CHUNK):
        with store.write() as session:
            runs = _locked_runs(session, store, chunk)
            existing: dict[int, set[str]] = {}
            for run_id, tag_name in session.exec(
                select(RunTag.run_id, RunTag.tag).where(col(RunTag.run_id).in_(list(runs)))
            ):
                existing.setdefault(run_id, set()).add(tag_name)
            t = now()
            for run_id in chunk:
                if run_id not in runs:
                    result.outcomes.append(Outcome(run_id, f"id {run_id}", False, "not found"))
                    continue
                run, pipe = runs[run_id]
                have = existing.get(run_id, set())
                added = [x for x in to_add if x not in have]
                removed = [x for x in to_remove if x in have and x not in to_add]
                for x in added:
                    session.add(RunTag(run_id=run_id, tag=x))
                for x in removed:
                    session.execute(
                        RunTag.__table__.delete().where(
                            col(RunTag.run_id) == run_id, col(RunTag.tag) == x
                        )
                    )
                if added or removed:
                    session.execute(update(Run).where(col(Run.id) == run_id).values(updated=t))
                if added:
                    _event(session, run_id, user, Action.ADD_TAG, None, None, ", ".join(added))
                if removed:
                    _event(session, run_id, user, Action.REMOVE_TAG, None, None, ", ".join(removed))
                result.outcomes.append(
                    Outcome(run_id, f"{pipe}#{run.number}", True, "", run.status)
                )
    return result
