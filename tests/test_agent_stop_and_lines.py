"""A real agent with the local executor: an abort reaches every descendant of a step and
the run's log says how many processes were stopped; a 200 MB line without a newline is
stored cut at --max-line and costs the agent little memory."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support import Agents, kill_marked, pids_with, pipeline_toml, wait_for

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import LOG, RUN, STEP
from runs_tui.core.registry import register

PY = sys.executable


@pytest.fixture
def marker() -> Iterator[str]:
    word = f"{uuid.uuid4().int % 10**15:015d}"
    yield word
    kill_marked(word)


def _start(store: Store, tmp_path: Path, argv: list[str]) -> int:
    path = tmp_path / "p.toml"
    path.write_text(pipeline_toml("p", [("s", argv, [])]))
    register(store, path)
    return ops.new_run(store, "p").id


def _logs(store: Store, run_id: int) -> list[tuple[str, str]]:
    with store.read() as s:
        rows = s.execute(
            select(LOG.c.stream, LOG.c.line).where(LOG.c.run_id == run_id).order_by(LOG.c.id)
        ).all()
    return [(stream, line) for stream, line in rows]


def _run_status(store: Store, run_id: int) -> str | None:
    with store.read() as s:
        return s.execute(select(RUN.c.status).where(RUN.c.id == run_id)).scalar()


def _step_status(store: Store, run_id: int) -> str | None:
    with store.read() as s:
        return s.execute(select(STEP.c.status).where(STEP.c.run_id == run_id)).scalar()


def test_abort_stops_every_descendant_and_the_log_says_how_many(
    store: Store, tmp_path: Path, agents, db_path: Path, marker: str
):
    m = marker
    script = f"""trap "" TERM
        env -i setsid sh -c 'trap "" TERM; while :; do sleep 1.{m}; done' {m} &
        setsid sh -c 'i=0; while [ $i -lt 1500 ]; do
            sleep 1.{m} & i=$((i+1)); sleep 0.0{m}; done' {m} &
        (setsid sleep 300.{m} &)
        printf '%0150d\\n' 0
        echo ready; wait"""
    run_id = _start(store, tmp_path, ["sh", "-c", script, m])
    a: Agents = agents(str(db_path))
    a.start("--poll", "0.2", "--grace", "0.5", "--max-line", "100")
    wait_for(lambda: ("stdout", "ready") in _logs(store, run_id), 30, "the step to be ready")
    # the step, the detached loop, the forker and one child, the double-forked sleep
    surely_alive = 5
    wait_for(lambda: len(pids_with(m)) >= surely_alive, 60, "the step's processes")
    assert ops.abort(store, [run_id], message="enough").ok
    wait_for(lambda: _step_status(store, run_id) == "aborted", 30, "the step to be stopped")
    assert not pids_with(m), "the step is marked aborted once nothing of it runs"
    logs = _logs(store, run_id)
    assert ("stdout", "0" * 100 + " [runs-tui: line truncated at 100 bytes]") in logs
    said = [line for stream, line in logs if stream == "agent" and "process" in line]
    assert len(said) == 1 and (found := re.fullmatch(r"stopped (\d+) processes", said[0])), logs
    assert int(found[1]) >= surely_alive
    assert a.log("agent0").count("local executor: steps are tracked and stopped through") == 1


def test_a_200_mb_line_is_stored_cut_and_costs_the_agent_little_memory(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    code = (
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "for _ in range(200):\n"
        "    out.write(b'x' * (1 << 20))\n"
        "out.write(b'\\nafter 1\\nafter 2\\n')\n"
    )
    run_id = _start(store, tmp_path, [PY, "-c", code])
    a: Agents = agents(str(db_path))
    agent = a.start("--poll", "0.2")
    wait_for(lambda: _run_status(store, run_id) == "completed", 60, "the run to complete")
    status = Path(f"/proc/{agent.pid}/status").read_text()
    peak_kib = int(re.search(r"VmHWM:\s+(\d+) kB", status)[1])  # type: ignore[index]
    assert peak_kib < 200 * 1024, f"the agent's peak RSS was {peak_kib} KiB"
    assert _logs(store, run_id) == [
        ("stdout", "x" * 65536 + " [runs-tui: line truncated at 65,536 bytes]"),
        ("stdout", "after 1"),
        ("stdout", "after 2"),
    ]
