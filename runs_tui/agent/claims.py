"""How agents share work: registration, heartbeats, claims and finding lost runs.

A claim is a compare-and-set from Pending to Running; on PostgreSQL the candidate
row is picked with FOR UPDATE SKIP LOCKED so many agents do not queue on one row.
A claimed run carries the pipeline definition it was created with (its version row),
not the pipeline's current one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlmodel import Session

from runs_tui.core.db import Store, now
from runs_tui.core.models import PIPELINE, RUN, STEP, VERSION, Agent, Event
from runs_tui.core.status import Status


@dataclass(frozen=True)
class Claim:
    """A run this agent now owns, for this attempt only."""

    run_id: int
    attempt: int
    pipeline: str
    number: int
    definition: str
    folder: str

    @property
    def ref(self) -> str:
        return f"{self.pipeline}#{self.number}"


class AgentRunning(Exception):
    """Another live process on this machine is already this agent: two would follow (and
    adopt) the same runs."""


def _alive_agent(pid: int) -> bool:
    """Whether `pid` is a live runs-tui process of this machine (not a reused pid)."""
    if pid == os.getpid():
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume it is
    return b"runs-tui" in cmdline or b"runs_tui" in cmdline


def register(store: Store, name: str, queues: Sequence[str]) -> None:
    """Record the agent as started; AgentRunning if a live process of this machine
    already is it."""
    t = now()
    with store.write() as session:
        agent = session.get(Agent, name)
        host = socket.gethostname()
        if (
            agent is not None
            and agent.stopped is None
            and agent.host == host
            and _alive_agent(agent.pid)
        ):
            raise AgentRunning(
                f"agent {name!r} is already running on {host} (pid {agent.pid}); "
                "give this one another --name"
            )
        if agent is None:
            agent = Agent(
                name=name,
                host=socket.gethostname(),
                pid=os.getpid(),
                queues=",".join(queues),
                started=t,
                last_seen=t,
            )
        else:
            agent.host, agent.pid, agent.queues = (
                socket.gethostname(),
                os.getpid(),
                ",".join(queues),
            )
            agent.started, agent.last_seen, agent.stopped = t, t, None
        session.add(agent)


def _running_attempt(run_id: int, attempt: int, name: str) -> ColumnElement[bool]:
    """The run, while it is Running as this attempt of agent `name`'s."""
    return and_(
        RUN.c.id == run_id,
        RUN.c.attempt == attempt,
        RUN.c.agent == name,
        RUN.c.status == Status.RUNNING,
    )


def heartbeat(store: Store, name: str, runs: Sequence[tuple[int, int]]) -> None:
    """Mark the agent and each of its (run, attempt) alive."""
    t = now()
    with store.write() as session:
        session.execute(update(Agent).where(Agent.name == name).values(last_seen=t))  # type: ignore[arg-type]
        for run_id, attempt in runs:
            session.execute(
                update(RUN).where(_running_attempt(run_id, attempt, name)).values(heartbeat=t)
            )


def stopped(store: Store, name: str) -> None:
    with store.write() as session:
        session.execute(update(Agent).where(Agent.name == name).values(stopped=now()))  # type: ignore[arg-type]


