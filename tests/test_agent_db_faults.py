"""Database trouble while real `runs-tui agent` processes run steps: output the store cannot
hold, a held SQLite lock, a PostgreSQL outage, an error that persists, and an outage
longer than --stale-after. Each run ends in a clear state, no step process is left, and
no attempt runs twice or at the same time as another (the step keeps a ledger)."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from support import Agents, kill_marked, pids_with, pipeline_toml, wait_for

from runs_tui.core import ops
from runs_tui.core.db import BUSY_TIMEOUT_ENV, Store, open_store
from runs_tui.core.models import LOG, METRIC, RUN, STEP
from runs_tui.core.registry import register

STEP_SCRIPT = """
import os, signal, sys, time
ledger, release, mode = sys.argv[1:4]
run, attempt = os.environ["RUNS_TUI_RUN_ID"], os.environ["RUNS_TUI_ATTEMPT"]

def note(what):
    with open(ledger, "a") as f:
        f.write(f"{run} {attempt} {what} {time.time()}\\n")

def term(*_):
    note("term")
    sys.exit(143)

signal.signal(signal.SIGTERM, term)
note("start")
if mode == "hostile":
    sys.stdout.buffer.write(b"nul\\x00byte\\n" + bytes(range(256)) + b"\\n")
    sys.stdout.buffer.write(b"::metric name=big value=1 step=%d\\n" % 2**70)
    sys.stdout.buffer.write(b"::metric name=fine value=2 step=3\\n")
i = 0
while not os.path.exists(release):
    if mode != "quiet":
        print(f"tick {i}", flush=True)
    if mode == "poison" and i == 3:
        print("poison", flush=True)
    note("tick")
    i += 1
    time.sleep(0.1)
note("end")
"""


class Step:
    """A pipeline `p` of one step that ticks (a log line and a ledger line every 0.1 s)
    until its release file exists."""

    def __init__(self, store: Store, tmp_path: Path, mode: str = "plain") -> None:
        self.marker = f"ledger-step-{uuid.uuid4().hex}"
        self.ledger, self.release = tmp_path / "ledger", tmp_path / "release"
        script = tmp_path / "step.py"
        script.write_text(STEP_SCRIPT)
        argv = [sys.executable, str(script), str(self.ledger), str(self.release), mode]
        path = tmp_path / "p.toml"
        path.write_text(pipeline_toml("p", [("s", [*argv, self.marker], [])]))
        register(store, path)

    def entries(self) -> list[tuple[int, int, str, float]]:
        if not self.ledger.exists():
            return []
        out = []
        for line in self.ledger.read_text().splitlines():
            run, attempt, what, at = line.split()
            out.append((int(run), int(attempt), what, float(at)))
        return out

    def ticks(self, run_id: int, attempt: int = 1, what: str = "tick") -> int:
        return sum(1 for r, a, w, _ in self.entries() if (r, a, w) == (run_id, attempt, what))

    def check_each_attempt_once(self) -> dict[tuple[int, int], tuple[float, float]]:
        """Every attempt started once, and the attempts of a run never overlapped; returns
        each attempt's (first, last) ledger time."""
        spans: dict[tuple[int, int], tuple[float, float]] = {}
        for run, attempt, what, at in self.entries():
            key = (run, attempt)
            if what == "start":
                assert key not in spans, f"attempt {attempt} of run {run} started twice"
                spans[key] = (at, at)
            else:
                spans[key] = (spans[key][0], at)
        for (run, attempt), (first, _) in spans.items():
            before = spans.get((run, attempt - 1))
            assert before is None or before[1] < first, f"run {run}: attempts overlapped"
        return spans

    def gone(self) -> bool:
        return not pids_with(self.marker)


@pytest.fixture
def step_factory(tmp_path: Path) -> Iterator[list[Step]]:
    made: list[Step] = []
    yield made
    for step in made:
        kill_marked(step.marker)


def _status(store: Store, run_id: int) -> tuple[str, int, str]:
    with store.read() as s:
        row = s.execute(
            select(RUN.c.status, RUN.c.attempt, RUN.c.status_message).where(RUN.c.id == run_id)
        ).one()
    return row[0], row[1], row[2]


