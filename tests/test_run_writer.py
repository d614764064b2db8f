"""The run writer on a real database: what a step prints is made storable, output waits out
a held SQLite lock in a bounded buffer, an outage past the limit or an error that is not
transient ends the run's writes, and a flush touches only the series it reports."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from support import wait_for

from runs_tui.agent import claims
from runs_tui.agent.buffer import MAX_LINES
from runs_tui.agent.outage import Outage, StoreFailure, describe, is_transient
from runs_tui.agent.protocol import BadReport, MetricReport, parse, storable
from runs_tui.agent.writer import RunWriter
from runs_tui.core import ops
from runs_tui.core.db import BUSY_TIMEOUT_ENV, Store, open_store
from runs_tui.core.models import LOG, METRIC, RUN
from runs_tui.core.registry import register


def _writer(store: Store, pipeline_file: Path, outage: Outage | None = None) -> RunWriter:
    """The writer of a freshly claimed run of `simple`."""
    register(store, pipeline_file)
    ops.new_run(store, "simple")
    claim = claims.claim(store, "me", ["default"])
    assert claim is not None
    return RunWriter(store, claim, "me", outage or Outage("me"), lambda: False)


@pytest.fixture
def quick_store(monkeypatch: pytest.MonkeyPatch, db_path: Path) -> Iterator[Store]:
    """A SQLite store that gives up on a held lock after 0.1 s."""
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.1")
    s = open_store(str(db_path))
    yield s
    s.dispose()


@pytest.fixture
def lock(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection's write lock on the database, until released."""
    con = sqlite3.connect(db_path, isolation_level=None)
    yield con
    if con.in_transaction:
        con.rollback()
    con.close()


def _lines(store: Store) -> list[str]:
    with store.read() as s:
        return list(s.execute(select(LOG.c.line).order_by(LOG.c.id)).scalars())


def test_protocol_ignores_what_the_store_cannot_hold():
    assert parse("::metric name=loss value=1 step=2147483647") == MetricReport(
        "loss", "loss", 1, 2**31 - 1
    )
    for step in (2**31, -(2**31) - 1, 2**70, 99999999999):
        report = parse(f"::metric name=loss value=1 step={step}")
        assert report == BadReport(
            f"::metric name=loss value=1 step={step}", f"step {step} is out of range"
        )
    report = parse("::metric name=lo\0ss value=1")
    assert isinstance(report, BadReport) and "cannot be stored" in report.why
    assert storable("plain") == "plain"
    assert storable("a\0b\0") == "a\u2400b\u2400  [runs-tui: 2 NUL shown as \u2400]"
    assert storable("x\ud800") == "x\ufffd  [runs-tui: 1 lone surrogate shown as \ufffd]"


def test_hostile_output_and_summaries_are_stored(any_store: Store, pipeline_file: Path):
    """NUL, lone surrogates and binary junk reach the log; summaries merge across flushes."""
    writer = _writer(any_store, pipeline_file)
    junk = bytes(range(256)).decode("utf-8", errors="replace")
    writer.log("only", "stdout", "nul\0here")
    writer.log("only", "stdout", "half \udc80 a pair")
    writer.log("only", "stdout", junk)
    for value, step in ((3.0, 1), (1.0, 2)):
        writer.metric(MetricReport("loss", "train", value, step))
    assert writer.flush()
    writer.metric(MetricReport("loss", "train", 2.0, 3))
    writer.metric(MetricReport("loss", "val", -1.0, None))
    assert writer.flush()
    lines = _lines(any_store)
    assert lines[0] == "nul\u2400here  [runs-tui: 1 NUL shown as \u2400]"
    assert lines[1] == "half \ufffd a pair  [runs-tui: 1 lone surrogate shown as \ufffd]"
    assert lines[2].startswith("\u2400\x01") and "\ufffd" in lines[2]
    with any_store.read() as s:
        got = {
            (r.series, r.last, r.min, r.max, r.last_step)
            for r in s.execute(select(METRIC).where(METRIC.c.run_id == writer.claim.run_id))
        }
    assert got == {("train", 2.0, 1.0, 3.0, 3), ("val", -1.0, -1.0, -1.0, None)}


