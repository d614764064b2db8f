"""Running one claimed run: its steps in DAG order, each started by the launcher, reported
live."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import select

from runs_tui.agent.claims import Adoption, Claim
from runs_tui.agent.launcher import (
    Adopting,
    LaunchError,
    Releasable,
    StepHandle,
    StepLauncher,
    Stopped,
)
from runs_tui.agent.outage import Outage, StoreFailure
from runs_tui.agent.protocol import BadReport, MetricReport, ProgressReport, parse
from runs_tui.agent.writer import RunWriter
from runs_tui.core.db import Store
from runs_tui.core.models import PARAM
from runs_tui.core.pipelines import PipelineDef, StepDef, env_name, substitute
from runs_tui.core.status import Status

log = logging.getLogger("runs_tui.agent")
FLUSH_EVERY = 0.5
MAX_BUFFER = 500
ABORTED_ONLY = frozenset({Status.ABORTED})


@dataclass
class Timing:
    poll: float
    grace: float


class StopRun(Exception):
    """The step must stop: `outcome` is what happened to the run."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def resolve_argv(argv: list[str]) -> list[str]:
    """`python` in a pipeline means the Python that runs the agent (and runs_tui.report)."""
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return list(argv)


class Executor:
    """Runs one claim to its end; `agent_stop` is set when the agent is shutting down
    and `agent_deadline` then says when a still-running run is aborted, unless the agent
    is `detaching`: then the run is left Running, its step too, for a later agent to
    adopt. An `adoption` is a run taken over from an earlier process of this agent."""

    def __init__(
        self,
        store: Store,
        claim: Claim,
        agent: str,
        timing: Timing,
        agent_stop: threading.Event,
        launcher: StepLauncher,
        outage: Outage,
        adoption: Adoption | None = None,
    ) -> None:
        self.store, self.claim, self.agent, self.timing = store, claim, agent, timing
        self.agent_stop, self.launcher, self.adoption = agent_stop, launcher, adoption
        self.agent_deadline: float | None = None
        self.detaching = False
        self._released = False
        self._shown_detail = ""
        self.writer = RunWriter(store, claim, agent, outage, self._past_deadline)

    def run(self) -> str:
        """Execute the run; returns "completed", "failed", "aborted", "lost" or "detached"."""
        try:
            return self._run()
        except StopRun as stop:
            return stop.outcome
        except StoreFailure as failure:
            return self.writer.stopped_by(failure)
        except Exception as exc:
            log.exception("run %s: agent error", self.claim.ref)
            self.writer.log("", "agent", f"agent error: {exc!r}")
            return self.writer.fail(f"agent error: {exc}", keep_output=True)

    def _run(self) -> str:
        definition = PipelineDef.from_json(self.claim.definition)
        params = self.writer.retrying(self._params)
        done = self.writer.completed_steps()
        for step in definition.order():
            if step.name in done:
                self.writer.log(
                    step.name,
                    "agent",
                    f"step {step.name!r} completed in attempt {done[step.name]}; not run again",
                )
                continue
            if self.detaching and self.agent_stop.is_set():
                raise StopRun("detached")  # between steps: the adopter starts the next one
            code = self._step(step, params)
            if code != 0:
                why = (
                    f"killed by signal {-code}"
                    if code is not None and code < 0
                    else f"exited with code {code}"
                )
                self.writer.finish(Status.FAILED, f"step {step.name!r} {why}", code)
                return "failed"
        if not self.writer.finish(Status.COMPLETED, "completed", 0):
            self._fence_lost(None, "")
        return "completed"

    def _params(self) -> dict[str, str]:
        with self.store.read() as session:
            rows = session.execute(
                select(PARAM.c.key, PARAM.c.value).where(PARAM.c.run_id == self.claim.run_id)
            ).all()
        return {key: value for key, value in rows}

    def _env(self, step: StepDef, params: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update({env_name(k): v for k, v in params.items()})
        env.update(
            RUNS_TUI_RUN_ID=str(self.claim.run_id),
            RUNS_TUI_STEP=step.name,
            RUNS_TUI_ATTEMPT=str(self.claim.attempt),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _step(self, step: StepDef, params: dict[str, str]) -> int | None:
        self._shown_detail = ""
        adoption, self.adoption = self.adoption, None
        if adoption is not None and adoption.step == step.name:
            handle = self._adopt(adoption)
        else:
            handle = self._launch(step, params)
        try:
            code = self._follow(step.name, handle)
        except StoreFailure:
            handle.stop(self.timing.grace)  # as for an abort; then the run is failed
            raise
        finally:
            if self._released and isinstance(handle, Releasable):
                handle.release()
            else:
                handle.close()
        status = Status.COMPLETED if code == 0 else Status.FAILED
        self.writer.step_finished(step.name, status, code)
        return code

    def _launch(self, step: StepDef, params: dict[str, str]) -> StepHandle:
        if not self.writer.step_started(step.name):
            self._fence_lost(None, step.name)
        argv = resolve_argv([substitute(arg, params) for arg in step.command])
        try:
            handle = self.launcher.start(
                argv,
                self._env(step, params),
                self.claim.folder or ".",
                step.resources,
                f"{self.claim.ref}/{step.name}",
            )
        except LaunchError as exc:
            self._cannot_follow(step.name, str(exc))
        self.writer.step_launched(step.name, handle.executor, handle.external_id)
        log.info(
            "run %s attempt %d: step %s started (%s %s)",
            self.claim.ref,
            self.claim.attempt,
            step.name,
            handle.executor,
            handle.external_id,
        )
        return handle

    def _adopt(self, adoption: Adoption) -> StepHandle:
        """Follow the step an earlier process of this agent left running, from where the
        stored log ends."""
        name, job = adoption.step or "", adoption.external_id
        self.writer.open_step = name
        if not isinstance(self.launcher, Adopting):
            self._cannot_follow(name, f"the {self.launcher.executor} executor cannot adopt {job}")
        try:
            handle = self.launcher.adopt(job, adoption.offsets)
        except LaunchError as exc:
            self._cannot_follow(name, str(exc))
        out, err = adoption.offsets
        self.writer.log(
            name,
            "agent",
            f"{self.agent} adopted {handle.executor} job {job} (step {name}); its output "
            f"goes on from byte {out} of stdout and {err} of stderr",
        )
        log.info("run %s attempt %d: adopted job %s", self.claim.ref, self.claim.attempt, job)
        return handle

    def _cannot_follow(self, step: str, message: str) -> NoReturn:
        """The step could not be started (or taken over): the run fails, saying why."""
        self.writer.log(step, "agent", message)
        self.writer.step_finished(step, Status.FAILED, None, message)
        self.writer.finish(Status.FAILED, f"step {step!r}: {message}")
        raise StopRun("failed")

    def _follow(self, step: str, handle: StepHandle) -> int | None:
        """Report the step's output and stop it when the run stops being ours; returns its
        exit code once it has exited and all its output is in."""
        last_flush = last_check = time.monotonic()
        while not handle.output_done or (code := handle.poll()) is None:
            line = handle.read(timeout=0.1)
            if line is not None:
                self._line(step, line.stream, line.raw)
                if line.end is not None:
                    self.writer.reached(step, line.stream, line.end)
            mono = time.monotonic()
            if self.detaching and self.agent_stop.is_set():
                self._detach(handle, step)
            if self._past_deadline():
                self._agent_stopped(handle, step)
            if self.writer.pending and (
                mono - last_flush >= FLUSH_EVERY or self.writer.pending >= MAX_BUFFER
            ):
                last_flush = last_check = mono
                if self.writer.flush_soon() is False:
                    self._fence_lost(handle, step)
            elif mono - last_check >= min(self.timing.poll, FLUSH_EVERY * 2):
                last_check = mono
                self._check(handle, step)
        if self.writer.pending and not self.writer.flush():
            self._fence_lost(None, step)
        return code

    def _line(self, step: str, stream: str, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        report = parse(text) if stream == "stdout" else None
        if isinstance(report, MetricReport):
            self.writer.metric(report)
        elif isinstance(report, ProgressReport):
            self.writer.progress = report.fraction
        elif isinstance(report, BadReport):
            self.writer.log(step, stream, f"{text}  [runs-tui: ignored: {report.why}]")
        else:
            self.writer.log(step, stream, text)

    def _check(self, handle: StepHandle, step: str) -> None:
        """Stop the step if the run was aborted or lost; note where it stands."""
        if self.writer.still_running() is False:
            self._fence_lost(handle, step)
        detail = handle.detail
        if detail != self._shown_detail:
            self._shown_detail = detail
            self.writer.step_detail(step, detail)

    def _detach(self, handle: StepHandle, step: str) -> NoReturn:
        """Leave the step running and the run Running, its output stored up to here, for
        the next process of this agent to adopt."""
        job = f"{handle.executor} job {handle.external_id}"
        self.writer.log(step, "agent", f"{self.agent} detached; {job} keeps running")
        self.writer.step_detail(step, f"{job} left running by {self.agent} (detached)")
        if not self.writer.flush():
            self._fence_lost(handle, step)
        self._released = True
        raise StopRun("detached")

    def _past_deadline(self) -> bool:
        return (
            self.agent_stop.is_set()
            and self.agent_deadline is not None
            and time.monotonic() >= self.agent_deadline
        )

    def _agent_stopped(self, handle: StepHandle, step: str) -> None:
        from runs_tui.core import ops

        self.writer.retrying(
            lambda: ops.abort(
                self.store, [self.claim.run_id], user=self.agent, message="agent stopped"
            ),
            writes=True,
        )
        self._fence_lost(handle, step)

    def _fence_lost(self, handle: StepHandle | None, step: str) -> NoReturn:
        """The run stopped being ours: stop its step; if it was aborted, say by whom."""
        state = self.writer.state()
        stopped = handle.stop(self.timing.grace) if handle is not None else Stopped(None)
        if state is not None and self.writer.still_mine(state) and state.status == Status.ABORTED:
            self.writer.log(step, "agent", state.message or "aborted")
            if stopped.processes is not None:
                plural = "" if stopped.processes == 1 else "es"
                self.writer.log(step, "agent", f"stopped {stopped.processes} process{plural}")
            elif handle is not None:  # a batch job: its id is what the cluster's users see
                job = f"{handle.executor} job {handle.external_id}"
                self.writer.log(step, "agent", f"cancelled {job}")
            self.writer.flush(allow=ABORTED_ONLY)
            if step:
                self.writer.step_finished(
                    step, Status.ABORTED, stopped.code, state.message, allow=ABORTED_ONLY
                )
            log.info("run %s: %s", self.claim.ref, state.message)
            raise StopRun("aborted")
        log.warning(
            "run %s attempt %d: no longer this agent's; stopped", self.claim.ref, self.claim.attempt
        )
        raise StopRun("lost")
