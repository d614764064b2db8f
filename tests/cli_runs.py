"""Runs for the `show` / `logs` tests, made as an agent makes them: a run created by
`core.ops`, claimed, and written by the agent's own `RunWriter` (steps, lines, metrics,
the end), so each test decides what the run holds and when."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from support import ROOT, pipeline_toml, wait_for

from runs_tui.agent import claims
from runs_tui.agent.outage import Outage
from runs_tui.agent.protocol import MetricReport
from runs_tui.agent.writer import RunWriter
from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.registry import register
from runs_tui.core.status import Status

AGENT = "agent-x"
HOSTILE = "a\x1b[31mb\x9bc\x07d\x1b]52;c;aGk=\x07e"  # what a terminal would act on


def register_train(store: Store, tmp_path: Path) -> str:
    """`train`: prepare -> fit -> report, with a text parameter for hostile values."""
    text = pipeline_toml(
        "train",
        [
            ("prepare", ["true"], []),
            ("fit", ["true"], ["prepare"]),
            ("report", ["true"], ["fit"]),
        ],
        params={"lr": 0.01, "note": "base"},
    )
    path = tmp_path / "train.toml"
    path.write_text(text)
    return register(store, path).name


def claimed(store: Store, pipeline: str, params: dict[str, str] | None = None) -> RunWriter:
    """A new run of `pipeline`, taken by the agent: its writer."""
    run = ops.new_run(store, pipeline, params or {})
    claim = claims.claim(store, AGENT, ["default"])
    assert claim is not None and claim.run_id == run.id
    return RunWriter(store, claim, AGENT, Outage(AGENT), lambda: False)


def lines(writer: RunWriter, step: str, texts: list[str], stream: str = "stdout") -> None:
    for text in texts:
        writer.log(step, stream, text)
    assert writer.flush()


def failed_run(store: Store, pipeline: str) -> RunWriter:
    """prepare completes, fit reports metrics and lines (one hostile) then exits 3."""
    w = claimed(store, pipeline, {"lr": "0.5", "note": HOSTILE})
    assert w.step_started("prepare")
    w.step_launched("prepare", "local", "4242")
    lines(w, "prepare", ["prepared 10 files"])
    assert w.step_finished("prepare", Status.COMPLETED, 0)
    assert w.step_started("fit")
    for i, value in enumerate([2.5, 0.125, 0.25]):
        w.metric(MetricReport("loss", "val", value, i))
    w.metric(MetricReport(f"acc{HOSTILE}", f"acc{HOSTILE}", 0.75, 2))
    lines(w, "fit", ["epoch 1", f"bad {HOSTILE}"])
    lines(w, "fit", ["Traceback: boom"], stream="stderr")
    assert w.step_finished("fit", Status.FAILED, 3)
    assert w.finish(Status.FAILED, "step 'fit' exited with code 3", 3)
    return w


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


class Follower:
    """`runs-tui logs ... --follow` in a real process; what it prints is collected by a
    thread, so that a test waits for a line with a deadline instead of blocking."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "runs_tui", "logs", *args]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, line: str, timeout: float = 60) -> None:
        wait_for(lambda: line in self.lines, timeout, f"{line!r} in {self.lines}")

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """The exit code and stderr, once the process ends by itself."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
