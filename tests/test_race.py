"""Several OS processes racing on the same run in one SQLite file: every state change is a
compare-and-set, so exactly the changes a serial order allows happen, never one twice."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from runs_tui.core import ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import Event, Run
from runs_tui.core.status import Action, Status

WORKERS = 3
ROUNDS = 30
TIMEOUT = 60.0
IDLE = "idle"


def _worker(name: str, barrier: Any, tasks: Any, results: Any) -> None:
    """Take (action, db, run id) tasks; all workers start each one together at the barrier."""
    os.environ["RUNS_TUI_USER"] = name
    stores: dict[str, Store] = {}
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            action, db, run_id = task
            if db not in stores:
                stores[db] = open_store(db)
            store = stores[db]
            barrier.wait(TIMEOUT)
            try:
                if action == IDLE:
                    results.put((name, action, None, None, None))
                elif action == "new":
                    new = ops.new_run(store, "simple")
                    results.put((name, action, True, "", new.number))
                else:
                    res = ops.transition(store, Action(action), [run_id])
                    (o,) = res.outcomes
                    results.put((name, action, o.affected, o.reason, res.summary()))
            except Exception as exc:  # reported to the test, which fails on it
                results.put((name, "error", False, repr(exc), None))
    finally:
        for store in stores.values():
            store.dispose()


@dataclass
class Pool:
    tasks: list[Any]
    results: Any
    db: str = ""

    def race(self, actions: list[str], run_id: int) -> list[tuple[Any, ...]]:
        """Every worker does its action on `run_id` at the same moment; their results."""
        assert len(actions) == len(self.tasks)
        for tasks, action in zip(self.tasks, actions, strict=True):
            tasks.put((action, self.db, run_id))
        out = []
        for _ in actions:
            try:
                out.append(self.results.get(timeout=TIMEOUT))
            except queue.Empty:  # pragma: no cover - a hung worker
                pytest.fail("a worker did not answer")
        errors = [r for r in out if r[1] == "error"]
        assert not errors, errors
        return [r for r in out if r[1] != IDLE]


@pytest.fixture(scope="module")
def workers() -> Iterator[Pool]:
    """WORKERS spawned processes, shared by the tests of this module (each test names its
    own database file)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    tasks = [ctx.Queue() for _ in range(WORKERS)]
    procs = [
        ctx.Process(target=_worker, args=(f"w{i}", barrier, tasks[i], results))
        for i in range(WORKERS)
    ]
    for p in procs:
        p.start()
    try:
        yield Pool(tasks, results)
    finally:
        for t in tasks:
            t.put(None)
        for p in procs:
            p.join(timeout=TIMEOUT)
            if p.is_alive():  # pragma: no cover
                p.kill()


@pytest.fixture
def pool(workers, db_path, simple) -> Pool:
    workers.db = str(db_path)
    return workers


