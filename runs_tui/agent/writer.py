"""Everything an agent writes about a run, fenced by the run's attempt.

Each flush first updates the run row `WHERE id=? AND attempt=? AND agent=? AND
status=...`; only when that row is still ours are log lines, points and summaries
written in the same transaction. A stale agent (its attempt replaced by a retry,
or its run failed as lost) therefore changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlmodel import Session

from runs_tui.agent.claims import Claim
from runs_tui.agent.protocol import MetricReport
from runs_tui.core.db import Store, now
from runs_tui.core.models import METRIC, RUN, STEP, Event, LogLine, Metric, MetricPoint, StepRun
from runs_tui.core.status import Status

RUNNING_ONLY = frozenset({Status.RUNNING})


@dataclass
class RunState:
    """The run as it stands in the store, for deciding what a failed fence means."""

    status: str
    attempt: int
    agent: str | None
    message: str


@dataclass
class RunWriter:
    store: Store
    claim: Claim
    agent: str
    logs: list[LogLine] = field(default_factory=list)
    points: list[MetricPoint] = field(default_factory=list)
    progress: float | None = None
    sent_progress: float | None = None

    def log(self, step: str, stream: str, line: str) -> None:
        self.logs.append(
            LogLine(
                run_id=self.claim.run_id,
                attempt=self.claim.attempt,
                step=step,
                stream=stream,
                time=now(),
                line=line,
            )
        )

    def metric(self, report: MetricReport) -> None:
        self.points.append(
            MetricPoint(
                run_id=self.claim.run_id,
                attempt=self.claim.attempt,
                title=report.title,
                series=report.series,
                step=report.step,
                value=report.value,
                time=now(),
            )
        )

    @property
    def pending(self) -> int:
        """Buffered lines and points, plus one for a progress not written yet."""
        return len(self.logs) + len(self.points) + (self.progress != self.sent_progress)

    def _fence(self, session: Session, allow: Collection[str], **values: object) -> bool:
        stmt = (
            update(RUN)
            .where(
                RUN.c.id == self.claim.run_id,
                RUN.c.attempt == self.claim.attempt,
                RUN.c.agent == self.agent,
                RUN.c.status.in_(sorted(allow)),
            )
            .values(**values)
        )
        return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]

    def flush(self, allow: Collection[str] = RUNNING_ONLY) -> bool:
        """Write what is buffered; False (and nothing written) when the run is not ours."""
        t = now()
        values: dict[str, object] = {"updated": t}
        if set(allow) == RUNNING_ONLY:
            values["heartbeat"] = t
        if self.progress is not None:
            values["progress"] = self.progress
        with self.store.write() as session:
            if not self._fence(session, allow, **values):
                self.logs.clear()
                self.points.clear()
                return False
            session.add_all(self.logs)
            session.add_all(self.points)
            if self.points:
                self._summaries(session)
        self.logs, self.points = [], []
        self.sent_progress = self.progress
        return True

    def _summaries(self, session: Session) -> None:
        existing = {
            (m.title, m.series): m
            for m in session.execute(
                select(Metric).where(METRIC.c.run_id == self.claim.run_id)
            ).scalars()
        }
        t = now()
        for p in self.points:
            m = existing.get((p.title, p.series))
            if m is None:
                m = Metric(
                    run_id=self.claim.run_id,
                    title=p.title,
                    series=p.series,
                    last=p.value,
                    min=p.value,
                    max=p.value,
                    last_step=p.step,
                    updated=t,
                )
                existing[(p.title, p.series)] = m
                session.add(m)
            else:
                m.last, m.min, m.max = p.value, min(m.min, p.value), max(m.max, p.value)
                m.last_step, m.updated = p.step, t

    def step_started(self, name: str) -> bool:
        with self.store.write() as session:
            if not self._fence(session, RUNNING_ONLY, updated=now()):
                return False
            session.add(
                StepRun(
                    run_id=self.claim.run_id,
                    attempt=self.claim.attempt,
                    name=name,
                    status=Status.RUNNING,
                    started=now(),
                )
            )
        return True

    def step_launched(self, name: str, executor: str, external_id: str) -> bool:
        """Record where the step runs; written after the launch, which needs the step row
        first (a launch failure is recorded on it)."""
        with self.store.write() as session:
            if not self._fence(session, RUNNING_ONLY, updated=now()):
                return False
            session.execute(
                update(STEP)
                .where(
                    STEP.c.run_id == self.claim.run_id,
                    STEP.c.attempt == self.claim.attempt,
                    STEP.c.name == name,
                )
                .values(executor=executor, external_id=external_id)
            )
        return True

    def step_finished(
        self,
        name: str,
        status: str,
        exit_code: int | None,
        message: str = "",
        allow: Collection[str] = RUNNING_ONLY,
    ) -> bool:
        with self.store.write() as session:
            if not self._fence(session, allow, updated=now()):
                return False
            session.execute(
                update(STEP)
                .where(
                    STEP.c.run_id == self.claim.run_id,
                    STEP.c.attempt == self.claim.attempt,
                    STEP.c.name == name,
                )
                .values(status=status, finished=now(), exit_code=exit_code, message=message)
            )
        return True

    def finish(self, status: Status, message: str, exit_code: int | None = None) -> bool:
        """Running -> `status`, with an event; False when the run stopped being ours."""
        if self.pending and not self.flush():
            return False
        t = now()
        with self.store.write() as session:
            values: dict[str, object] = {
                "status": status,
                "finished": t,
                "updated": t,
                "status_message": message,
                "exit_code": exit_code,
            }
            if status == Status.COMPLETED:
                values["progress"] = 1.0
            if not self._fence(session, RUNNING_ONLY, **values):
                return False
            session.add(
                Event(
                    run_id=self.claim.run_id,
                    time=t,
                    user=self.agent,
                    action=str(status),
                    from_status=Status.RUNNING,
                    to_status=status,
                    message=message,
                )
            )
        return True

    def state(self) -> RunState | None:
        with self.store.read() as session:
            row = session.execute(
                select(RUN.c.status, RUN.c.attempt, RUN.c.agent, RUN.c.status_message).where(
                    RUN.c.id == self.claim.run_id
                )
            ).first()
        return RunState(*row) if row else None

    def still_mine(self, state: RunState | None) -> bool:
        """Whether the run is still this agent's attempt (whatever its status)."""
        return (
            state is not None and state.attempt == self.claim.attempt and state.agent == self.agent
        )

    def completed_steps(self) -> dict[str, int]:
        """Steps completed in any attempt of this run, with the attempt that did them."""
        with self.store.read() as session:
            rows = session.execute(
                select(STEP.c.name, STEP.c.attempt).where(
                    STEP.c.run_id == self.claim.run_id, STEP.c.status == Status.COMPLETED
                )
            ).all()
        return {name: attempt for name, attempt in rows}