def claim(store: Store, name: str, queues: Sequence[str]) -> Claim | None:
    """Take the oldest Pending run of `queues`, or None when there is none."""
    with store.write() as session:
        pick = (
            select(RUN.c.id, RUN.c.attempt)
            .where(
                RUN.c.status == Status.PENDING,
                RUN.c.queue.in_(list(queues)),
                RUN.c.archived.is_(False),
            )
            .order_by(RUN.c.created, RUN.c.id)
            .limit(1)
        )
        if not store.is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        row = session.execute(pick).first()
        if row is None:
            return None
        run_id, attempt = row
        t = now()
        changed = session.execute(
            update(RUN)
            .where(RUN.c.id == run_id, RUN.c.status == Status.PENDING, RUN.c.attempt == attempt)
            .values(
                status=Status.RUNNING,
                agent=name,
                heartbeat=t,
                updated=t,
                progress=None,
                started=t,  # this attempt's: RUN TIME adds what earlier ones ran (`ran`)
                status_message=f"running on {name}",
            )
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            return None
        session.add(
            Event(
                run_id=run_id,
                time=t,
                user=name,
                action="start",
                from_status=Status.PENDING,
                to_status=Status.RUNNING,
                message=f"attempt {attempt} on {name}",
            )
        )
        return _claim_of(session, run_id, attempt)


def _claim_of(session: Session, run_id: int, attempt: int) -> Claim:
    info = session.execute(
        select(
            RUN.c.number,
            PIPELINE.c.name,
            func.coalesce(VERSION.c.definition, PIPELINE.c.definition).label("definition"),
            PIPELINE.c.path,
        )
        .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
        .outerjoin(VERSION, VERSION.c.id == RUN.c.definition_id)  # NULL: see models.Run
        .where(RUN.c.id == run_id)
    ).one()
    return Claim(run_id, attempt, info.name, info.number, info.definition, info.path)


@dataclass(frozen=True)
class Adoption:
    """A run an earlier process of this agent left Running (it was killed, or detached),
    taken over as it stands: `step` is the step still running on the executor, if any,
    known there as `external_id`, its output stored up to `offsets`."""

    claim: Claim
    step: str | None = None
    external_id: str = ""
    offsets: tuple[int, int] = (0, 0)


def adopt(store: Store, name: str, executor: str) -> list[Adoption]:
    """Take over this agent's Running runs whose running step (if any) is a job of
    `executor` with a known id: their heartbeat is renewed in the same transaction, so no
    agent fails them as lost. A run whose step cannot be followed (a local process, a job
    whose id was never recorded) is left alone: it is failed as lost in time."""
    taken: list[Adoption] = []
    with store.write() as session:
        runs = session.execute(
            select(RUN.c.id, RUN.c.attempt).where(
                RUN.c.status == Status.RUNNING, RUN.c.agent == name
            )
        ).all()
        for run_id, attempt in runs:
            steps = session.execute(
                select(
                    STEP.c.name,
                    STEP.c.executor,
                    STEP.c.external_id,
                    STEP.c.out_offset,
                    STEP.c.err_offset,
                ).where(
                    STEP.c.run_id == run_id,
                    STEP.c.attempt == attempt,
                    STEP.c.status == Status.RUNNING,
                )
            ).all()
            if len(steps) > 1 or any(s.executor != executor or not s.external_id for s in steps):
                continue
            t = now()
            changed = session.execute(
                update(RUN)
                .where(_running_attempt(run_id, attempt, name))
                .values(heartbeat=t, updated=t, status_message=f"adopted by {name}")
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                continue
            claim = _claim_of(session, run_id, attempt)
            if steps:
                step = steps[0]
                found = (step.name, step.external_id, (step.out_offset, step.err_offset))
                taken.append(Adoption(claim, *found))
            else:
                taken.append(Adoption(claim))
    return taken


def fail_lost(
    store: Store, stale_after: float, by: str, mine: Collection[tuple[int, int]]
) -> list[int]:
    """Fail every Running run whose agent has not beaten for `stale_after` seconds, except
    `mine` (run, attempt): the caller runs those, whatever its heartbeats managed to write."""
    limit = now() - stale_after
    with store.write() as session:
        rows = session.execute(
            select(RUN.c.id, RUN.c.attempt, RUN.c.agent, RUN.c.heartbeat).where(
                RUN.c.status == Status.RUNNING,
                and_(RUN.c.heartbeat.is_not(None), RUN.c.heartbeat < limit),
            )
        ).all()
        failed = []
        t = now()
        for run_id, attempt, agent, beat in rows:
            if (run_id, attempt) in mine:
                continue
            message = f"agent lost: {agent} silent for {int(t - beat)}s"
            changed = session.execute(
                update(RUN)
                .where(
                    RUN.c.id == run_id,
                    RUN.c.attempt == attempt,
                    RUN.c.status == Status.RUNNING,
                    RUN.c.heartbeat < limit,
                )
                .values(status=Status.FAILED, finished=t, updated=t, status_message=message)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                session.add(
                    Event(
                        run_id=run_id,
                        time=t,
                        user=by,
                        action="fail",
                        from_status=Status.RUNNING,
                        to_status=Status.FAILED,
                        message=message,
                    )
                )
                failed.append(run_id)
        return failed


def running_jobs(store: Store, run_ids: Collection[int]) -> list[tuple[str, str]]:
    """(executor, external id) of the steps still marked running in these runs: what a
    failed run may have left on a scheduler."""
    if not run_ids:
        return []
    with store.read() as session:
        rows = session.execute(
            select(STEP.c.executor, STEP.c.external_id).where(
                STEP.c.run_id.in_(list(run_ids)),
                STEP.c.status == Status.RUNNING,
                STEP.c.external_id != "",
            )
        ).all()
    return [(executor, job) for executor, job in rows]
