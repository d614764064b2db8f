"""Runs to compare, made as an agent makes them (tests/cli_runs.py): `train` at version
1 (prepare -> fit -> report) and, registered after, version 2 with an `export` step.

- A (train#1): failed in `fit` (exit 3); lr 0.5, a hostile note; loss/val 2.5 0.125 0.25,
  a hostile metric name; tag `sweep`.
- B (train#2): completed (exit 0); lr 0.1, note base; loss/val 1.0 0.5; tags `best`,
  `sweep`.
- C (train#3): pending; lr 0.5, note base; nothing reported.
- D (train#4): version 2, pending: its steps include `export`.
"""

from __future__ import annotations

from pathlib import Path

from cli_runs import HOSTILE, claimed, failed_run, register_train
from support import pipeline_toml

from runs_tui.agent.protocol import MetricReport
from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.registry import register
from runs_tui.core.status import Status

__all__ = ["HOSTILE", "seed"]


def seed(store: Store, tmp_path: Path) -> dict[str, int]:
    """The four runs above; their ids by letter."""
    register_train(store, tmp_path)
    a = failed_run(store, "train")
    b = claimed(store, "train", {"lr": "0.1"})
    for step in ("prepare", "fit", "report"):
        assert b.step_started(step)
        if step == "fit":
            for i, value in enumerate([1.0, 0.5]):
                b.metric(MetricReport("loss", "val", value, i))
        assert b.step_finished(step, Status.COMPLETED, 0)
    assert b.finish(Status.COMPLETED, "", 0)
    c = ops.new_run(store, "train", {"lr": "0.5"})
    text = pipeline_toml(
        "train",
        [
            ("prepare", ["true"], []),
            ("fit", ["true"], ["prepare"]),
            ("report", ["true"], ["fit"]),
            ("export", ["true"], ["report"]),
        ],
        params={"lr": 0.01, "note": "base"},
    ).replace("1.0.0", "2.0.0")
    path = tmp_path / "train2.toml"
    path.write_text(text)
    register(store, path)
    d = ops.new_run(store, "train")
    ids = {"A": a.claim.run_id, "B": b.claim.run_id, "C": c.id, "D": d.id}
    assert ops.tag(store, [ids["A"], ids["B"]], ["sweep"], []).ok
    assert ops.tag(store, [ids["B"]], ["best"], []).ok
    return ids
