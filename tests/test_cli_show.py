"""`runs-tui show RUN`: a run's info, why it failed, parameters, metrics (last, min,
max), steps with their exit codes and history, as text (every untrusted string made
safe for a terminal) and as JSON (exact values, escaped)."""

from __future__ import annotations

import json
import re
import sys

import pytest
from cli_runs import HOSTILE, claimed, failed_run
from support import pipeline_toml, run_cli

from runs_tui.core import ops
from runs_tui.core.registry import register

AGO = re.compile(r" \(\d+s ago\)")

# What a terminal acts on: C0 (but newline), DEL and C1.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
SAFE_HOSTILE = "a\u241b[31mb\\x9bc\u2407d\u241b]52;c;aGk=\u2407e"


def fields(out: str) -> list[list[str]]:
    """Each line's cells (two spaces or more apart), leading indent dropped."""
    return [re.split(r" {2,}", line.strip()) for line in out.splitlines() if line.strip()]


def section(out: str, title: str) -> list[list[str]]:
    """The rows under a section title, up to the blank line that ends it."""
    text = out.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0]
    return fields(text)


def test_show_a_failed_run_as_text(cli, store, train):
    failed_run(store, train)
    code, out, err = cli("show", "train#1")
    assert (code, err) == (0, "")
    assert RAW_CONTROL.search(out) is None, repr(out)
    info = {row[0]: row[1:] for row in fields(out.split("\n\n", 1)[0])}
    assert info["Run"] == ["train #1 (id 1)"]
    assert info["Status"] == ["Failed"]
    assert info["Reason"] == ["step 'fit' exited with code 3"]
    assert info["Exit code"] == ["3"]
    assert info["Agent"] == ["agent-x"]
    assert info["Attempt"] == ["1"]
    assert section(out, "Parameters") == [["args/lr", "0.5"], ["args/note", SAFE_HOSTILE]]
    assert section(out, "Metrics") == [
        ["NAME", "LAST", "MIN", "MAX", "STEP"],
        [f"acc{SAFE_HOSTILE}", "0.75", "0.75 at step 2", "0.75 at step 2", "2"],
        ["loss/val", "0.25", "0.125 at step 1", "2.5 at step 0", "2"],
    ]
    steps = section(out, "Steps")
    assert steps[0] == ["STEP", "STATUS", "ATTEMPT", "EXIT", "DURATION", "WHERE", "NOTE", "AFTER"]
    assert [(r[0], r[1], r[3]) for r in steps[1:3]] == [
        ("prepare", "Completed", "0"),
        ("fit", "Failed", "3"),
    ]
    assert "local 4242" in steps[1]
    assert steps[3] == ["report", "not run", "fit"]
    history = section(out, "History")
    assert [(r[2], r[3]) for r in history[1:]] == [
        ("run", "-> pending"),
        ("start", "pending -> running"),
        ("failed", "running -> failed"),
    ]
    # The same run by its global id (a second may pass between the two: "(1s ago)").
    code, again, err = cli("show", "1")
    assert (code, err) == (0, "")
    assert AGO.sub("", again) == AGO.sub("", out)


def test_show_as_json_keeps_exact_values(cli, store, train):
    failed_run(store, train)
    code, out, err = cli("show", "train#1", "--format", "json")
    assert (code, err) == (0, "")
    assert "\x1b" not in out and "\x9b" not in out
    data = json.loads(out)
    assert {k: data[k] for k in ("id", "pipeline", "run", "status", "exit_code", "attempt")} == {
        "id": 1,
        "pipeline": "train",
        "run": 1,
        "status": "Failed",
        "exit_code": 3,
        "attempt": 1,
    }
    assert data["reason"] == "step 'fit' exited with code 3"
    assert data["params"] == {"args/lr": 0.5, "args/note": HOSTILE}
    assert data["metrics"]["loss/val"] == {
        "title": "loss",
        "series": "val",
        "last": 0.25,
        "min": 0.125,
        "max": 2.5,
        "step": 2,
        "min_step": 1,
        "max_step": 0,
    }
    assert data["metrics"][f"acc{HOSTILE}"]["last"] == 0.75
    assert [(s["name"], s["status"], s["exit_code"]) for s in data["steps"]] == [
        ("prepare", "Completed", 0),
        ("fit", "Failed", 3),
        ("report", None, None),
    ]
    assert data["steps"][0]["external_id"] == "4242"
    assert data["steps"][1]["parents"] == ["prepare"]
    assert data["started"].endswith("+00:00") and data["run_time"] >= 0
    assert [e["to"] for e in data["events"]] == ["pending", "running", "failed"]


