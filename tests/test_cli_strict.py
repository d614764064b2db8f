"""Input the CLI used to take silently (an empty queue, an empty column spec, a global
option the subcommand ignores) is refused with exit 2 and one line naming the value; a
bad option value is one line too, not the usage block. `ls --format json|csv` carry why
a run failed (`reason`)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select
from support import run_cli

from runs_tui.agent import claims
from runs_tui.agent.outage import Outage
from runs_tui.agent.writer import RunWriter
from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.core.status import Status


def runs_in(store: Store) -> int:
    with store.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(RUN)).scalar_one())


def one_error_line(err: str) -> str:
    """The single line of an error, checked to be one line with no usage block."""
    assert "usage:" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("runs-tui: error: ")
    return err.strip()


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["run", "simple", "--queue", ""], "invalid --queue '': queue name is empty"),
        (["run", "simple", "--queue", "  "], "invalid --queue '  ': queue name is empty"),
        (["agent", "--once", "--queue", ""], "invalid --queue '': queue name is empty"),
        (["ls", "--columns", "run,,status"], "'run,,status'"),
        (["ls", "--columns", "run,status,"], "'run,status,'"),
        (["ls", "--columns", ""], "no columns in ''"),
        (["--columns", ""], "no columns in ''"),  # the app's own: refused before it opens
        (["--columns", "run,,status"], "'run,,status'"),
        (["ls", "--format", "xml"], "'xml'"),
        (["ls", "--limit", "abc"], "'abc'"),
    ],
)
def test_a_bad_value_is_one_line_naming_it(cli, store, simple, argv, shown):
    code, out, err = cli(*argv)
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert shown in line
    if argv[1] == "--format":
        assert "--format" in line
    if argv[1] == "--limit":
        assert "--limit" in line
    assert runs_in(store) == 0


@pytest.mark.parametrize(
    "command",
    [
        ["ls"],
        ["ls", "simple"],
        ["run", "simple"],
        ["pipeline", "list"],
        ["abort", "simple#1"],
        ["tag", "simple#1", "--add", "x"],
        ["demo", "--no-ui"],
        ["agent", "--once"],
    ],
)
def test_a_global_pipeline_given_to_a_subcommand_is_refused(cli, store, simple, command):
    """`runs-tui --pipeline simple ls` listed every pipeline: the option is the app's."""
    ops.new_run(store, simple)
    code, out, err = cli("--pipeline", "simple", *command)
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert "--pipeline 'simple'" in line and f"`{command[0]}`" in line
    assert runs_in(store) == 1
    assert ops_status(store) == Status.PENDING


def ops_status(store: Store) -> str:
    with store.connect() as connection:
        return str(connection.execute(select(RUN.c.status)).scalar_one())


@pytest.mark.parametrize("option", [["--view", "c=run"], ["--columns", "run"]])
def test_the_apps_other_options_given_to_a_subcommand_are_refused(cli, simple, option):
    code, out, err = cli(*option, "ls")
    assert (code, out) == (2, "")
    assert f"{option[0]} '{option[1]}'" in one_error_line(err)


def test_one_line_in_a_real_process_too(db_path, simple):
    for argv in (["ls", "--limit", "abc"], ["ls", "--format", "xml"], ["--pipeline", "x", "ls"]):
        proc = run_cli(*argv, "--db", str(db_path))
        assert proc.returncode == 2, argv
        assert proc.stdout == ""
        one_error_line(proc.stderr)


def test_what_stays_usage_keeps_the_usage(cli, simple):
    """A command that is missing or unknown still shows how to call it."""
    for argv in (["abort"], ["frobnicate"], ["pipeline", "frob"]):
        code, out, err = cli(*argv)
        assert (code, out) == (2, ""), argv
        assert "usage:" in err, argv


def _failed_run(store: Store, simple: str) -> int:
    """A run of `simple` an agent's writer took and failed, as the agent does."""
    run = ops.new_run(store, simple)
    claim = claims.claim(store, "agent-x", ["default"])
    assert claim is not None and claim.run_id == run.id
    writer = RunWriter(store, claim, "agent-x", Outage("agent-x"), lambda: False)
    assert writer.step_started("only")
    assert writer.step_finished("only", Status.FAILED, 3)
    assert writer.finish(Status.FAILED, "step 'only' exited with code 3\x1b[2J", 3)
    return run.id


def test_ls_json_and_csv_carry_the_failure_reason(cli, store, simple):
    failed = _failed_run(store, simple)
    pending = ops.new_run(store, simple).id
    aborted = ops.new_run(store, simple).id
    ops.abort(store, [aborted], user="tester", message="stuck")

    code, out, err = cli("ls", "--format", "json")
    assert (code, err) == (0, "")
    by_id = {d["id"]: d for d in json.loads(out)}
    assert by_id[failed]["reason"] == "step 'only' exited with code 3\x1b[2J"
    assert by_id[pending]["reason"] is None
    assert by_id[aborted]["reason"] == "aborted by tester: stuck"
    assert "\x1b" not in out  # JSON escapes it

    code, out, err = cli("ls", "simple", "--format", "csv", "--columns", "run,status")
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["id", "run", "status", "reason"]
    by_run = {int(r[0]): r for r in rows[1:]}
    assert by_run[failed][1:] == ["1", "Failed", "step 'only' exited with code 3\u241b[2J"]
    assert by_run[pending][1:] == ["2", "Pending", ""]
    assert by_run[aborted][1:] == ["3", "Aborted", "aborted by tester: stuck"]
