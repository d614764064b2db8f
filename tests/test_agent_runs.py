"""The agent runs pipelines for real: steps, logs, metrics, failures, continue, arguments."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import select
from support import Agents, pipeline_toml, wait_for

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import EVENT, LOG, METRIC, POINT, RUN, STEP
from runs_tui.core.registry import register

PY = sys.executable


def _register(store: Store, tmp_path: Path, text: str, name: str = "p.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return register(store, path).name


def _run_row(store: Store, run_id: int) -> dict[str, object]:
    with store.read() as s:
        return dict(s.execute(select(RUN).where(RUN.c.id == run_id)).mappings().one())


def _rows(store: Store, stmt: object) -> list[tuple[object, ...]]:
    with store.read() as s:
        return [tuple(r) for r in s.execute(stmt)]  # type: ignore[call-overload]


def test_steps_logs_metrics_and_progress(store: Store, tmp_path: Path, agents, db_path: Path):
    code = (
        "from runs_tui.report import log_metric, progress\n"
        "import sys\n"
        "for i in range(5):\n"
        "    log_metric('loss/train', 1.0 / (i + 1), step=i)\n"
        "    progress((i + 1) / 5)\n"
        "print('hello \\x1b[31m', flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        "print('::metric name=bad value=x', flush=True)\n"
    )
    name = _register(
        store,
        tmp_path,
        pipeline_toml(
            "p",
            [
                ("first", [PY, "-c", "print('first ran')"], []),
                ("second", [PY, "-c", code], ["first"]),
            ],
        ),
    )
    run = ops.new_run(store, name)
    a: Agents = agents(str(db_path))
    proc = a.start("--once", "--poll", "0.2")
    assert proc.wait(timeout=60) == 0, a.log("agent0")
    row = _run_row(store, run.id)
    assert row["status"] == "completed" and row["progress"] == 1.0 and row["exit_code"] == 0
    steps = _rows(store, select(STEP.c.name, STEP.c.status, STEP.c.exit_code).order_by(STEP.c.id))
    assert steps == [("first", "completed", 0), ("second", "completed", 0)]
    logs = _rows(store, select(LOG.c.step, LOG.c.stream, LOG.c.line).order_by(LOG.c.id))
    assert ("first", "stdout", "first ran") in logs
    assert ("second", "stdout", "hello \x1b[31m") in logs
    assert ("second", "stderr", "to stderr") in logs
    assert any("ignored: value 'x' is not a number" in str(line) for _, _, line in logs)
    ((last, lo, hi, step),) = _rows(
        store, select(METRIC.c.last, METRIC.c.min, METRIC.c.max, METRIC.c.last_step)
    )
    assert (last, lo, hi, step) == (0.2, 0.2, 1.0, 4)
    assert len(_rows(store, select(POINT.c.id))) == 5


def test_failing_step_fails_the_run_naming_step_and_code(store, tmp_path, agents, db_path):
    name = _register(
        store,
        tmp_path,
        pipeline_toml(
            "p",
            [
                ("ok", [PY, "-c", "pass"], []),
                ("boom", [PY, "-c", "import sys; sys.exit(3)"], ["ok"]),
                ("never", [PY, "-c", "pass"], ["boom"]),
            ],
        ),
    )
    run = ops.new_run(store, name)
    a = agents(str(db_path))
    assert a.start("--once", "--poll", "0.2").wait(timeout=60) == 0
    row = _run_row(store, run.id)
    assert row["status"] == "failed"
    assert row["status_message"] == "step 'boom' exited with code 3"
    names = [n for (n,) in _rows(store, select(STEP.c.name))]
    assert "never" not in names


def test_missing_program_fails_clearly(store, tmp_path, agents, db_path):
    name = _register(store, tmp_path, pipeline_toml("p", [("s", ["no-such-program-xyz"], [])]))
    run = ops.new_run(store, name)
    a = agents(str(db_path))
    assert a.start("--once", "--poll", "0.2").wait(timeout=60) == 0
    row = _run_row(store, run.id)
    assert row["status"] == "failed"
    assert "cannot start 'no-such-program-xyz'" in str(row["status_message"])


def test_hostile_arguments_reach_the_step_byte_for_byte(store, tmp_path, agents, db_path):
    out = tmp_path / "argv.json"
    hostile = "; rm -rf ~ $(id) `id` 'single' \"double\" \\back\nnew line\t{not}"
    dump = "import json,os,sys; json.dump({'argv': sys.argv[1:], 'env': os.environ['RUNS_TUI_PARAM_TEXT']}, open(sys.argv[1],'w'))"  # noqa: E501
    name = _register(
        store,
        tmp_path,
        pipeline_toml(
            "p",
            [("s", [PY, "-c", dump, str(out), "{text}", "--x={text}", "{{text}}"], [])],
            params={"text": "default"},
        ),
    )
    run = ops.new_run(store, name, {"text": hostile})
    a = agents(str(db_path))
    assert a.start("--once", "--poll", "0.2").wait(timeout=60) == 0
    assert _run_row(store, run.id)["status"] == "completed"
    got = json.loads(out.read_text())
    assert got["argv"] == [str(out), hostile, f"--x={hostile}", "{text}"]
    assert got["env"] == hostile


def test_retry_and_continue_skip_completed_steps(store, tmp_path, agents, db_path):
    counter, flag = tmp_path / "first-count", tmp_path / "second-failed-once"
    first = f"open({str(counter)!r}, 'a').write('x')"
    second = (
        f"import os, sys\nif not os.path.exists({str(flag)!r}):\n"
        f"    open({str(flag)!r}, 'w').close(); sys.exit(1)\nprint('second ok')"
    )
    name = _register(
        store,
        tmp_path,
        pipeline_toml(
            "p", [("first", [PY, "-c", first], []), ("second", [PY, "-c", second], ["first"])]
        ),
    )
    run = ops.new_run(store, name)
    a = agents(str(db_path))
    assert a.start("--once", "--poll", "0.2").wait(timeout=60) == 0
    assert _run_row(store, run.id)["status"] == "failed"
    assert ops.retry(store, [run.id]).ok
    assert a.start("--once", "--poll", "0.2").wait(timeout=60) == 0
    row = _run_row(store, run.id)
    assert (row["status"], row["attempt"]) == ("completed", 2)
    assert counter.read_text() == "x", "the completed step ran again"
    steps = _rows(store, select(STEP.c.attempt, STEP.c.name, STEP.c.status).order_by(STEP.c.id))
    assert steps == [(1, "first", "completed"), (1, "second", "failed"), (2, "second", "completed")]
    logs = [line for (line,) in _rows(store, select(LOG.c.line).where(LOG.c.attempt == 2))]
    assert "step 'first' completed in attempt 1; not run again" in logs


def test_continue_after_abort_resumes_at_the_aborted_step(store, tmp_path, agents, db_path):
    counter = tmp_path / "first-count"
    marker = tmp_path / "second-started"
    first = f"open({str(counter)!r}, 'a').write('x')"
    second = (
        f"import os, time\nif not os.path.exists({str(marker)!r}):\n"
        f"    open({str(marker)!r}, 'w').close(); time.sleep(60)\n"
    )
    name = _register(
        store,
        tmp_path,
        pipeline_toml(
            "p", [("first", [PY, "-c", first], []), ("second", [PY, "-c", second], ["first"])]
        ),
    )
    run = ops.new_run(store, name)
    a = agents(str(db_path))
    proc = a.start("--poll", "0.2", "--grace", "1")
    wait_for(marker.exists, 30, "the second step to start")
    assert ops.abort(store, [run.id], message="testing").ok
    wait_for(
        lambda: (
            _rows(store, select(STEP.c.status).where(STEP.c.name == "second")) == [("aborted",)]
        ),
        60,
        "the step to be stopped",
    )
    assert ops.continue_runs(store, [run.id]).ok
    wait_for(lambda: _run_row(store, run.id)["status"] == "completed", 30, "completion")
    proc.terminate()
    assert counter.read_text() == "x"
    logs = [line for (line,) in _rows(store, select(LOG.c.line).where(LOG.c.attempt == 1))]
    assert "aborted by tester: testing" in logs
    actions = [x for (x,) in _rows(store, select(EVENT.c.action).order_by(EVENT.c.id))]
    assert actions == ["run", "start", "abort", "continue", "start", "completed"]


def test_progress_alone_reaches_the_store_while_the_step_runs(store, tmp_path, agents, db_path):
    """The step runs until the test has seen its progress (a file it waits for): however
    slow the machine, the progress is stored before the step ends."""
    seen = tmp_path / "seen"
    code = (
        "import os, sys, time\n"
        "print('::progress 0.25', flush=True)\n"
        "deadline = time.monotonic() + 120\n"
        "while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
    )
    step = [PY, "-c", code, str(seen)]
    name = _register(store, tmp_path, pipeline_toml("p", [("s", step, [])]))
    run = ops.new_run(store, name)
    a = agents(str(db_path))
    proc = a.start("--once", "--poll", "0.2")
    wait_for(lambda: _run_row(store, run.id)["progress"] == 0.25, 60, "progress 0.25 stored")
    assert _run_row(store, run.id)["status"] == "running"
    seen.touch()
    assert proc.wait(timeout=30) == 0
    assert _run_row(store, run.id)["progress"] == 1.0
