"""core/errors.py: the failed step, its console, the first error-looking line, search."""

from __future__ import annotations

import pytest

from runs_tui.core.errors import (
    ConsoleLine,
    console_lines,
    exit_line,
    failed_step,
    find,
    first_error,
    folded,
    is_error,
    spans,
)
from runs_tui.core.records import LogInfo, RunDetails, RunRow, StepInfo


@pytest.mark.parametrize(
    "line",
    [
        "Traceback (most recent call last):",
        "ValueError: bad lr",
        "Error: the file is missing",
        "error: linker failed",
        "ERROR:root:no data",
        "fatal: Exception in thread main",
        "java.lang.IllegalStateException: closed",
        "step 'train' exited with code 3",
        "process exited with code -9",
        "exit status 2",
        "Exit code: 137",
        "step 'x' killed by signal 9",
    ],
)
def test_error_looking_lines(line: str):
    assert is_error(line)


@pytest.mark.parametrize(
    "line",
    [
        "epoch 3: loss 0.31",
        "val_error: 0.23",
        "0 errors, 2 warnings",
        "Errors are counted below",
        "exited with code 0",
        "exit status 0",
        "ExceptionalResults are in",
        "",
    ],
)
def test_ordinary_lines(line: str):
    assert not is_error(line)


def test_first_error_is_the_traceback_start_not_its_last_line():
    lines = [
        "loading data",
        "epoch 1: loss 0.5",
        "Traceback (most recent call last):",
        '  File "train.py", line 3, in <module>',
        "ValueError: bad lr",
        "step 'train' exited with code 1",
    ]
    assert first_error(lines) == 2
    assert first_error(["all good", "done"]) is None
    assert first_error([]) is None


def _row(status: str = "failed", attempt: int = 2) -> RunRow:
    return RunRow(
        id=1,
        pipeline="p",
        number=3,
        name="p #3",
        version="1",
        status=status,
        user="u",
        queue="q",
        created=0.0,
        started=1.0,
        updated=2.0,
        finished=2.0,
        archived=False,
        attempt=attempt,
        agent="a",
        progress=None,
        status_message="step 'train' exited with code 1",
        exit_code=1,
    )


def test_the_failed_step_is_the_latest_attempts():
    steps = [
        StepInfo("prepare", (), "completed", 1, exit_code=0),
        StepInfo("train", ("prepare",), "failed", 2, exit_code=1),
        StepInfo("eval", ("train",), "failed", 1, exit_code=4),  # from an earlier attempt
    ]
    step = failed_step(RunDetails(_row(), steps=steps))
    assert step is not None and step.name == "train"
    none_failed = [StepInfo("prepare", (), "completed", 1, exit_code=0)]
    assert failed_step(RunDetails(_row(), steps=none_failed)) is None


def test_exit_line_says_how_the_step_ended():
    assert exit_line(StepInfo("t", (), "failed", 1, exit_code=3)) == ConsoleLine(
        "step 't' exited with code 3", "runs-tui"
    )
    assert exit_line(StepInfo("t", (), "failed", 1, exit_code=-9)) == ConsoleLine(
        "step 't' killed by signal 9", "runs-tui"
    )
    assert exit_line(StepInfo("t", (), "failed", 1, exit_code=None)) is None
    assert exit_line(StepInfo("t", (), "completed", 1, exit_code=0)) is None


def test_console_lines_are_one_attempts_and_safe():
    logs = [
        LogInfo(1, 1, "train", "stdout", 0.0, "first attempt"),
        LogInfo(2, 2, "train", "stdout", 0.0, "red \x1b[31m text\r"),
        LogInfo(3, 2, "train", "stderr", 0.0, "tab\there [b]not markup[/b]"),
    ]
    lines = console_lines(logs, 2)
    assert lines == [
        ConsoleLine("red ␛[31m text", "stdout"),
        ConsoleLine("tab here [b]not markup[/b]", "stderr"),
    ]
    assert lines[1].stderr and not lines[0].stderr
    assert len(console_lines(logs, None)) == 3


def test_find_goes_forward_and_back_round_the_end_ignoring_case():
    lines = folded([ConsoleLine(t) for t in ["alpha", "Beta", "gamma", "beta max", "delta"]])
    assert find(lines, "beta", -1) == 1
    assert find(lines, "beta", 1) == 3
    assert find(lines, "beta", 3) == 1  # round the end
    assert find(lines, "BETA", 1, backwards=True) == 3  # round the start
    assert find(lines, "beta", 3, backwards=True) == 1
    assert find(lines, "zeta", 0) is None
    assert find(lines, "", 0) is None
    assert find([], "x", 0) is None
    assert find(["only beta"], "beta", 0) == 0  # itself, last


def test_spans_of_a_needle():
    assert spans("Error, error, ERROR", "error") == [(0, 5), (7, 12), (14, 19)]
    assert spans("nothing", "x") == []
    assert spans("anything", "") == []
    assert spans("Straße error", "error") == []  # folding changes the length: no wrong spans
