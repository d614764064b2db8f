"""`runs-tui logs RUN`: the whole console, one step's, the last N lines, JSON Lines, and
`--follow` in a real process while the agent's writer appends lines, until the run
ends or Ctrl-C. Lines come through `RunSource.logs`, checked here on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import HOSTILE, Follower, claimed, failed_run, json_lines, lines, register_train
from support import wait_for

from runs_tui.agent import claims
from runs_tui.agent.outage import Outage
from runs_tui.agent.writer import RunWriter
from runs_tui.cli_logs import PAGE
from runs_tui.core import ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.status import Status
from runs_tui.sources.sql import SqlSource

RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
SAFE_HOSTILE = "a\u241b[31mb\\x9bc\u2407d\u241b]52;c;aGk=\u2407e"
ALL = [
    "[prepare] prepared 10 files",
    "[fit] epoch 1",
    f"[fit] bad {SAFE_HOSTILE}",
    "[fit!] Traceback: boom",
]


def test_logs_prints_every_line_made_safe(cli, store, train):
    failed_run(store, train)
    code, out, err = cli("logs", "train#1")
    assert (code, err) == (0, "")
    assert out.splitlines() == ALL
    assert RAW_CONTROL.search(out) is None
    assert cli("logs", "1") == (0, out, "")


def test_logs_of_one_step_and_the_last_lines(cli, store, train):
    failed_run(store, train)
    _, out, _ = cli("logs", "train#1", "--step", "fit")
    assert out.splitlines() == ["epoch 1", f"bad {SAFE_HOSTILE}", "Traceback: boom"]
    assert cli("logs", "train#1", "--tail", "2")[1].splitlines() == ALL[-2:]
    assert cli("logs", "train#1", "--tail", "2", "--step", "prepare")[1] == "prepared 10 files\n"
    assert cli("logs", "train#1", "--tail", "99")[1].splitlines() == ALL
    assert cli("logs", "train#1", "--tail", "0") == (0, "", "")
    assert cli("logs", "train#1", "--step", "report") == (0, "", "")  # not run: no lines


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--step", "nope"], "unknown step 'nope' in run 'train#1' (steps: prepare, fit, report)"),
        (["--tail", "-1"], "invalid --tail -1: must be 0 or more"),
        (["--tail", "x"], "argument --tail: invalid int value: 'x'"),
        (["--format", "yaml"], "argument --format: invalid choice: 'yaml'"),
        (["--step", HOSTILE], "unknown step"),
    ],
)
def test_bad_logs_arguments_are_one_line(cli, store, train, argv, message):
    failed_run(store, train)
    code, out, err = cli("logs", "train#1", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("runs-tui: error: ") and message in err
    assert len(err.splitlines()) == 1 and RAW_CONTROL.search(err) is None


def test_logs_as_json_lines_keep_the_exact_text(cli, store, train):
    failed_run(store, train)
    code, out, _ = cli("logs", "train#1", "--format", "json")
    assert code == 0 and "\x1b" not in out and "\x9b" not in out
    got = json_lines(out)
    assert [(d["step"], d["stream"], d["line"], d["attempt"]) for d in got] == [
        ("prepare", "stdout", "prepared 10 files", 1),
        ("fit", "stdout", "epoch 1", 1),
        ("fit", "stdout", f"bad {HOSTILE}", 1),
        ("fit", "stderr", "Traceback: boom", 1),
    ]
    assert [d["id"] for d in got] == sorted(d["id"] for d in got)
    assert all(str(d["time"]).endswith("+00:00") for d in got)
    tail = json_lines(cli("logs", "train#1", "--format", "json", "--tail", "1")[1])
    assert tail == got[-1:]


def test_a_long_log_is_printed_whole_once_in_order(cli, store, train):
    """More lines than a page and than the details pane's tail."""
    w = claimed(store, train)
    assert w.step_started("prepare")
    n = 2 * PAGE + 7
    for start in range(0, n, 500):
        lines(w, "prepare", [f"line {i}" for i in range(start, min(start + 500, n))])
    _, out, _ = cli("logs", "train#1", "--step", "prepare")
    assert out.splitlines() == [f"line {i}" for i in range(n)]
    assert cli("logs", "train#1", "--tail", "3")[1].splitlines() == [
        f"[prepare] line {i}" for i in range(n - 3, n)
    ]