def test_flush_touches_only_the_series_it_reports(any_store: Store, pipeline_file: Path):
    """After 2,000 series, a flush of one point sends one statement about `metric`, and
    no statement reads that table."""
    writer = _writer(any_store, pipeline_file)
    for i in range(2000):
        writer.metric(MetricReport(f"m{i}", "", float(i), 0))
    assert writer.flush()
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "metric " in statement.lower() or "metric(" in statement.lower():
            seen.append(" ".join(statement.split()))

    event.listen(any_store.engine, "before_cursor_execute", record)
    try:
        writer.metric(MetricReport("m7", "", -5.0, 1))
        assert writer.flush()
    finally:
        event.remove(any_store.engine, "before_cursor_execute", record)
    assert len(seen) == 1 and seen[0].upper().startswith("INSERT INTO METRIC"), seen
    with any_store.read() as s:
        row = s.execute(select(METRIC.c.min, METRIC.c.max).where(METRIC.c.title == "m7")).one()
    assert tuple(row) == (-5.0, 7.0)


def test_output_waits_out_a_held_lock_in_a_bounded_buffer(
    quick_store: Store, pipeline_file: Path, lock: sqlite3.Connection
):
    writer = _writer(quick_store, pipeline_file)
    lock.execute("BEGIN IMMEDIATE")
    for i in range(MAX_LINES + 5):
        writer.log("only", "stdout", f"line {i}")
    writer.metric(MetricReport("loss", "", 1.0, 1))
    assert writer.flush_soon() is None, "a held lock cannot let the flush through"
    assert writer.flush_soon() is None, "tried again only after a backoff"
    lock.rollback()
    wait_for(writer.flush_soon, 10, "the flush after the lock is released")
    lines = _lines(quick_store)
    assert lines[0] == "[runs-tui: 5 log lines dropped while the database was unavailable]"
    assert lines[1] == "line 5" and lines[-1] == f"line {MAX_LINES + 4}"
    assert len(lines) == MAX_LINES + 1
    with quick_store.read() as s:
        assert s.execute(select(METRIC.c.last)).scalar() == 1.0


def test_an_outage_past_the_limit_ends_the_writes(
    quick_store: Store, pipeline_file: Path, lock: sqlite3.Connection
):
    writer = _writer(quick_store, pipeline_file, Outage("me", limit=0.5))
    writer.log("only", "stdout", "kept back")
    lock.execute("BEGIN IMMEDIATE")
    assert writer.flush_soon() is None
    with pytest.raises(StoreFailure) as failure:
        wait_for(lambda: writer.flush_soon() is not None, 10, "the limit")
    assert failure.value.reason.startswith("database unavailable for ")
    assert failure.value.reason.endswith(" s: database is locked")
    lock.rollback()
    assert writer.fail(failure.value.reason) == "failed"
    with quick_store.read() as s:
        status, message = s.execute(select(RUN.c.status, RUN.c.status_message)).one()
    assert status == "failed" and message == failure.value.reason
    assert _lines(quick_store) == [], "the output of a failed write is not written after all"


def test_a_lock_is_transient_and_described_in_one_line(
    quick_store: Store, pipeline_file: Path, lock: sqlite3.Connection
):
    register(quick_store, pipeline_file)
    lock.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError) as caught:
        ops.new_run(quick_store, "simple")
    assert is_transient(caught.value)
    assert describe(caught.value) == "database is locked"


def test_fail_lost_never_fails_the_callers_own_runs(store: Store, pipeline_file: Path):
    register(store, pipeline_file)
    mine, theirs = ops.new_run(store, "simple").id, ops.new_run(store, "simple").id
    assert claims.claim(store, "me", ["default"]) is not None
    assert claims.claim(store, "other", ["default"]) is not None
    with store.write() as s:
        s.execute(RUN.update().values(heartbeat=1.0))  # both silent for ages
    assert claims.fail_lost(store, 30, "me", [(mine, 1)]) == [theirs]
    with store.read() as s:
        rows = dict(s.execute(select(RUN.c.id, RUN.c.status)).all())
    assert rows == {mine: "running", theirs: "failed"}
