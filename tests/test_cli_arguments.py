"""Every command-line argument is checked in one place (cli.main) before it is used:
bytes that are not UTF-8 (Python hands them over as lone surrogates) and NUL (which
PostgreSQL refuses; argv cannot carry it, an in-process call can) give exit 2 and one
line naming the option and showing the value. Nothing is written to the store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from support import run_cli

from runs_tui.cli import main
from runs_tui.core import ops
from runs_tui.core.db import open_store

Call = Callable[..., tuple[int, str, str]]


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str]) -> Call:
    """`main(argv)` in this process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return code, out, err

    return run


def runs_in(db_path: Path) -> int:
    con = sqlite3.connect(db_path)
    try:
        return int(con.execute("SELECT count(*) FROM run").fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["run", "simple", "--param", "lr=\udcff"], "invalid --param 'lr=\\xff': not UTF-8"),
        (["run", "simpl\udce9"], "invalid PIPELINE 'simpl\\xe9': not UTF-8"),
        (["ls", "--search", "caf\udcc3"], "invalid --search 'caf\\xc3': not UTF-8"),
        (["pipeline", "register", "/tmp/\udcff.toml"], "invalid FILE '/tmp/\\xff.toml': not UTF-8"),
    ],
    ids=["option", "positional", "ls-option", "file"],
)
def test_invalid_utf8_from_a_real_argv(db_path, simple, argv, line):
    """The bytes go through a real exec; the message shows them as \\xNN, in ASCII."""
    proc = run_cli(*argv, "--db", str(db_path))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"runs-tui: error: {line}"]
    assert proc.stderr.isascii() and proc.stdout == ""
    assert runs_in(db_path) == 0


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["run", "simple", "--tag", "\udcff"], "--tag"),
        (["run", "simple", "--queue", "q\udcff"], "--queue"),
        (["tag", "simple#1", "--add", "\udcfe"], "--add"),
        (["tag", "simple#1", "--remove", "\udcfe"], "--remove"),
        (["abort", "simple#\udcb1"], "RUN"),
        (["abort", "simple#1", "--message", "\udcff"], "--message"),
        (["ls", "simple", "--columns", "p:\udcff"], "--columns"),
        (["ls", "\udcff"], "PIPELINE"),
        (["--pipeline", "\udcff"], "--pipeline"),  # checked before the app starts
        (["--view", "\udcff"], "--view"),
        (["agent", "--name", "\udcff", "--once"], "--name"),
        (["ls", "--db", "/tmp/\udcff.db"], "--db"),
    ],
)
def test_invalid_utf8_in_any_argument_names_it(call, db_path, simple, argv, name):
    if "--db" not in argv:
        argv = [*argv, "--db", str(db_path)]
    code, out, err = call(*argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"runs-tui: error: invalid {name} '") and err.endswith(": not UTF-8\n")
    assert runs_in(db_path) == 0


NUL_ARGS = [
    (["run", "sim\0ple"], "PIPELINE", "'sim\\x00ple'"),
    (["run", "simple", "--param", "name=a\0b"], "--param", "'name=a\\x00b'"),
    (["run", "simple", "--param", "na\0me=x"], "--param", "'na\\x00me=x'"),
    (["run", "simple", "--queue", "gpu\0"], "--queue", "'gpu\\x00'"),
    (["run", "simple", "--tag", "t\0"], "--tag", "'t\\x00'"),
    (["tag", "simple#1", "--add", "x\0"], "--add", "'x\\x00'"),
    (["ls", "simple", "--search", "\0"], "--search", "'\\x00'"),
    (["abort", "simple#1", "--message", "why\0"], "--message", "'why\\x00'"),
]


@pytest.mark.parametrize(("argv", "name", "shown"), NUL_ARGS)
def test_nul_in_an_argument_is_refused_on_sqlite(call, db_path, simple, argv, name, shown):
    code, out, err = call(*argv, "--db", str(db_path))
    assert (code, out) == (2, "")
    assert err == f"runs-tui: error: invalid {name} {shown}: NUL character\n"
    assert runs_in(db_path) == 0


def test_nul_in_a_parameter_from_the_new_run_form(store, simple, db_path):
    """The form reaches the store without the CLI: resolve_params refuses NUL itself."""
    with pytest.raises(ValueError, match=r"^parameter 'name': NUL character in 'a\\x00'$"):
        ops.new_run(store, simple, {"name": "a\0"})
    assert runs_in(db_path) == 0


def test_nul_is_refused_the_same_way_on_postgresql(call, pg_url, pipeline_file, tmp_path):
    """What PostgreSQL would refuse with its own words is refused first, in ours."""
    assert call("pipeline", "register", str(pipeline_file), "--db", pg_url)[0] == 0
    for argv, name, shown in NUL_ARGS:
        code, _, err = call(*argv, "--db", pg_url)
        assert (code, err) == (2, f"runs-tui: error: invalid {name} {shown}: NUL character\n")
    nul_file = tmp_path / "nul.toml"
    nul_file.write_text('[pipeline]\nname = "p\\u0000"\n[[steps]]\nname = "a"\ncommand = ["x"]\n')
    code, _, err = call("pipeline", "register", str(nul_file), "--db", pg_url)
    assert (code, err) == (
        2,
        f"runs-tui: error: {nul_file}: pipeline.name: NUL character in 'p\\x00'\n",
    )
    store = open_store(pg_url)
    try:
        with pytest.raises(ValueError, match=r"^parameter 'name': NUL character in 'a\\x00'$"):
            ops.new_run(store, "simple", {"name": "a\0"})  # the way in of the new-run form
        with store.read() as session:
            assert session.execute(text("SELECT count(*) FROM run")).scalar() == 0
    finally:
        store.dispose()