def _launch_written(store: Store, run_id: int) -> bool:
    """The step's executor and id are in the store: its agent has nothing left to write."""
    with store.read() as s:
        stmt = select(STEP.c.external_id).where(STEP.c.run_id == run_id)
        return bool(s.execute(stmt).scalar())


def _lines(store: Store, run_id: int) -> list[str]:
    with store.read() as s:
        stmt = select(LOG.c.line).where(LOG.c.run_id == run_id).order_by(LOG.c.id)
        return list(s.execute(stmt).scalars())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, db_path: Path) -> str:
    return str(db_path) if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
def any_store(url: str) -> Iterator[Store]:
    s = open_store(url)
    yield s
    s.dispose()


@pytest.fixture
def admin() -> Iterator[Engine]:
    """An AUTOCOMMIT connection to the server's own database, outside the test database."""
    engine = create_engine(os.environ["RUNS_TUI_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def test_hostile_output_is_stored_and_the_run_completes(
    any_store, url, tmp_path, agents, step_factory
):
    step = Step(any_store, tmp_path, "hostile")
    step_factory.append(step)
    step.release.touch()
    run = ops.new_run(any_store, "p")
    fleet: Agents = agents(url)
    assert fleet.start("--once", "--poll", "0.2").wait(timeout=60) == 0, fleet.log("agent0")
    assert _status(any_store, run.id) == ("completed", 1, "completed")
    lines = _lines(any_store, run.id)
    assert "nul\u2400byte  [runs-tui: 1 NUL shown as \u2400]" in lines
    assert any("\ufffd" in line for line in lines), "binary junk is kept, replaced"
    big = (
        f"::metric name=big value=1 step={2**70}  [runs-tui: ignored: step {2**70} is out of range]"
    )
    assert big in lines
    with any_store.read() as s:
        assert set(s.execute(select(METRIC.c.title)).scalars()) == {"fine"}
    step.check_each_attempt_once()


def test_a_sqlite_lock_held_past_the_busy_timeout_is_waited_out(
    store, db_path, tmp_path, agents, step_factory
):
    """A lock held for 10 s against a 2 s busy timeout (the path of 60 s against 30 s):
    the agent lives, the step ticks on, nothing it printed is lost, the run completes."""
    step = Step(store, tmp_path)
    step_factory.append(step)
    run = ops.new_run(store, "p")
    fleet: Agents = agents(str(db_path))
    agent = fleet.start("--poll", "0.2", env={BUSY_TIMEOUT_ENV: "2"})
    wait_for(lambda: len(_lines(store, run.id)) >= 3, 30, "the step's first lines in the store")
    lock = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        lock.execute("BEGIN IMMEDIATE")
        locked_at = step.ticks(run.id)
        wait_for(lambda: "database unavailable" in fleet.log("agent0"), 30, "the agent to notice")
        time.sleep(10 - 2)  # the rest of a 10 s lock; nothing is asserted on the time
        assert agent.poll() is None, fleet.log("agent0")
        assert step.ticks(run.id) > locked_at + 20, "the step kept running under the lock"
    finally:
        lock.rollback()
        lock.close()
    step.release.touch()
    wait_for(lambda: _status(store, run.id)[0] == "completed", 60, "the run to complete")
    ticks = [line for line in _lines(store, run.id) if line.startswith("tick ")]
    assert ticks == [f"tick {i}" for i in range(step.ticks(run.id))], "a line went missing"
    log = fleet.log("agent0")
    assert log.count("database unavailable: database is locked; retrying") == 1, log
    assert log.count("database back after") == 1, log
    assert "Traceback" not in log and "agent lost" not in log
    assert agent.poll() is None
    step.check_each_attempt_once()


@pytest.mark.postgres
def test_a_postgres_outage_is_waited_out(pg_url, admin, tmp_path, agents, step_factory):
    """15 s of connections refused and terminated on the test database only: the agent
    lives, both of its runs keep running and complete afterwards."""
    store = open_store(pg_url)
    try:
        step = Step(store, tmp_path)
        step_factory.append(step)
        runs = [ops.new_run(store, "p").id for _ in range(2)]
        fleet: Agents = agents(pg_url)
        agent = fleet.start("--poll", "0.2", "--concurrency", "2", "--grace", "2")
        wait_for(lambda: all(step.ticks(r) for r in runs), 30, "both steps running")
        store.dispose()
        name = make_url(pg_url).database
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        try:
            before = [step.ticks(r) for r in runs]
            time.sleep(15)  # the outage; nothing is asserted on the time
            assert agent.poll() is None, fleet.log("agent0")
            assert all(step.ticks(r) > b + 20 for r, b in zip(runs, before, strict=True))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        step.release.touch()
        wait_for(
            lambda: all(_status(store, r)[0] == "completed" for r in runs), 60, "both runs done"
        )
        for r in runs:
            ticks = [line for line in _lines(store, r) if line.startswith("tick ")]
            assert ticks == [f"tick {i}" for i in range(step.ticks(r))]
        log = fleet.log("agent0")
        assert log.count("database unavailable: ") == 1, log
        assert log.count("database back after") == 1, log
        assert "agent lost" not in log and "Traceback" not in log
        step.check_each_attempt_once()
    finally:
        store.dispose()


def test_agents_that_saw_an_outage_do_not_fail_each_others_runs(
    store, db_path, tmp_path, agents, step_factory
):
    """A lock held longer than --stale-after stops every agent's heartbeats alike: once it
    is released, the idle agent does not fail the busy one's (quiet) run as lost."""
    step = Step(store, tmp_path, "quiet")
    step_factory.append(step)
    run = ops.new_run(store, "p")
    fleet: Agents = agents(str(db_path))
    settings = ("--poll", "0.2", "--stale-after", "3", "--grace", "1")
    # the busy agent beats seldom, the idle one often: after the lock the idle one writes
    # first and would find the busy one's run lost if it counted the outage as silence
    fleet.start(*settings, "--heartbeat", "2", name="busy", env={BUSY_TIMEOUT_ENV: "1"})
    wait_for(lambda: step.ticks(run.id) > 0, 30, "the step to run")
    # a quiet step: once its launch is written the busy agent has nothing to write during
    # the outage (a step whose writes fail past the outage limit is stopped: not this test)
    wait_for(lambda: _launch_written(store, run.id), 30, "the launch to be written")
    fleet.start(*settings, "--heartbeat", "0.3", name="idle", env={BUSY_TIMEOUT_ENV: "1"})
    wait_for(lambda: "queues default" in fleet.log("idle"), 30, "the idle agent to start")
    lock = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        lock.execute("BEGIN IMMEDIATE")
        wait_for(lambda: "database unavailable" in fleet.log("idle"), 30, "the agents to notice")
        time.sleep(5)  # the heartbeats go stale meanwhile; nothing is asserted on the time
    finally:
        lock.rollback()
        lock.close()
    wait_for(lambda: "database back" in fleet.log("idle"), 30, "the idle agent to write again")
    time.sleep(4)  # longer than --stale-after after the outage
    assert _status(store, run.id)[0] == "running", fleet.log("idle")
    step.release.touch()
    wait_for(lambda: _status(store, run.id)[0] == "completed", 30, "the run to complete")
    assert "failed lost runs" not in fleet.log("idle") + fleet.log("busy")
    step.check_each_attempt_once()


POISON = {
    "sqlite": [
        "CREATE TRIGGER no_poison BEFORE INSERT ON logline WHEN NEW.line LIKE '%poison%' "
        "BEGIN SELECT RAISE(ABORT, 'no poison please'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION no_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.line LIKE '%poison%' THEN "
        "RAISE EXCEPTION 'no poison please' USING ERRCODE = 'data_exception'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER no_poison BEFORE INSERT ON logline "
        "FOR EACH ROW EXECUTE FUNCTION no_poison()",
    ],
}


def test_an_error_that_persists_stops_the_step_and_fails_the_run(
    any_store, url, tmp_path, agents, step_factory
):
    step = Step(any_store, tmp_path, "poison")
    step_factory.append(step)
    kind = "sqlite" if any_store.is_sqlite else "postgresql"
    with any_store.write() as s:
        for statement in POISON[kind]:
            s.execute(text(statement))
    run = ops.new_run(any_store, "p")
    fleet: Agents = agents(url)
    agent = fleet.start("--poll", "0.2", "--grace", "2")
    wait_for(lambda: _status(any_store, run.id)[0] == "failed", 30, "the run to fail")
    message = _status(any_store, run.id)[2]
    assert message == "step 's' stopped: database error: no poison please", message
    wait_for(step.gone, 60, "the step's process to be gone")
    assert step.ticks(run.id, what="term") == 1, "stopped as an abort stops it: SIGTERM first"
    with any_store.read() as s:
        assert s.execute(select(STEP.c.status).where(STEP.c.run_id == run.id)).scalar() == "failed"
    assert agent.poll() is None, "the agent survives a run's database error"
    with any_store.write() as s:
        s.execute(text("DROP TRIGGER no_poison" + ("" if kind == "sqlite" else " ON logline")))
    step.release.touch()
    assert ops.retry(any_store, [run.id]).ok
    wait_for(lambda: _status(any_store, run.id)[:2] == ("completed", 2), 30, "the retry")
    assert set(step.check_each_attempt_once()) == {(run.id, 1), (run.id, 2)}
    log = fleet.log("agent0")
    assert "INSERT" not in log and "Traceback" not in log, log


@pytest.fixture
def role(admin: Engine) -> Iterator[str]:
    """A login role of its own for one agent (so that only that agent can be cut off);
    dropped after the test's agents are gone."""
    name = f"runs_tui_agent_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN SUPERUSER"))
    yield name
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
            {"r": name},
        )
        conn.execute(text(f"DROP ROLE IF EXISTS {name}"))


