"""Everything an agent writes about a run, fenced by the run's attempt, kept through outages.

Each flush first updates the run row `WHERE id=? AND attempt=? AND agent=? AND
status=...`; only when that row is still ours are log lines, points and summaries
written in the same transaction. A stale agent (its attempt replaced by a retry,
or its run failed as lost) therefore changes nothing.

Writes made while no step runs wait out an outage; the writes of a running step never
wait (`flush_soon`, `still_running`): its output stays buffered (agent.buffer) until the
database is back, or until the outage passes the limit and the step is stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from runs_tui.agent.buffer import OutputBuffer
from runs_tui.agent.claims import Claim
from runs_tui.agent.outage import Backoff, GaveUp, Outage, StoreFailure, describe, is_transient
from runs_tui.agent.protocol import MetricReport
from runs_tui.core.db import Store, now
from runs_tui.core.models import RUN, STEP, Event, StepRun
from runs_tui.core.status import Status

log = logging.getLogger("runs_tui.agent")
T = TypeVar("T")
RUNNING_ONLY = frozenset({Status.RUNNING})


@dataclass
class RunState:
    """The run as it stands in the store, for deciding what a failed fence means."""

    status: str
    attempt: int
    agent: str | None
    message: str


class RunWriter:
    """Writes of one claimed run. `stopping` says when the agent gives up waiting for the
    database (it is shutting down and its grace is over)."""

    def __init__(
        self, store: Store, claim: Claim, agent: str, outage: Outage, stopping: Callable[[], bool]
    ) -> None:
        self.store, self.claim, self.agent = store, claim, agent
        self.outage, self.stopping = outage, stopping
        self.progress: float | None = None
        self.sent_progress: float | None = None
        self.open_step: str | None = None  # started and not finished: closed if the run fails
        self.output = OutputBuffer(claim.run_id, claim.attempt)
        self._launched: dict[str, str] = {}
        self._detail: tuple[str, str] | None = None
        self._reached: tuple[str, dict[str, int]] | None = None
        # an outage seen by flush_soon / still_running: since when, and when to try again
        self._since: float | None = None
        self._write_failed = False
        self._next_try = 0.0
        self._backoff = Backoff()

    def log(self, step: str, stream: str, line: str) -> None:
        self.output.log(step, stream, line)

    def metric(self, report: MetricReport) -> None:
        self.output.metric(report)

    def step_detail(self, name: str, detail: str) -> None:
        """Where the step stands on its executor (queued, on which node), written with the
        next flush on the step row and as the run's message."""
        self._detail = (name, detail)

    def reached(self, name: str, stream: str, end: int) -> None:
        """The step's output file `stream` has been read up to `end`: stored on the step row
        in the same transaction as the lines before it, so an agent that adopts the step
        reads on from there, with no line lost or written twice."""
        if self._reached is None or self._reached[0] != name:
            self._reached = (name, {})
        self._reached[1]["out_offset" if stream == "stdout" else "err_offset"] = end

    def step_launched(self, name: str, executor: str, external_id: str) -> None:
        """Where the step runs, written with the next flush: the step row exists already (a
        launch failure is recorded on it), and a step that runs never waits for a write."""
        self._launched = {"name": name, "executor": executor, "external_id": external_id}

    @property
    def pending(self) -> int:
        """Buffered lines and points, plus one for each other thing not written yet."""
        others = bool(self._launched) + bool(self._detail) + bool(self._reached)
        return len(self.output) + others + (self.progress != self.sent_progress)

    def flush(self, allow: Collection[str] = RUNNING_ONLY) -> bool:
        """Write what is buffered, waiting out an outage (no step runs meanwhile); False,
        and nothing written, when the run is not ours."""
        return self._patient(lambda: self._write_buffer(allow), writes=True)

    def flush_soon(self) -> bool | None:
        """`flush()` while a step runs: None instead of waiting when the database is
        unavailable (the output stays buffered; tried again after a backoff). StoreFailure
        for an error that is not transient or an outage past the limit."""
        return self._soon(lambda: self._write_buffer(RUNNING_ONLY), writes=True)

    def still_running(self) -> bool | None:
        """Whether the run is still this agent's attempt and Running; None when the
        database cannot say now (as `flush_soon`)."""
        got = self._soon(lambda: (self._read_state(),), writes=False)
        if got is None:
            return None
        state = got[0]
        return state is not None and self.still_mine(state) and state.status == Status.RUNNING

    def step_started(self, name: str) -> bool:
        def write() -> bool:
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

        started = self._patient(write, writes=True)
        if started:
            self.open_step = name
        return started

    def step_finished(
        self,
        name: str,
        status: str,
        exit_code: int | None,
        message: str = "",
        allow: Collection[str] = RUNNING_ONLY,
    ) -> bool:
        def write() -> bool:
            with self.store.write() as session:
                if not self._fence(session, allow, updated=now()):
                    return False
                session.execute(
                    self._step_row(name).values(
                        status=status, finished=now(), exit_code=exit_code, message=message
                    )
                )
            return True

        done = self._patient(write, writes=True)
        self.open_step = None
        return done

    def finish(self, status: Status, message: str, exit_code: int | None = None) -> bool:
        """Running -> `status`, with an event; False when the run stopped being ours."""
        if self.pending and not self.flush():
            return False

        def write() -> bool:
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

        return self._patient(write, writes=True)

    def stopped_by(self, failure: StoreFailure) -> str:
        """The executor's outcome after `failure` stopped the run's step: the run is failed
        with its reason, unless the agent is stopping and cannot write at all."""
        if isinstance(failure, GaveUp):
            log.warning(
                "run %s attempt %d: %s; the agent is stopping, so the run is left for other "
                "agents to find lost",
                self.claim.ref,
                self.claim.attempt,
                failure.reason,
            )
            return "lost"
        return self.fail(failure.reason)

    def fail(self, reason: str, *, keep_output: bool = False) -> str:
        """End the run as Failed with `reason` and close its open step row; the step has
        been stopped. The buffered output is written first if `keep_output`, else dropped:
        after a database error it may be what the database refuses. Returns the executor's
        outcome: "failed", or "lost" when the run is not ours or this cannot be written."""
        message = f"step {self.open_step!r} stopped: {reason}" if self.open_step else reason
        log.warning("run %s attempt %d: %s", self.claim.ref, self.claim.attempt, message)
        try:
            if keep_output and self.pending and not self.flush():
                return "lost"
            self._discard()
            if self.open_step:
                self.step_finished(self.open_step, Status.FAILED, None, message)
            return "failed" if self.finish(Status.FAILED, message) else "lost"
        except StoreFailure as again:
            if keep_output and not isinstance(again, GaveUp):
                return self.fail(reason)
            log.warning(
                "run %s attempt %d: cannot record that it failed: %s",
                self.claim.ref,
                self.claim.attempt,
                again.reason,
            )
            return "lost"

    def state(self) -> RunState | None:
        return self._patient(self._read_state, writes=False)

    def still_mine(self, state: RunState | None) -> bool:
        """Whether the run is still this agent's attempt (whatever its status)."""
        return (
            state is not None and state.attempt == self.claim.attempt and state.agent == self.agent
        )

    def completed_steps(self) -> dict[str, int]:
        """Steps completed in any attempt of this run, with the attempt that did them."""

        def read() -> dict[str, int]:
            with self.store.read() as session:
                rows = session.execute(
                    select(STEP.c.name, STEP.c.attempt).where(
                        STEP.c.run_id == self.claim.run_id, STEP.c.status == Status.COMPLETED
                    )
                ).all()
            return {name: attempt for name, attempt in rows}

        return self._patient(read, writes=False)

    def retrying(self, op: Callable[[], T], *, writes: bool = False) -> T:
        """`op` (the executor's own reads and writes) waiting out an outage like the
        writer's own, with the same errors."""
        return self._patient(op, writes=writes)

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

    def _step_row(self, name: str) -> Any:
        return update(STEP).where(
            STEP.c.run_id == self.claim.run_id,
            STEP.c.attempt == self.claim.attempt,
            STEP.c.name == name,
        )

    def _write_buffer(self, allow: Collection[str]) -> bool:
        """One transaction: the fence, then lines, points, summaries and the step's place."""
        t = now()
        values: dict[str, object] = {"updated": t}
        if set(allow) == RUNNING_ONLY:
            values["heartbeat"] = t
        if self.progress is not None:
            values["progress"] = self.progress
        with self.store.write() as session:
            if not self._fence(session, allow, **values):
                self._discard()
                return False
            self.output.write(session, self.store.is_sqlite)
            if self._launched:
                launched = dict(self._launched)
                session.execute(self._step_row(launched.pop("name")).values(**launched))
            if self._reached:
                name, offsets = self._reached
                session.execute(self._step_row(name).values(**offsets))
            if self._detail:
                name, detail = self._detail
                session.execute(self._step_row(name).values(message=detail))
                note = f"step {name}: {detail}" if detail else f"running on {self.agent}"
                self._fence(session, allow, status_message=note)
        self._discard()
        return True

    def _discard(self) -> None:
        """Forget what is buffered: written, or not to be written."""
        self.output.clear()
        self._launched = {}
        self._detail = None
        self._reached = None
        self.sent_progress = self.progress

    def _read_state(self) -> RunState | None:
        with self.store.read() as session:
            row = session.execute(
                select(RUN.c.status, RUN.c.attempt, RUN.c.agent, RUN.c.status_message).where(
                    RUN.c.id == self.claim.run_id
                )
            ).first()
        return RunState(*row) if row else None

    def _patient(self, op: Callable[[], T], *, writes: bool) -> T:
        """`op`, tried again through transient errors until it succeeds; StoreFailure for
        any other database error, GaveUp when the agent stops meanwhile."""
        try:
            result = self.outage.call(op, self._wait, writes)
        except SQLAlchemyError as exc:
            raise StoreFailure(f"database error: {describe(exc)}") from exc
        if writes:
            self._recovered()
        return result

    def _wait(self, delay: float) -> bool:
        if self.stopping():
            return True
        time.sleep(delay)
        return False

    def _soon(self, op: Callable[[], T], *, writes: bool) -> T | None:
        """`op` now, unless an outage's backoff says later; None when it failed transiently
        (counted toward the outage's limit)."""
        if time.monotonic() < self._next_try:
            return None
        try:
            result = op()
        except SQLAlchemyError as exc:
            if not is_transient(exc):
                raise StoreFailure(f"database error: {describe(exc)}") from exc
            self.outage.failed(exc)
            mono = time.monotonic()
            self._since = mono if self._since is None else self._since
            self._write_failed |= writes
            if mono - self._since > self.outage.limit:
                raise StoreFailure(
                    f"database unavailable for {mono - self._since:.0f} s: {describe(exc)}"
                ) from exc
            self._next_try = mono + self._backoff.next()
            return None
        if writes or not self._write_failed:  # a read passes a SQLite write lock
            self._recovered()
        if writes:
            self.outage.ok()
        return result

    def _recovered(self) -> None:
        self._since, self._write_failed, self._next_try = None, False, 0.0
        self._backoff.reset()