def test_a_retried_runs_attempts_are_marked(cli, store, train):
    failed_run(store, train)
    assert ops.retry(store, [1], user="tester").ok
    w = claimed_again(store)
    assert w.step_started("fit")
    lines(w, "fit", ["epoch 1 again"])
    _, out, _ = cli("logs", "train#1")
    assert out.splitlines() == [*ALL, "--- attempt 2 ---", "[fit] epoch 1 again"]
    got = json_lines(cli("logs", "train#1", "--format", "json")[1])
    assert [d["attempt"] for d in got] == [1, 1, 1, 1, 2]


def claimed_again(store: Store) -> RunWriter:
    """The retried run, taken by another agent for its second attempt."""
    claim = claims.claim(store, "agent-y", ["default"])
    assert claim is not None and claim.attempt == 2
    return RunWriter(store, claim, "agent-y", Outage("agent-y"), lambda: False)


# --- following ------------------------------------------------------------------------------


@pytest.fixture
def followers() -> Iterator[list[Follower]]:
    made: list[Follower] = []
    yield made
    for f in made:
        f.kill()


def test_follow_prints_new_lines_until_the_run_ends(store, train, db_path, followers):
    w = claimed(store, train)
    assert w.step_started("prepare")
    lines(w, "prepare", ["before"])
    f = Follower("train#1", "--follow", "--db", str(db_path))
    followers.append(f)
    f.wait_for("[prepare] before")
    for batch in range(3):
        lines(w, "prepare", [f"batch {batch} line {i}" for i in range(3)])
        f.wait_for(f"[prepare] batch {batch} line 2")
    assert f.proc.poll() is None  # still following a running run
    lines(w, "prepare", [f"last {HOSTILE}"], stream="stderr")
    assert w.step_finished("prepare", Status.COMPLETED, 0)
    assert w.finish(Status.COMPLETED, "completed", 0)
    code, err = f.finish()
    assert (code, err) == (0, "")
    assert f.lines == [
        "[prepare] before",
        *[f"[prepare] batch {b} line {i}" for b in range(3) for i in range(3)],
        f"[prepare!] last {SAFE_HOSTILE}",
    ]


def test_follow_from_the_tail_as_json(store, train, db_path, followers):
    w = claimed(store, train)
    assert w.step_started("fit")
    lines(w, "fit", ["old 1", "old 2", "old 3"])
    f = Follower("train#1", "-f", "--tail", "1", "--format", "json", "--db", str(db_path))
    followers.append(f)
    wait_for(lambda: f.lines, 60, "the tail")
    lines(w, "fit", ["new 1"])
    wait_for(lambda: len(f.lines) == 2, 60, f"the new line in {f.lines}")
    ops.abort(store, [1], user="tester", message="enough")
    code, err = f.finish()
    assert (code, err) == (0, "")
    assert [d["line"] for d in json_lines("\n".join(f.lines))] == ["old 3", "new 1"]


def test_follow_of_an_ended_run_prints_it_and_exits(store, train, db_path, followers):
    failed_run(store, train)
    f = Follower("train#1", "--follow", "--step", "fit", "--db", str(db_path))
    followers.append(f)
    code, err = f.finish()
    assert (code, err) == (0, "")
    assert f.lines == ["epoch 1", f"bad {SAFE_HOSTILE}", "Traceback: boom"]


def test_ctrl_c_stops_following_cleanly(store, train, db_path, followers):
    w = claimed(store, train)
    assert w.step_started("prepare")
    lines(w, "prepare", ["started"])
    f = Follower("train#1", "--follow", "--db", str(db_path))
    followers.append(f)
    f.wait_for("[prepare] started")
    f.proc.send_signal(signal.SIGINT)
    code, err = f.finish()
    assert code == 130
    assert err == ""


# --- the source -------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, db_path: Path) -> str:
    return str(db_path) if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


def test_source_logs_pages_steps_and_tails(url, tmp_path):
    store = open_store(url)
    try:
        failed_run(store, register_train(store, tmp_path))
        source = SqlSource(store)
        every = source.logs(1)
        assert [e.line for e in every] == [
            "prepared 10 files",
            "epoch 1",
            f"bad {HOSTILE}",
            "Traceback: boom",
        ]
        ids = [e.id for e in every]
        assert [e.id for e in source.logs(1, after=ids[0], limit=2)] == ids[1:3]
        assert [e.id for e in source.logs(1, limit=2, last=True)] == ids[2:]
        assert [e.line for e in source.logs(1, step="fit", limit=1, last=True)] == [
            "Traceback: boom"
        ]
        assert [e.stream for e in source.logs(1, step="fit")] == ["stdout", "stdout", "stderr"]
        assert source.logs(1, after=ids[-1]) == []
        assert source.logs(99) == []
    finally:
        store.dispose()
