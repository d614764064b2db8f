"""Pipeline files at the edges: nested too deeply for the TOML parser, a chain of 10,000
steps, NUL anywhere, a FIFO or a device instead of a file, and what registration refuses
because it would only fail when a run starts (a typo'd table, nan, an empty program).
Each is one line naming the file and the key; the CLI exits 2 without a traceback."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import tomli_w
from file_support import char_device, within
from support import pipeline_toml, run_cli, wait_for

from runs_tui.core.pipelines import PipelineError, parse_file, validate
from runs_tui.sources import open_source

STEP = '[[steps]]\nname = "a"\ncommand = ["x"]\n'
HEAD = '[pipeline]\nname = "p"\n'
CHAIN = 10_000


def error_of(path: Path) -> str:
    with pytest.raises(PipelineError) as info:
        parse_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    return message


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipe.toml"
    path.write_text(text)
    return path


def chain(n: int, *, closed: bool = False) -> str:
    """Steps s0..s(n-1), each the parent of the next, listed last first (so that a
    walk from the first listed goes n deep); `closed` makes s0's parent the last."""
    steps = [(f"s{i}", ["true"], [f"s{i - 1}"] if i else []) for i in reversed(range(n))]
    if closed:
        steps[-1] = ("s0", ["true"], [f"s{n - 1}"])
    return pipeline_toml("chain", steps)


def cli_error(*args: str) -> str:
    """Runs the CLI expecting exit 2 with one line on stderr; returns the line."""
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("runs-tui: error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    "body",
    [
        "x = " + "[" * 100_000 + "]" * 100_000,
        "x = " + "{a = " * 100_000 + "1" + "}" * 100_000,
    ],
    ids=["arrays", "inline-tables"],
)
def test_nesting_too_deep_for_the_parser(tmp_path, body):
    assert error_of(write(tmp_path, body)).endswith(": invalid TOML: nested too deeply")


def test_deep_tables_the_parser_takes_are_described_not_recursed(tmp_path):
    """Dotted tables nest without bound in tomllib; the error names the key and shows the
    value cut short instead of raising RecursionError from repr()."""
    deep = ".".join(["a"] * 3000)
    message = error_of(write(tmp_path, f"{HEAD}[parameters.x.{deep}]\ny = 1\n{STEP}"))
    assert "parameters.x.a: expected a string, number or boolean, got dict {'a': {" in message


def test_an_integer_too_long_for_python(tmp_path):
    message = error_of(write(tmp_path, f"{HEAD}[parameters]\nn = {'9' * 5000}\n{STEP}"))
    assert ": invalid TOML: " in message and "digits" in message


def test_a_chain_of_ten_thousand_steps_orders_and_validates(tmp_path):
    definition = parse_file(write(tmp_path, chain(CHAIN)))
    assert [s.name for s in definition.order()] == [f"s{i}" for i in range(CHAIN)]


def test_a_cycle_of_ten_thousand_steps_is_named_short(tmp_path):
    message = error_of(write(tmp_path, chain(CHAIN, closed=True)))
    assert message.endswith(
        ": steps: cycle s9999 -> s9998 -> s9997 -> s9996 -> ... (10000 steps) -> s1 -> s0 -> s9999"
    )


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"pipeline": {"name": "p\0"}}, "pipeline.name"),
        ({"pipeline": {"name": "p", "queue": "q\0"}}, "pipeline.queue"),
        ({"pipeline": {"name": "p", "version": "1\0"}}, "pipeline.version"),
        ({"parameters": {"x": "a\0b"}}, "parameters.x"),
        ({"parameters": {"data": {"path": "\0"}}}, "parameters.data.path"),
        ({"steps": [{"name": "a\0", "command": ["x"]}]}, "steps[0].name"),
        ({"steps": [{"name": "a", "command": ["x", "-\0"]}]}, "steps[0].command[1]"),
        ({"steps": [{"name": "a", "command": ["x"], "parents": ["\0"]}]}, "steps[0].parents[0]"),
        (
            {"steps": [{"name": "a", "command": ["x"], "resources": {"extra": ["-\0"]}}]},
            "steps[0].resources.extra[0]",
        ),
    ],
)
def test_nul_anywhere_is_refused_naming_the_key(tmp_path, doc, key):
    full = {"pipeline": {"name": "p"}, "steps": [{"name": "a", "command": ["x"]}], **doc}
    message = error_of(write(tmp_path, tomli_w.dumps(full)))
    assert f": {key}: NUL character in " in message


