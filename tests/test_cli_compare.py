"""`runs-tui compare RUN RUN...`: 2 to 8 runs as a table (what differs, metrics with the
lowest and highest of a row, steps with exit codes; every untrusted string safe for a
terminal) or JSON (exact values); anything else one line and exit 2."""

from __future__ import annotations

import json
import re

import pytest
from compare_runs import HOSTILE, seed
from support import run_cli

RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
SAFE_HOSTILE = "a\u241b[31mb\\x9bc\u2407d\u241b]52;c;aGk=\u2407e"


@pytest.fixture
def runs(store, tmp_path) -> dict[str, int]:
    return seed(store, tmp_path)


def cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def rows(out: str) -> dict[str, list[str]]:
    """Each row's cells by its label."""
    return {c[0]: c[1:] for c in map(cells, out.splitlines()) if c[0]}


def section(out: str, title: str) -> list[str]:
    """The lines under a section title that starts with `title`, up to the blank line."""
    text = out.split(f"\n{title}", 1)[1].split("\n", 1)[1].split("\n\n", 1)[0]
    return text.splitlines()


def test_table_shows_what_differs(cli, runs):
    code, out, err = cli("compare", "train#1", "train#2", "train#4")
    assert (code, err) == (0, "")
    assert RAW_CONTROL.search(out) is None, repr(out)
    head, *_ = out.splitlines()
    assert cells(head) == ["#1", "#2", "#4"]
    got = rows(out)
    assert got["Status"] == ["Failed", "Completed", "Pending"]
    assert got["Exit code"] == ["3", "0", "—"]
    assert got["Reason"] == ["step 'fit' exited with code 3", "—", "—"]
    assert got["Tags"] == ["sweep", "best, sweep", "—"]
    assert "Queue" not in got  # the same in every run
    params = section(out, "Parameters (2 of 2 differ; --all shows every one)")
    assert [cells(line) for line in params] == [
        ["args/lr", "0.5", "0.1", "0.01"],
        ["args/note", SAFE_HOSTILE, "base", "base"],
    ]
    metrics = [cells(line) for line in section(out, "Metrics (2;")]
    assert ["loss/val last", "▼0.25", "▲0.5", "—"] in metrics
    assert ["loss/val max", "▲2.5", "▼1", "—"] in metrics
    assert [f"acc{SAFE_HOSTILE} last", "0.75", "—", "—"] in metrics
    steps = [cells(line) for line in section(out, "Steps (4 of 4 differ")]
    assert steps == [
        ["prepare", "Completed 0", "Completed 0", "not run"],
        ["fit", "Failed 3", "Completed 0", "not run"],
        ["report", "not run", "Completed 0", "not run"],
        ["export", "—", "—", "not run"],
    ]


def test_all_shows_every_parameter_and_step(cli, runs):
    code, out, _ = cli("compare", "train#3", "train#4")
    assert code == 0
    assert section(out, "Parameters (1 of 2 differ; --all")[0].split() == ["args/lr", "0.5", "0.01"]
    assert [cells(line)[0] for line in section(out, "Steps (1 of 4 differ")] == ["export"]
    code, out, _ = cli("compare", "train#3", "train#4", "--all")
    assert code == 0
    assert [cells(line)[0] for line in section(out, "Parameters (1 of 2 differ)")] == [
        "args/lr",
        "args/note",
    ]
    assert [cells(line)[0] for line in section(out, "Steps (1 of 4 differ)")] == [
        "prepare",
        "fit",
        "report",
        "export",
    ]
    assert "Queue" in rows(out)


def test_json_keeps_exact_values(cli, runs):
    code, out, err = cli("compare", "train#1", str(runs["B"]), "--format", "json")
    assert (code, err) == (0, "")
    assert "\x1b" not in out and "\x9b" not in out
    data = json.loads(out)
    assert [(r["id"], r["run"], r["status"]) for r in data["runs"]] == [
        (runs["A"], 1, "Failed"),
        (runs["B"], 2, "Completed"),
    ]
    assert [r["tags"] for r in data["runs"]] == [["sweep"], ["best", "sweep"]]
    assert all(r["run_time"] >= 0 for r in data["runs"])
    assert data["params"] == [
        {"name": "args/lr", "values": [0.5, 0.1], "differs": True},
        {"name": "args/note", "values": [HOSTILE, "base"], "differs": True},
    ]
    loss = {m["agg"]: m for m in data["metrics"] if m["name"] == "loss/val"}
    assert loss["min"]["values"] == [0.125, 0.5]
    assert (loss["min"]["lowest"], loss["min"]["highest"]) == ([0], [1])
    assert {s["name"]: s["exit_code"] for s in data["steps"]} == {
        "fit": [3, 0],
        "report": [None, 0],
    }
    code, out, _ = cli("compare", "train#2", "train#4", "--format", "json", "--all")
    steps = {s["name"]: s for s in json.loads(out)["steps"]}
    assert steps["export"]["in_pipeline"] == [False, True]
    assert steps["export"]["status"] == [None, "not run"]
    assert steps["prepare"]["differs"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "compare takes 2 to 8 runs; got 0"),
        (("train#1",), "compare takes 2 to 8 runs; got 1"),
        (tuple(str(i) for i in range(1, 10)), "compare takes 2 to 8 runs; got 9"),
        (("train#1", "nope"), "invalid run 'nope': expected an id or PIPELINE#N"),
        (("train#1", "train#99"), "unknown run 'train#99'"),
        (("train#1", "1"), "compare takes 2 different runs or more; 'train#1 1' name 1"),
        (("train#1", "train#2", "--format", "xml"), "argument --format: invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, runs, argv, message):
    code, out, err = cli("compare", *argv)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith("runs-tui: error: "), err
    assert message in err


def test_a_pipe_gets_safe_text(db_path, runs):
    proc = run_cli("compare", "train#1", "train#2", env={"RUNS_TUI_DB": str(db_path)})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert RAW_CONTROL.search(proc.stdout) is None, repr(proc.stdout)
    assert SAFE_HOSTILE in proc.stdout
