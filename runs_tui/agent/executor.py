"""Running one claimed run: its steps in DAG order, each a subprocess, reported live."""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from typing import IO, NoReturn

from sqlalchemy import select

from runs_tui.agent import procs
from runs_tui.agent.claims import Claim
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


class Executor:
    """Runs one claim to its end; `agent_stop` is set when the agent is shutting down
    and `agent_deadline` then says when a still-running run is aborted."""

    def __init__(
        self, store: Store, claim: Claim, agent: str, timing: Timing, agent_stop: threading.Event
    ) -> None:
        self.store, self.claim, self.agent, self.timing = store, claim, agent, timing
        self.agent_stop = agent_stop
        self.agent_deadline: float | None = None
        self.writer = RunWriter(store, claim, agent)

    def run(self) -> str:
        """Execute the run; returns "completed", "failed", "aborted" or "lost"."""
        try:
            return self._run()
        except StopRun as stop:
            return stop.outcome
        except Exception as exc:
            log.exception("run %s: agent error", self.claim.ref)
            self.writer.log("", "agent", f"agent error: {exc!r}")
            self.writer.finish(Status.FAILED, f"agent error: {exc}")
            return "failed"

    def _run(self) -> str:
        definition = PipelineDef.from_json(self.claim.definition)
        params = self._params()
        done = self.writer.completed_steps()
        for step in definition.order():
            if step.name in done:
                self.writer.log(
                    step.name,
                    "agent",
                    f"step {step.name!r} completed in attempt {done[step.name]}; not run again",
                )
                continue
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

    def _env(self, step: StepDef, params: dict[str, str], token: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({env_name(k): v for k, v in params.items()})
        env.update(
            RUNS_TUI_RUN_ID=str(self.claim.run_id),
            RUNS_TUI_STEP=step.name,
            RUNS_TUI_ATTEMPT=str(self.claim.attempt),
            PYTHONUNBUFFERED="1",
        )
        env[procs.TOKEN_VAR] = token
        return env

    def _step(self, step: StepDef, params: dict[str, str]) -> int | None:
        if not self.writer.step_started(step.name):
            self._fence_lost(None, step.name)
        argv = [substitute(arg, params) for arg in step.command]
        token = uuid.uuid4().hex
        try:
            proc = procs.spawn(argv, self.claim.folder or ".", self._env(step, params, token))
        except OSError as exc:
            message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
            self.writer.log(step.name, "agent", message)
            self.writer.step_finished(step.name, Status.FAILED, None, message)
            self.writer.finish(Status.FAILED, f"step {step.name!r}: {message}")
            raise StopRun("failed") from None
        log.info(
            "run %s attempt %d: step %s started (pid %d)",
            self.claim.ref,
            self.claim.attempt,
            step.name,
            proc.pid,
        )
        code = self._follow(step.name, proc, token)
        status = Status.COMPLETED if code == 0 else Status.FAILED
        self.writer.step_finished(step.name, status, code)
        return code

    def _follow(self, step: str, proc: subprocess.Popen[bytes], token: str) -> int | None:
        lines: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        readers = [
            threading.Thread(target=_read, args=(name, pipe, lines), daemon=True)
            for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr))
            if pipe is not None
        ]
        for reader in readers:
            reader.start()
        open_pipes, last_flush, last_check = len(readers), time.monotonic(), time.monotonic()
        exited_at: float | None = None
        while open_pipes:
            try:
                item = lines.get(timeout=0.1)
            except queue.Empty:
                item = ("", b"")
            if item is None:
                open_pipes -= 1
            elif item[1]:
                self._line(step, item[0], item[1])
            mono = time.monotonic()
            if self._past_deadline():
                self._agent_stopped(proc, step, token)
            if self.writer.pending and (
                mono - last_flush >= FLUSH_EVERY or self.writer.pending >= MAX_BUFFER
            ):
                last_flush = last_check = mono
                if not self.writer.flush():
                    self._fence_lost(proc, step, token)
            elif mono - last_check >= min(self.timing.poll, FLUSH_EVERY * 2):
                last_check = mono
                self._check(proc, step, token)
            if proc.poll() is not None:
                exited_at = exited_at or mono
                if mono - exited_at > 1.0:
                    procs.reap_leftovers(proc, token)
        code = proc.wait()
        procs.reap_leftovers(proc, token)
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

    def _check(self, proc: subprocess.Popen[bytes], step: str, token: str) -> None:
        """Stop the step if the run was aborted or lost."""
        state = self.writer.state()
        if state is None or not self.writer.still_mine(state) or state.status != Status.RUNNING:
            self._fence_lost(proc, step, token)

    def _past_deadline(self) -> bool:
        return (
            self.agent_stop.is_set()
            and self.agent_deadline is not None
            and time.monotonic() >= self.agent_deadline
        )

    def _agent_stopped(self, proc: subprocess.Popen[bytes], step: str, token: str) -> None:
        from runs_tui.core import ops

        ops.abort(self.store, [self.claim.run_id], user=self.agent, message="agent stopped")
        self._fence_lost(proc, step, token)

    def _fence_lost(
        self, proc: subprocess.Popen[bytes] | None, step: str, token: str = ""
    ) -> NoReturn:
        """The run stopped being ours: stop its processes; if it was aborted, say by whom."""
        state = self.writer.state()
        code = procs.stop(proc, token, self.timing.grace) if proc is not None else None
        if state is not None and self.writer.still_mine(state) and state.status == Status.ABORTED:
            self.writer.log(step, "agent", state.message or "aborted")
            self.writer.flush(allow=ABORTED_ONLY)
            if step:
                self.writer.step_finished(
                    step, Status.ABORTED, code, state.message, allow=ABORTED_ONLY
                )
            log.info("run %s: %s", self.claim.ref, state.message)
            raise StopRun("aborted")
        log.warning(
            "run %s attempt %d: no longer this agent's; stopped", self.claim.ref, self.claim.attempt
        )
        raise StopRun("lost")


def _read(name: str, pipe: IO[bytes], out: queue.Queue[tuple[str, bytes] | None]) -> None:
    try:
        for raw in iter(pipe.readline, b""):
            out.put((name, raw))
    finally:
        out.put(None)