def test_nul_in_a_key_is_refused(tmp_path):
    message = error_of(write(tmp_path, f'{HEAD}[parameters]\n"x\\u0000" = 1\n{STEP}'))
    assert "'parameters.x\\x00': NUL character in a key" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'[pipline]\nname = "p"\n{STEP}',
            "unknown top-level key 'pipline' (known: pipeline, parameters, steps)",
        ),
        (
            f"{HEAD}[parameter]\nlr = 1\n{STEP}",
            "unknown top-level key 'parameter' (known: pipeline, parameters, steps)",
        ),
        (
            f'{HEAD}nmae = "x"\n{STEP}',
            "pipeline: unknown key 'nmae' (known: name, version, queue)",
        ),
        (
            f"{HEAD}{STEP}parent = ['b']\n",
            "steps[0]: unknown key 'parent' (known: name, command, parents, resources)",
        ),
        (
            f"{HEAD}[parameters]\nlr = nan\n{STEP}",
            "parameters.lr: expected a finite number, got nan",
        ),
        (
            f"{HEAD}[parameters]\nlr = -inf\n{STEP}",
            "parameters.lr: expected a finite number, got -inf",
        ),
        (
            f"{HEAD}[parameters.opt]\nlr = inf\n{STEP}",
            "parameters.opt.lr: expected a finite number, got inf",
        ),
        (
            f"{HEAD}[parameters]\nn = {2**63}\n{STEP}",
            "parameters.n: integer out of 64-bit range",
        ),
        (
            f'{HEAD}[[steps]]\nname = "a"\ncommand = ["", "x"]\n',
            "steps[0].command[0]: step 'a': the program is empty",
        ),
        (
            f'{HEAD}[[steps]]\nname = "a"\ncommand = ["  "]\n',
            "steps[0].command[0]: step 'a': the program is empty",
        ),
        (
            f"{HEAD}{STEP}[steps.resources]\ncpus = {2**70}\n",
            f"steps[0].resources.cpus: step 'a': expected a positive integer, got int {2**70}",
        ),
    ],
    ids=[
        "pipline",
        "parameter",
        "pipeline-key",
        "step-key",
        "nan",
        "minus-inf",
        "inf-in-section",
        "int-range",
        "empty-program",
        "blank-program",
        "huge-cpus",
    ],
)
def test_what_would_fail_at_run_time_is_refused_at_registration(tmp_path, text, expected):
    assert error_of(write(tmp_path, text)).endswith(f": {expected}")


def test_validate_checks_documents_not_from_files():
    with pytest.raises(PipelineError, match=r"^<pipeline>: pipeline\.name: NUL character"):
        validate({"pipeline": {"name": "\0"}, "steps": []})


def test_a_fifo_or_device_is_refused_without_opening(tmp_path):
    fifo = tmp_path / "pipe.fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link.toml"
    link.symlink_to(fifo)
    for path in (fifo, link):
        message = within(30, lambda p=path: error_of(p), unblock=fifo)
        assert message.endswith(": cannot read: not a regular file (a FIFO)")
    zero = char_device(tmp_path, "zero")
    assert within(30, lambda: error_of(zero)).endswith(
        ": cannot read: not a regular file (a character device)"
    )


def test_the_cli_refuses_bad_pipeline_files_in_one_line(tmp_path, db_path):
    fifo = tmp_path / "pipe.fifo"
    os.mkfifo(fifo)
    zero = char_device(tmp_path, "zero")
    deep = write(tmp_path, "x = " + "[" * 100_000)
    typo = tmp_path / "typo.toml"
    typo.write_text(f'[pipline]\nname = "p"\n{STEP}')
    for path, ending in [
        (fifo, "cannot read: not a regular file (a FIFO)"),
        (zero, "cannot read: not a regular file (a character device)"),
        (deep, "invalid TOML: nested too deeply"),
        (typo, "unknown top-level key 'pipline' (known: pipeline, parameters, steps)"),
    ]:
        line = cli_error("pipeline", "register", str(path), "--db", str(db_path))
        assert line == f"runs-tui: error: {path}: {ending}"
    assert cli_error("ls", "--db", str(fifo)) == (
        f"runs-tui: error: database path {str(fifo)!r} is a FIFO, not a regular file"
    )


def test_a_chain_of_ten_thousand_steps_registers_and_runs(tmp_path, db_path, agents):
    """Registered and enqueued by the CLI, shown in the details in order, and run by a
    real agent step after step (stopped once the first steps are done: running all
    10,000 processes would take minutes and show nothing more)."""
    path = write(tmp_path, chain(CHAIN))
    db = str(db_path)
    assert run_cli("pipeline", "register", str(path), "--db", db).returncode == 0
    assert run_cli("run", "chain", "--db", db).returncode == 0

    source = open_source(db)
    try:
        [run_id] = source.resolve_refs(["chain#1"])
        details = source.details(run_id)
    finally:
        source.close()
    assert details is not None
    steps = details.steps
    assert [s.name for s in steps[:3]] == ["s0", "s1", "s2"] and len(steps) == CHAIN

    def completed() -> list[str]:
        con = sqlite3.connect(db_path)
        try:
            rows = con.execute("SELECT name FROM steprun WHERE status = 'completed' ORDER BY id")
            return [name for (name,) in rows]
        finally:
            con.close()

    agents(db).start("--poll", "0.1")
    done = wait_for(lambda: len(completed()) >= 5 and completed(), 60, "five steps completed")
    assert done[:5] == ["s0", "s1", "s2", "s3", "s4"]