@pytest.mark.postgres
def test_an_outage_longer_than_stale_after_hands_the_run_over_without_overlap(
    pg_url, admin, role, tmp_path, agents, step_factory
):
    """Only the first agent loses the database (its role may no longer log in): the other
    fails its run as lost, the first has stopped the step by then, a Retry runs on the
    other, and the first writes nothing once it is back."""
    store = open_store(pg_url)
    try:
        step = Step(store, tmp_path)
        step_factory.append(step)
        run = ops.new_run(store, "p").id
        settings = ("--poll", "0.2", "--heartbeat", "1", "--stale-after", "6", "--grace", "1")
        cut_off: Agents = agents(make_url(pg_url).set(username=role).render_as_string(False))
        first = cut_off.start(*settings, name="first")
        wait_for(lambda: step.ticks(run) > 0, 30, "the step to run on the first agent")
        fleet: Agents = agents(pg_url)
        fleet.start(*settings, name="second")
        with admin.connect() as conn:
            conn.execute(text(f"ALTER ROLE {role} NOLOGIN"))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
        wait_for(lambda: _status(store, run)[0] == "failed", 30, "the run to be failed as lost")
        assert _status(store, run)[2].startswith("agent lost: first silent for")
        wait_for(step.gone, 60, "the first agent to stop its step")
        assert step.ticks(run, what="term") == 1
        written = len(_lines(store, run))
        step.release.touch()
        assert ops.retry(store, [run]).ok
        wait_for(lambda: _status(store, run)[:2] == ("completed", 2), 30, "the retry to run")
        with admin.connect() as conn:
            conn.execute(text(f"ALTER ROLE {role} LOGIN"))
        wait_for(lambda: "p#1 lost" in cut_off.log("first"), 30, "the first agent to give up")
        assert first.poll() is None, cut_off.log("first")
        with store.read() as s:
            attempt_one = s.execute(
                select(func.count()).where(LOG.c.run_id == run, LOG.c.attempt == 1)
            ).scalar_one()
        assert attempt_one == written, "the stale agent wrote after it was replaced"
        assert "stopped: database unavailable for" in cut_off.log("first")
        assert set(step.check_each_attempt_once()) == {(run, 1), (run, 2)}
    finally:
        store.dispose()
