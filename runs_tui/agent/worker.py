"""`runs-tui agent`: claim runs from queues, run them, beat, and find lost runs.

On SIGTERM or SIGINT the agent stops claiming, lets its runs finish within the
grace period, then aborts what is left with "agent stopped": none stays Running.
With `--detach` (Slurm) it leaves them Running, their jobs too, and the next agent of
the same name adopts them when it starts, as it adopts those of an agent killed outright.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from runs_tui.agent import claims
from runs_tui.agent.executor import Executor, Timing
from runs_tui.agent.launcher import Adopting, StepLauncher
from runs_tui.agent.local import LocalLauncher
from runs_tui.agent.outage import (
    Backoff,
    GaveUp,
    Outage,
    describe,
    is_transient,
    step_limit,
    waiting_up_to,
)
from runs_tui.agent.output import MAX_LINE
from runs_tui.core.db import Store

log = logging.getLogger("runs_tui.agent")
EXECUTORS = ("local", "slurm")


def make_launcher(name: str, config: AgentConfig | None = None) -> StepLauncher:
    """The launcher of `--executor NAME`; one serves all runs of an agent."""
    if name == "local":
        return LocalLauncher(max_line=config.max_line) if config else LocalLauncher()
    if name == "slurm":
        from runs_tui.agent.slurm import SlurmLauncher

        cfg = config or AgentConfig(executor="slurm")
        return SlurmLauncher(
            partition=cfg.partition,
            sbatch_args=tuple(cfg.sbatch_args),
            spool=Path(cfg.spool).expanduser() if cfg.spool else None,
            poll=cfg.poll,
            max_line=cfg.max_line,
        )
    raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")


@dataclass
class AgentConfig:
    queues: list[str] = field(default_factory=lambda: ["default"])
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    concurrency: int = 1
    poll: float = 1.0
    heartbeat: float = 2.0
    stale_after: float = 30.0
    grace: float = 10.0
    once: bool = False
    executor: str = "local"
    partition: str | None = None
    sbatch_args: list[str] = field(default_factory=list)
    spool: str | None = None
    max_line: int = MAX_LINE
    detach: bool = False

    def check(self) -> None:
        """Reject settings that cannot work; the error names the option and value."""
        for option in ("poll", "heartbeat", "stale_after", "grace"):
            value = getattr(self, option)
            if not value > 0 and not (option == "grace" and value == 0):
                raise ValueError(f"--{option.replace('_', '-')} {value}: must be positive")
        if self.concurrency < 1:
            raise ValueError(f"--concurrency {self.concurrency}: must be at least 1")
        if self.max_line < 1:
            raise ValueError(f"--max-line {self.max_line}: must be at least 1 byte")
        if self.stale_after <= self.heartbeat:
            raise ValueError(
                f"--stale-after {self.stale_after} must be longer than --heartbeat {self.heartbeat}"
            )
        if not self.queues or any(not q.strip() for q in self.queues):
            raise ValueError(f"--queue {self.queues!r}: queue names cannot be empty")
        if self.executor not in EXECUTORS:
            raise ValueError(
                f"--executor {self.executor!r}: unknown executor (known: {', '.join(EXECUTORS)})"
            )
        if self.detach and self.executor == "local":
            raise ValueError(
                "--detach: local steps end with their agent; only --executor slurm can leave "
                "its jobs running for the next agent"
            )
        if self.spool is not None and any(c in self.spool for c in "|%\n"):
            raise ValueError(f"--spool {self.spool!r}: Slurm cannot take '|', '%' or a newline")


class AgentWorker:
    def __init__(self, store: Store, config: AgentConfig) -> None:
        config.check()
        self.store, self.config = store, config
        self.launcher = make_launcher(config.executor, config)
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.beat_wake = threading.Event()
        self.active: dict[int, tuple[Executor, threading.Thread]] = {}
        self.outcomes: dict[str, int] = {}
        self._lock = threading.Lock()
        self.outage = Outage(config.name, step_limit(config.stale_after, config.grace))

    def request_stop(self, signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        if not self.stop.is_set():
            log.info("agent %s: %s, stopping", self.config.name, signal.Signals(signum).name)
        self.stop.set()
        self.wake.set()
        self.beat_wake.set()

    def run(self) -> int:
        cfg = self.config
        try:
            self.outage.call(
                lambda: claims.register(self.store, cfg.name, cfg.queues), self.stop.wait
            )
        except GaveUp:
            return 0
        except claims.AgentRunning as exc:
            log.error("%s", exc)
            return 2
        log.info(
            "agent %s: queues %s, concurrency %d", cfg.name, ",".join(cfg.queues), cfg.concurrency
        )
        try:
            self._adopt()
        except GaveUp:
            return 0
        beat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        beat.start()
        try:
            self._loop()
        finally:
            self._shutdown()
            self.beat_wake.set()
            beat.join()
            try:
                self.outage.call(
                    lambda: claims.stopped(self.store, cfg.name), waiting_up_to(cfg.grace)
                )
            except GaveUp as exc:
                log.warning("agent %s: stopped, but could not record it: %s", cfg.name, exc)
        return 0

    def _loop(self) -> None:
        cfg = self.config
        while not self.stop.is_set():
            self._reap()
            claimed = None
            if len(self.active) < cfg.concurrency:
                try:
                    claimed = self.outage.call(
                        lambda: claims.claim(self.store, cfg.name, cfg.queues), self.stop.wait
                    )
                except GaveUp:
                    return
            if claimed is not None:
                self._start(claimed)
                continue
            if cfg.once and not self.active:
                return
            self.wake.wait(cfg.poll * random.uniform(0.8, 1.2))
            self.wake.clear()

    def _adopt(self) -> None:
        """Take over the runs an earlier process of this agent left Running (killed, or
        detached), when the launcher's steps outlive their agent."""
        cfg = self.config
        if not isinstance(self.launcher, Adopting):
            return
        taken = self.outage.call(
            lambda: claims.adopt(self.store, cfg.name, cfg.executor), self.stop.wait
        )
        for adoption in taken:
            what = f"job {adoption.external_id}" if adoption.step else "before its next step"
            log.info("agent %s: adopted %s (%s)", cfg.name, adoption.claim.ref, what)
            self._start(adoption.claim, adoption)

    def _start(self, claim: claims.Claim, adoption: claims.Adoption | None = None) -> None:
        if adoption is None:
            log.info(
                "agent %s: claimed %s (attempt %d)", self.config.name, claim.ref, claim.attempt
            )
        timing = Timing(self.config.poll, self.config.grace)
        executor = Executor(
            self.store,
            claim,
            self.config.name,
            timing,
            self.stop,
            self.launcher,
            self.outage,
            adoption,
        )
        thread = threading.Thread(
            target=self._execute, args=(executor,), name=f"run-{claim.run_id}", daemon=True
        )
        with self._lock:
            self.active[claim.run_id] = (executor, thread)
        thread.start()

    def _execute(self, executor: Executor) -> None:
        outcome = executor.run()
        log.info("agent %s: %s %s", self.config.name, executor.claim.ref, outcome)
        with self._lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.wake.set()

    def _reap(self) -> None:
        with self._lock:
            for run_id, (_, thread) in list(self.active.items()):
                if not thread.is_alive():
                    del self.active[run_id]

    def _beat(self) -> None:
        """Beat for the agent and its runs, and fail runs whose agent went silent; goes on
        while a stopping agent still has runs."""
        cfg = self.config
        backoff, wait = Backoff(cap=cfg.heartbeat), cfg.heartbeat
        while not (self.stop.is_set() and not self.active):
            self.beat_wake.wait(wait)
            self.beat_wake.clear()
            wait = cfg.heartbeat
            try:
                with self._lock:
                    mine = [(e.claim.run_id, e.claim.attempt) for e, _ in self.active.values()]
                claims.heartbeat(self.store, cfg.name, mine)
                self.outage.ok()
                backoff.reset()
                # After an outage this agent saw, the others' heartbeats failed too: their
                # silence is not counted until they have had `stale_after` to beat again.
                if self.outage.steady_for() >= cfg.stale_after:
                    lost = claims.fail_lost(self.store, cfg.stale_after, cfg.name, mine)
                    if lost:
                        log.warning("agent %s: failed lost runs %s", cfg.name, lost)
                        self._cancel_orphans(lost)
            except SQLAlchemyError as exc:
                if is_transient(exc):
                    self.outage.failed(exc)
                else:
                    log.warning("agent %s: heartbeat failed: %s", cfg.name, describe(exc))
                wait = backoff.next()
            except Exception:
                log.exception("agent %s: heartbeat failed; retrying", cfg.name)

    def _cancel_orphans(self, lost: list[int]) -> None:
        """A lost run's Slurm job would run unobserved: cancel it. (A local step is on the
        lost agent's machine, out of this agent's reach.)"""
        jobs = [
            job for executor, job in claims.running_jobs(self.store, lost) if executor == "slurm"
        ]
        if jobs:
            from runs_tui.agent.slurm import cancel_jobs

            cancel_jobs(jobs)
            log.warning(
                "agent %s: cancelled the Slurm jobs of lost runs: %s",
                self.config.name,
                ", ".join(jobs),
            )

    def _shutdown(self) -> None:
        """Give running runs the grace period, then abort them with "agent stopped"; or,
        detaching, leave them Running at once."""
        with self._lock:
            running = [(e, t) for e, t in self.active.values() if t.is_alive()]
        if running and self.config.detach:
            log.info(
                "agent %s: detaching; %d run(s) keep running for the next agent named %s",
                self.config.name,
                len(running),
                self.config.name,
            )
            for executor, _ in running:
                executor.detaching = True
        elif running:
            deadline = time.monotonic() + self.config.grace
            log.info(
                "agent %s: waiting up to %.0fs for %d run(s)",
                self.config.name,
                self.config.grace,
                len(running),
            )
            for executor, _ in running:
                executor.agent_deadline = deadline
        self.stop.set()
        for _, thread in running:
            thread.join()
        self._reap()


def install_signals(worker: AgentWorker) -> None:
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