def test_show_a_run_that_has_not_failed(cli, store, train):
    writer = claimed(store, train)  # the first run, now running
    ops.new_run(store, train, tags=["b", "a"])
    assert writer.step_started("prepare")
    _, out, _ = cli("show", "train#1")
    info = {row[0]: row[1:] for row in fields(out.split("\n\n", 1)[0])}
    assert info["Status"] == ["Running"]
    assert "Reason" not in info and info["Message"] == ["running on agent-x"]
    assert section(out, "Steps")[1][:2] == ["prepare", "Running"]
    _, out, _ = cli("show", "train#1", "--format", "json")
    data = json.loads(out)
    assert (data["status"], data["reason"], data["tags"]) == ("Running", None, [])
    _, out, _ = cli("show", "train#2", "--format", "json")
    data = json.loads(out)
    assert (data["status"], data["reason"], data["tags"], data["agent"]) == (
        "Pending",
        None,
        ["a", "b"],
        None,
    )


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("train#9", "unknown run 'train#9'"),
        ("99", "unknown run '99'"),
        ("x#y", "invalid run 'x#y': expected an id or PIPELINE#N"),
        (f"{HOSTILE}#1", "unknown run"),
    ],
)
def test_show_an_unknown_run_is_one_line(cli, store, train, ref, message):
    failed_run(store, train)
    code, out, err = cli("show", ref)
    assert (code, out) == (2, "")
    assert err.startswith("runs-tui: error: ") and message in err
    assert len(err.splitlines()) == 1 and RAW_CONTROL.search(err) is None


def test_show_after_a_real_agent_ran_the_run(store, tmp_path, agents, db_path):
    """End to end: the agent runs a pipeline whose second step reports and fails."""
    code = (
        "from runs_tui.report import log_metric\n"
        "import sys\n"
        "for i, v in enumerate([3.0, 1.0, 2.0]):\n"
        "    log_metric('loss/train', v, step=i)\n"
        "print('giving up', flush=True)\n"
        "sys.exit(4)\n"
    )
    steps = [
        ("ok", [sys.executable, "-c", "pass"], []),
        ("boom", [sys.executable, "-c", code], ["ok"]),
    ]
    path = tmp_path / "p.toml"
    path.write_text(pipeline_toml("p", steps, params={"lr": 0.1}))
    register(store, path)
    ops.new_run(store, "p", {"lr": "0.2"})
    assert agents(str(db_path)).start("--once", "--poll", "0.2").wait(timeout=60) == 0

    proc = run_cli("show", "p#1", "--db", str(db_path))
    assert proc.returncode == 0, proc.stderr
    assert ["Reason", "step 'boom' exited with code 4"] in fields(proc.stdout)
    assert section(proc.stdout, "Metrics")[1] == [
        "loss/train",
        "2",
        "1 at step 1",
        "3 at step 0",
        "2",
    ]
    assert [(r[0], r[1], r[3]) for r in section(proc.stdout, "Steps")[1:]] == [
        ("ok", "Completed", "0"),
        ("boom", "Failed", "4"),
    ]
    proc = run_cli("show", "p#1", "--format", "json", "--db", str(db_path))
    data = json.loads(proc.stdout)
    assert data["params"] == {"args/lr": 0.2}
    assert data["metrics"]["loss/train"]["min"] == 1.0
    assert (
        data["metrics"]["loss/train"]["min_step"],
        data["metrics"]["loss/train"]["max_step"],
    ) == (1, 0)
    assert [s["exit_code"] for s in data["steps"]] == [0, 4]
