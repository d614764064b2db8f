"""A pipeline whose step fails with a Python traceback, run by a real agent."""

from __future__ import annotations

import sys
from pathlib import Path

from support import Agents, pipeline_toml

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.registry import register

EPOCHS = 60  # lines of stdout before the traceback: more than a screen
FAILING = (
    "import sys, time\n"
    f"for i in range({EPOCHS}):\n"
    "    print('epoch %d: loss %.3f' % (i, 1 / (i + 1)), flush=True)\n"  # no {}: parameters
    "print('hostile \\x1b[31m [b]x[/b] \\x07', flush=True)\n"
    # stdout and stderr are two pipes: lines written at once may be read in either order;
    # a pause puts stdout's lines first in the console, as a person watching saw them
    "time.sleep(0.5)\n"
    "print('warning: lr is high', file=sys.stderr, flush=True)\n"
    "raise ValueError('bad lr: 10.0')\n"
)
REASON = "step 'boom' exited with code 1"


def register_failing(store: Store, tmp_path: Path, name: str = "fails") -> str:
    """`name`: a step `prep` that passes, then `boom` that prints, warns and raises."""
    path = tmp_path / f"{name}.toml"
    py = sys.executable
    path.write_text(
        pipeline_toml(
            name,
            [("prep", [py, "-c", "print('ready')"], []), ("boom", [py, "-c", FAILING], ["prep"])],
        )
    )
    return register(store, path).name


def register_passing(store: Store, tmp_path: Path, name: str = "passes") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(pipeline_toml(name, [("ok", [sys.executable, "-c", "print('fine')"], [])]))
    return register(store, path).name


def new_runs(store: Store, pipeline: str, n: int = 1) -> list[int]:
    return [int(ops.new_run(store, pipeline).id) for _ in range(n)]


def run_agent(agents: Agents, *args: str) -> None:
    """An agent that takes every Pending run and exits when the queue is empty."""
    proc = agents.start("--once", "--poll", "0.2", *args)
    assert proc.wait(timeout=120) == 0, agents.log("agent0")
