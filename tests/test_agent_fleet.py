"""Many agents, many runs: every run executed exactly once, none lost, none left Pending."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from support import Agents, pipeline_toml

from runs_tui.core import ops
from runs_tui.core.db import Store, now, open_store
from runs_tui.core.models import RUN, STEP
from runs_tui.core.registry import register
from runs_tui.core.status import Status


def _enqueue(store: Store, tmp_path: Path, runs: int) -> tuple[Path, int]:
    out = tmp_path / "executions"
    out.mkdir()
    step = ["sh", "-c", f'touch "{out}/$RUNS_TUI_RUN_ID.$RUNS_TUI_ATTEMPT.$$"']
    path = tmp_path / "fleet.toml"
    path.write_text(pipeline_toml("fleet", [("touch", step, [])]))
    pipe = register(store, path)
    first = ops.new_run(store, "fleet")
    t = now()
    with store.write() as s:
        s.execute(
            insert(RUN),
            [
                {
                    "pipeline_id": pipe.id,
                    "number": n,
                    "name": f"fleet #{n}",
                    "version": "1.0.0",
                    "status": Status.PENDING,
                    "user": "tester",
                    "queue": "default",
                    "created": t + n,
                    "updated": t,
                    "archived": False,
                    "attempt": 1,
                    "status_message": "",
                }
                for n in range(2, runs + 1)
            ],
        )
    return out, first.id


def _check_exactly_once(store: Store, out: Path, runs: int, agents: Agents, n_agents: int) -> None:
    executions = Counter(f.name.rsplit(".", 1)[0] for f in out.iterdir())
    assert len(executions) == runs, f"{runs - len(executions)} runs never executed"
    twice = {k: v for k, v in executions.items() if v > 1}
    assert not twice, f"runs executed more than once: {twice}"
    with store.read() as s:
        statuses = dict(s.execute(select(RUN.c.status, func.count()).group_by(RUN.c.status)).all())
        steps = s.execute(
            select(STEP.c.run_id, STEP.c.attempt, func.count()).group_by(
                STEP.c.run_id, STEP.c.attempt
            )
        ).all()
        by_agent = dict(s.execute(select(RUN.c.agent, func.count()).group_by(RUN.c.agent)).all())
    assert statuses == {"completed": runs}, statuses
    assert len(steps) == runs and all(n == 1 and attempt == 1 for _, attempt, n in steps)
    assert len(by_agent) == n_agents, f"some agents took no run: {by_agent}"


def _fleet(db: str, store: Store, tmp_path: Path, agents, n_agents: int, runs: int) -> None:
    out, _ = _enqueue(store, tmp_path, runs)
    fleet: Agents = agents(db)
    procs = [fleet.start("--once", "--poll", "0.2", "--concurrency", "2") for _ in range(n_agents)]
    for i, proc in enumerate(procs):
        assert proc.wait(timeout=300) == 0, fleet.log(f"agent{i}")
    _check_exactly_once(store, out, runs, fleet, n_agents)


def test_four_agents_two_hundred_runs_sqlite(store: Store, db_path: Path, tmp_path, agents):
    _fleet(str(db_path), store, tmp_path, agents, 4, 200)


@pytest.mark.postgres
def test_eight_agents_five_hundred_runs_postgres(pg_url: str, tmp_path: Path, agents):
    store = open_store(pg_url)
    try:
        _fleet(pg_url, store, tmp_path, agents, 8, 500)
    finally:
        store.dispose()