def put_run(store: Store, status: Status) -> int:
    """A fresh run of `simple` in `status`, attempt 1."""
    with store.write() as session:
        pipe_id = session.exec(select(Run.pipeline_id)).first() or 1
        number = len(session.exec(select(Run.id)).all()) + 1
        run = Run(
            pipeline_id=pipe_id,
            number=number,
            status=status,
            created=1.0,
            updated=1.0,
            attempt=1,
            started=None if status == Status.PENDING else 2.0,
            finished=3.0 if status in (Status.ABORTED, Status.FAILED) else None,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def history(store: Store, run_id: int) -> tuple[Run, list[Event]]:
    with store.read() as session:
        run = session.get(Run, run_id)
        evs = session.exec(
            select(Event).where(Event.run_id == run_id).order_by(Event.id)  # type: ignore[arg-type]
        ).all()
    assert run is not None
    return run, list(evs)


def check_serial(run: Run, evs: list[Event], start: Status, results: list[tuple[Any, ...]]):
    """The events form one chain from `start` to the run's state, each one by a worker
    whose result says it was affected; attempt counts the continues."""
    state = str(start)
    for ev in evs:
        assert ev.from_status == state, [(e.action, e.from_status, e.to_status) for e in evs]
        state = ev.to_status
    assert run.status == state
    winners = sorted((r[0], r[1]) for r in results if r[2])
    assert sorted((e.user, e.action) for e in evs) == winners
    for r in results:
        if not r[2]:
            assert r[3] in {*(s.label for s in Status), "changed meanwhile"}
            assert " not eligible " in r[4]
    continues = sum(e.action in ("continue", "retry") for e in evs)
    assert run.attempt == 1 + continues


def test_double_continue_changes_once(pool, store):
    for _ in range(ROUNDS):
        run_id = put_run(store, Status.ABORTED)
        results = pool.race(["continue", "continue", IDLE], run_id)
        run, evs = history(store, run_id)
        assert [r[2] for r in results].count(True) == 1, results
        loser = next(r for r in results if not r[2])
        assert loser[3] in ("Pending", "changed meanwhile")
        assert loser[4] == f"Continued 0 of 1; 1 not eligible (1 {loser[3]})"
        assert (run.status, run.attempt) == ("pending", 2)
        assert [(e.action, e.from_status, e.to_status) for e in evs] == [
            ("continue", "aborted", "pending")
        ]
        winner = next(r for r in results if r[2])
        assert evs[0].user == winner[0]


def test_three_way_continue_changes_once(pool, store):
    for _ in range(ROUNDS):
        run_id = put_run(store, Status.ABORTED)
        results = pool.race(["continue"] * WORKERS, run_id)
        run, evs = history(store, run_id)
        assert [r[2] for r in results].count(True) == 1, results
        assert run.attempt == 2
        assert len(evs) == 1
        check_serial(run, evs, Status.ABORTED, results)


def test_double_retry_changes_once(pool, store):
    for _ in range(ROUNDS // 2):
        run_id = put_run(store, Status.FAILED)
        results = pool.race(["retry", "retry", "retry"], run_id)
        run, evs = history(store, run_id)
        assert [r[2] for r in results].count(True) == 1, results
        assert (run.status, run.attempt, len(evs)) == ("pending", 2, 1)


def test_abort_vs_continue_on_an_aborted_run(pool, store):
    """Continue always applies once; the abort applies only if it came second (it then
    aborts the continued run): never a lost or a doubled change."""
    for _ in range(ROUNDS):
        run_id = put_run(store, Status.ABORTED)
        results = pool.race(["continue", "abort", IDLE], run_id)
        run, evs = history(store, run_id)
        (cont,) = [r for r in results if r[1] == "continue"]
        (abort,) = [r for r in results if r[1] == "abort"]
        assert cont[2] is True
        check_serial(run, evs, Status.ABORTED, results)
        assert run.attempt == 2
        if abort[2]:
            assert [e.action for e in evs] == ["continue", "abort"]
            assert run.status == "aborted"
        else:
            assert abort[3] == "Aborted"
            assert [e.action for e in evs] == ["continue"]
            assert run.status == "pending"


def test_abort_vs_continue_on_a_running_run(pool, store):
    """Abort always applies once; continue only if it came second."""
    for _ in range(ROUNDS):
        run_id = put_run(store, Status.RUNNING)
        results = pool.race(["abort", IDLE, "continue"], run_id)
        run, evs = history(store, run_id)
        (abort,) = [r for r in results if r[1] == "abort"]
        (cont,) = [r for r in results if r[1] == "continue"]
        assert abort[2] is True
        check_serial(run, evs, Status.RUNNING, results)
        if cont[2]:
            assert [e.action for e in evs] == ["abort", "continue"]
            assert (run.status, run.attempt) == ("pending", 2)
        else:
            assert cont[3] == "Running"
            assert [e.action for e in evs] == ["abort"]
            assert (run.status, run.attempt) == ("aborted", 1)


def test_archive_vs_abort_on_a_running_run(pool, store):
    """Either way the run is aborted exactly once and archived exactly once."""
    for _ in range(ROUNDS // 2):
        run_id = put_run(store, Status.RUNNING)
        results = pool.race([IDLE, "archive", "abort"], run_id)
        run, evs = history(store, run_id)
        (archive,) = [r for r in results if r[1] == "archive"]
        (abort,) = [r for r in results if r[1] == "abort"]
        assert archive[2] is True
        assert (run.status, run.archived, run.attempt) == ("aborted", True, 1)
        assert [(e.action, e.from_status, e.to_status) for e in evs] == [
            ("abort", "running", "aborted"),
            ("archive", "aborted", "aborted"),
        ]
        if abort[2]:
            assert [e.user for e in evs] == [abort[0], archive[0]]
        else:
            assert abort[3] == "archived"
            assert [e.user for e in evs] == [archive[0], archive[0]]


def test_concurrent_new_runs_get_distinct_numbers(pool, store):
    numbers: list[int] = []
    for _ in range(ROUNDS // 2):
        results = pool.race(["new"] * WORKERS, 0)
        assert all(r[2] for r in results)
        numbers.extend(r[4] for r in results)
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    with store.read() as session:
        assert len(session.exec(select(Run)).all()) == len(numbers)
        assert len(session.exec(select(Event).where(Event.action == "run")).all()) == len(numbers)
