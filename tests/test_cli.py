"""The CLI: round trips through the store, output, and exit codes (0 all, 1 some, 2 bad input).

Most cases call `runs_tui.cli.main` in-process; a handful go through a real subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest
from sqlmodel import col, select, update
from support import ROOT, run_cli

from runs_tui.core import ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.models import Event, Metric, Run, RunParam, RunTag

# What a terminal acts on: C0 (but newline), DEL and C1.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
HOSTILE_TAG = "\x1b]52;c;aGk=\x07[red]x"
HOSTILE_VALUE = "a\x1b[31mb\x9bc\x07d\re\nf\x7fg"  # argv cannot carry NUL

BAD_PIPELINE = """
[pipeline]
name = "bad"

[[steps]]
name = "only"
"""


def set_state(store: Store, run_id: int, status: str, **values: object) -> None:
    """What an agent would write: the run's state and progress fields."""
    with store.write() as session:
        session.execute(update(Run).where(Run.id == run_id).values(status=status, **values))


def run_row(store: Store, run_id: int) -> Run:
    with store.read() as session:
        run = session.get(Run, run_id)
    assert run is not None
    return run


def lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


# --- pipelines -----------------------------------------------------------------------------


def test_pipeline_register_and_list(cli, pipeline_file, store):
    code, out, err = cli("pipeline", "register", str(pipeline_file))
    assert (code, err) == (0, "")
    assert out == "registered simple 1.0.0 (queue default)\n"

    code, out, _ = cli("pipeline", "list")
    assert code == 0
    assert lines(out) == [
        [
            "NAME",
            "VERSION",
            "QUEUE",
            "RUNS",
            "PENDING",
            "RUNNING",
            "COMPLETED",
            "FAILED",
            "ABORTED",
        ],
        ["simple", "1.0.0", "default", "0", "0", "0", "0", "0", "0"],
    ]

    ids = [ops.new_run(store, "simple").id for _ in range(4)]
    set_state(store, ids[1], "running")
    set_state(store, ids[2], "failed")
    ops.archive(store, [ids[3]])  # archived runs are not counted
    code, out, _ = cli("pipeline", "list")
    assert lines(out)[1] == ["simple", "1.0.0", "default", "3", "1", "1", "0", "1", "0"]


def test_pipeline_register_bad_file(cli, tmp_path, store):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_PIPELINE)
    code, out, err = cli("pipeline", "register", str(bad))
    assert code == 2
    assert out == ""
    assert err.startswith("runs-tui: error: ")
    assert str(bad) in err
    assert "steps[0].command" in err
    assert "no command" in err

    code, _, err = cli("pipeline", "register", str(tmp_path / "missing.toml"))
    assert code == 2
    assert "missing.toml" in err
    assert "cannot read" in err

    with store.read() as session:
        assert session.exec(select(Run)).all() == []
    code, out, _ = cli("pipeline", "list")
    assert len(out.splitlines()) == 1  # only the header


def test_register_run_ls_in_real_subprocesses(pipeline_file, db_path, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_PIPELINE)
    proc = run_cli("pipeline", "register", str(bad), "--db", str(db_path))
    assert proc.returncode == 2
    assert "steps[0].command" in proc.stderr
    assert str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr

    assert run_cli("pipeline", "register", str(pipeline_file), "--db", str(db_path)).returncode == 0
    proc = run_cli(
        "--db", str(db_path), "run", "simple", "--param", "lr=0.5", "--queue", "gpu", "--tag", "t1"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "simple#1  id=1  status=Pending  queue=gpu"
    assert "  args/lr = 0.5" in proc.stdout.splitlines()

    proc = run_cli("ls", "simple", "--db", str(db_path), "--columns", "run,status,queue,tags")
    assert proc.returncode == 0, proc.stderr
    assert lines(proc.stdout) == [
        ["RUN", "STATUS", "QUEUE", "TAGS"],
        ["#1", "Pending", "gpu", "t1"],
    ]


# --- run and ls ----------------------------------------------------------------------------


def test_run_with_params_queue_tags_then_ls(cli, simple, store):
    code, out, err = cli(
        "run",
        "simple",
        "--param",
        "lr=0.5",
        "--param",
        "epochs=7",
        "--param",
        "flag=true",
        "--param",
        "name=x=y",
        "--queue",
        "gpu",
        "--tag",
        "sweep",
        "--tag",
        "baseline",
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "simple#1  id=1  status=Pending  queue=gpu"
    assert "  args/lr = 0.5" in out.splitlines()
    assert "  args/epochs = 7" in out.splitlines()
    assert "  args/name = x=y" in out.splitlines()
    run = run_row(store, 1)
    assert (run.status, run.queue, run.user, run.number) == ("pending", "gpu", "tester", 1)
    with store.read() as session:
        tags = set(session.exec(select(RunTag.tag).where(RunTag.run_id == 1)).all())
    assert tags == {"sweep", "baseline"}

    code, out, _ = cli("run", "simple")
    assert out.splitlines()[0] == "simple#2  id=2  status=Pending  queue=default"

    code, out, _ = cli("ls")
    assert code == 0
    rows = lines(out)
    assert rows[0][:4] == ["PIPELINE", "RUN", "VERSION", "TAGS"]
    assert rows[1][:3] == ["simple", "#2", "1.0.0"]
    assert rows[2][:6] == ["simple", "#1", "1.0.0", "baseline,", "sweep", "Pending"]
    assert "tester" in rows[2]

    code, out, _ = cli("ls", "simple", "--columns", "run,queue,p:args/lr,p:args/epochs")
    assert lines(out) == [
        ["RUN", "QUEUE", "ARGS/LR", "ARGS/EPOCHS"],
        ["#2", "default", "0.01", "3"],
        ["#1", "gpu", "0.5", "7"],
    ]

    code, out, _ = cli("ls", "simple", "--limit", "1", "--columns", "run")
    assert out == "RUN\n#2\n(1 of 2 runs)\n"


def test_ls_json_and_csv_with_metric_and_param_columns(cli, simple, store):
    a = ops.new_run(store, simple, {"lr": "0.5"}, tags=["x", "y"]).id
    b = ops.new_run(store, simple, queue="gpu").id
    with store.write() as session:
        session.add(
            Metric(run_id=a, title="loss", series="val", last=0.25, min=0.125, max=2.5, updated=1.0)
        )
    columns = "run,status,queue,tags,p:args/lr,m:loss/val:last,m:loss/val:min"

    code, out, err = cli("ls", "--format", "json", "--columns", columns)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert [list(d) for d in data] == [
        [
            "pipeline",
            "id",
            "run",
            "status",
            "queue",
            "tags",
            "p:args/lr",
            "m:loss/val:last",
            "m:loss/val:min",
            "reason",
        ]
    ] * 2
    by_id = {d["id"]: d for d in data}
    assert by_id[a] | {"tags": sorted(by_id[a]["tags"])} == {
        "pipeline": "simple",
        "id": a,
        "run": 1,
        "status": "Pending",
        "queue": "default",
        "tags": ["x", "y"],
        "p:args/lr": 0.5,
        "m:loss/val:last": 0.25,
        "m:loss/val:min": 0.125,
        "reason": None,
    }
    assert by_id[b]["m:loss/val:last"] is None
    assert by_id[b]["queue"] == "gpu"
    assert by_id[b]["tags"] == []

    code, out, _ = cli("ls", "simple", "--format", "csv", "--columns", columns)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["id", *columns.split(","), "reason"]  # no pipeline column for one pipeline
    by_id_csv = {int(r[0]): r for r in rows[1:]}
    assert len(by_id_csv) == 2
    ra = by_id_csv[a]
    assert ra[1:4] == ["1", "Pending", "default"]
    assert sorted(ra[4].split("; ")) == ["x", "y"]
    assert ra[5:] == ["0.5", "0.25", "0.125", ""]
    assert by_id_csv[b][5:] == ["0.01", "", "", ""]

    # An empty result is still valid JSON / a CSV header.
    code, out, _ = cli("ls", "--format", "json", "--status", "failed")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = cli("ls", "--format", "csv", "--status", "failed", "--columns", "run")
    assert out == "pipeline,id,run,reason\n"


def test_ls_filters_and_sort(cli, simple, store):
    lrs = ["0.3", "0.02", "0.1", "0.2", "0.05"]
    tags = [["a"], ["a", "b"], ["b"], [], ["a", "c"]]
    ids = [
        ops.new_run(store, simple, {"lr": lr}, tags=t).id for lr, t in zip(lrs, tags, strict=True)
    ]
    set_state(store, ids[0], "failed")
    set_state(store, ids[1], "running", started=1.0)
    set_state(store, ids[2], "completed")
    ops.abort(store, [ids[3]])
    # ids[4] stays Pending

    def numbers(*args: str) -> list[str]:
        code, out, err = cli("ls", "simple", "--columns", "run", *args)
        assert (code, err) == (0, "")
        return [r[0] for r in lines(out)[1:]]

    assert numbers() == ["#5", "#4", "#3", "#2", "#1"]
    assert numbers("--status", "Failed") == ["#1"]
    assert numbers("--status", "aborted", "--status", "PENDING") == ["#5", "#4"]
    assert numbers("--tag", "a") == ["#5", "#2", "#1"]
    assert numbers("--tag", "b", "--tag", "c") == ["#5", "#3", "#2"]
    assert numbers("--tag", "a", "--tag", "b", "--all-tags") == ["#2"]
    assert numbers("--not-tag", "a") == ["#4", "#3"]
    assert numbers("--tag", "a", "--status", "running") == ["#2"]
    # Numeric parameters sort as numbers (0.02 < 0.05 < 0.1 < 0.2 < 0.3), not as text.
    assert numbers("--sort", "p:args/lr") == ["#2", "#5", "#3", "#4", "#1"]
    assert numbers("--sort=-p:args/lr") == ["#1", "#4", "#3", "#5", "#2"]
    assert numbers("--sort", "run") == ["#1", "#2", "#3", "#4", "#5"]
    assert numbers("--sort", "status", "--sort=-run") == ["#4", "#3", "#1", "#5", "#2"]
    assert numbers("--search", "0.05") == ["#5"]

    ops.archive(store, [ids[0], ids[2]])
    assert numbers() == ["#5", "#4", "#2"]
    assert numbers("--archived") == ["#3", "#1"]


# --- actions -------------------------------------------------------------------------------


def test_actions_by_id_and_ref_exit_codes(cli, simple, store):
    ids = [ops.new_run(store, simple).id for _ in range(4)]
    set_state(store, ids[1], "running")
    set_state(store, ids[2], "completed")
    set_state(store, ids[3], "failed")

    # Abort #1 (by id) and #2 (by ref): all affected.
    code, out, err = cli("abort", str(ids[0]), "simple#2", "--message", "wrong lr")
    assert (code, err) == (0, "")
    assert out == "Aborted 2 of 2\n"
    assert [run_row(store, i).status for i in ids[:2]] == ["aborted", "aborted"]
    with store.read() as session:
        ev = session.exec(select(Event).where(Event.action == "abort")).all()
    assert {(e.run_id, e.user, e.message) for e in ev} == {
        (ids[0], "tester", "wrong lr"),
        (ids[1], "tester", "wrong lr"),
    }

    # Some not eligible: exit 1, each named with why.
    code, out, _ = cli("abort", "simple#1", "simple#3", "simple#4")
    assert code == 1
    assert out.splitlines() == [
        "Aborted 0 of 3; 3 not eligible (1 Aborted, 1 Completed, 1 Failed)",
        "  simple#1: not affected (Aborted)",
        "  simple#3: not affected (Completed)",
        "  simple#4: not affected (Failed)",
    ]

    code, out, _ = cli("continue", "simple#1", "simple#2")
    assert (code, out) == (0, "Continued 2 of 2\n")
    assert [run_row(store, i).attempt for i in ids[:2]] == [2, 2]
    assert [run_row(store, i).status for i in ids[:2]] == ["pending", "pending"]

    code, out, _ = cli("retry", "simple#4", "simple#3")
    assert code == 1
    assert out.splitlines() == [
        "Retried 1 of 2; 1 not eligible (1 Completed)",
        "  simple#3: not affected (Completed)",
    ]
    assert (run_row(store, ids[3]).status, run_row(store, ids[3]).attempt) == ("pending", 2)

    code, out, _ = cli("archive", "simple#1", "simple#3")
    assert (code, out) == (0, "Archived 2 of 2 (1 aborted first)\n")
    assert (run_row(store, ids[0]).status, run_row(store, ids[0]).archived) == ("aborted", True)
    assert (run_row(store, ids[2]).status, run_row(store, ids[2]).archived) == ("completed", True)

    code, out, _ = cli("archive", "simple#1")
    assert code == 1
    assert out.splitlines()[1] == "  simple#1: not affected (archived)"

    code, out, _ = cli("restore", "simple#1", "simple#2")
    assert code == 1
    assert out.splitlines() == [
        "Restored 1 of 2; 1 not eligible (1 not archived)",
        "  simple#2: not affected (not archived)",
    ]
    assert run_row(store, ids[0]).archived is False

    code, out, _ = cli("tag", "simple#1", str(ids[2]), "--add", "keep", "--add", "x")
    assert (code, out) == (0, "Tagged 2 of 2\n")
    code, out, _ = cli("tag", "simple#1", "--remove", "x")
    assert (code, out) == (0, "Untagged 1 of 1\n")
    with store.read() as session:
        tags = set(session.exec(select(RunTag.run_id, RunTag.tag)).all())
    assert tags == {(ids[0], "keep"), (ids[2], "keep"), (ids[2], "x")}


def test_partial_failure_exit_code_in_subprocess(simple, store, db_path):
    a = ops.new_run(store, simple).id
    b = ops.new_run(store, simple).id
    set_state(store, b, "completed")
    proc = run_cli("abort", str(a), "simple#2", "--db", str(db_path))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "Aborted 1 of 2; 1 not eligible (1 Completed)",
        "  simple#2: not affected (Completed)",
    ]
    assert run_row(store, a).status == "aborted"
    proc = run_cli("continue", "simple#1", "--db", str(db_path))
    assert (proc.returncode, proc.stdout) == (0, "Continued 1 of 1\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["abort", "simple#9"], "unknown run 'simple#9'"),
        (["abort", "simple#1", "999"], "unknown run '999'"),
        (["continue", "nope#1"], "unknown run 'nope#1'"),
        (["retry", "simple#x"], "invalid run 'simple#x': expected an id or PIPELINE#N"),
        (["archive", "#1"], "invalid run '#1'"),
        (["restore", "one"], "invalid run 'one'"),
        (["abort", "\u00b2"], "invalid run '\u00b2': expected an id or PIPELINE#N"),
        (["abort", "simple#\u00b2"], "invalid run 'simple#\u00b2'"),
        (["abort", "99999999999999999999"], "unknown run '99999999999999999999'"),
        (["abort", "simple#99999999999999999999"], "unknown run 'simple#99999999999999999999'"),
        (["tag", "simple#1"], "give --add T or --remove T"),
        (["tag", "simple#1", "--add", " "], "a tag cannot be empty"),
        (["run", "simple", "--param", "lr=fast"], "parameter 'lr': expected a finite number"),
        (["run", "simple", "--param", "epochs=2.5"], "parameter 'epochs': expected an integer"),
        (["run", "simple", "--param", "flag=perhaps"], "parameter 'flag': expected a boolean"),
        (["run", "simple", "--param", "bogus=1"], "unknown parameter 'bogus'"),
        (["run", "simple", "--param", "lr"], "invalid --param 'lr': expected NAME=VALUE"),
        (["run", "simple", "--param", "=1"], "invalid --param '=1'"),
        (["run", "simple", "--queue", " "], "queue name is empty"),
        (["run", "nope"], "unknown pipeline 'nope'"),
        (["ls", "--columns", "run,bogus"], "unknown column 'bogus'"),
        (["ls", "--columns", "m:loss"], "invalid metric column 'm:loss'"),
        (["ls", "--columns", "p:lr"], "invalid hyperparameter column 'p:lr'"),
        (["ls", "--sort", "nope"], "unknown column 'nope'"),
        (["ls", "--status", "done"], "unknown status 'done'"),
        (["ls", "nope"], "unknown pipeline 'nope'"),
        (["ls", "--limit", "-1"], "invalid --limit -1"),
        (["ls", "--db", "/no/such/folder/runs.db"], "folder '/no/such/folder' does not exist"),
    ],
)
def test_bad_input_exits_2_naming_the_value(cli, simple, store, argv, message):
    ops.new_run(store, simple)
    with store.read() as session:
        before = (len(session.exec(select(Run)).all()), len(session.exec(select(Event)).all()))
    code, out, err = cli(*argv)
    assert code == 2
    assert out == ""
    assert err.startswith("runs-tui: error: ")
    assert message in err
    with store.read() as session:
        after = (len(session.exec(select(Run)).all()), len(session.exec(select(Event)).all()))
    assert after == before
    assert run_row(store, 1).status == "pending"


def test_unknown_ref_among_good_ones_changes_nothing(cli, simple, store):
    ops.new_run(store, simple)
    code, _, err = cli("abort", "simple#1", "simple#7")
    assert code == 2
    assert "unknown run 'simple#7'" in err
    assert run_row(store, 1).status == "pending"


def test_usage_errors_exit_2(cli, simple):
    for argv in (["abort"], ["run"], ["frobnicate"]):  # a bad value: tests/test_cli_strict.py
        code, out, err = cli(*argv)
        assert code == 2, argv
        assert out == ""
        assert "usage:" in err


def test_db_flag_anywhere_and_bad_db(cli, tmp_path, pipeline_file):
    db = tmp_path / "elsewhere.db"
    code, _, _ = cli("--db", str(db), "pipeline", "register", str(pipeline_file))
    assert code == 0
    code, out, _ = cli("pipeline", "list", "--db", str(db))
    assert "simple" in out
    code, out, _ = cli("pipeline", "list")  # RUNS_TUI_DB: a different, empty database
    assert "simple" not in out
    code, _, err = cli("ls", "--db", str(tmp_path))
    assert code == 2
    assert "is a directory" in err


# --- demo ----------------------------------------------------------------------------------


def test_demo_no_ui_creates_database(tmp_path):
    path = tmp_path / "demo.db"
    proc = run_cli("demo", "--no-ui", "--db", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(path)
    store = open_store(str(path))
    try:
        with store.read() as session:
            runs = session.exec(select(Run)).all()
    finally:
        store.dispose()
    by_pipeline: dict[int, set[str]] = {}
    for run in runs:
        by_pipeline.setdefault(run.pipeline_id, set()).add(run.status)
    assert len(by_pipeline) == 3
    assert len(runs) == 72
    every = {"pending", "running", "completed", "failed", "aborted"}
    assert all(states == every for states in by_pipeline.values()), by_pipeline
    assert {r.attempt for r in runs} == {1}

    # Seeding again would clash with the runs there: refused, the database untouched.
    proc = run_cli("demo", "--no-ui", "--db", str(path))
    assert proc.returncode == 2
    assert "already has runs" in proc.stderr
    assert "Traceback" not in proc.stderr
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM run").fetchone() == (72,)
    con.close()


# --- untrusted text ------------------------------------------------------------------------


def test_untrusted_strings_never_reach_stdout_raw(simple, store, db_path):
    proc = run_cli(
        "run",
        "simple",
        "--param",
        f"name={HOSTILE_VALUE}",
        "--tag",
        HOSTILE_TAG,
        "--db",
        str(db_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert RAW_CONTROL.search(proc.stdout) is None, repr(proc.stdout)
    assert "\x1b" not in proc.stdout
    # The values are kept exactly in the store.
    with store.read() as session:
        assert session.exec(select(RunTag.tag)).all() == [HOSTILE_TAG]

    proc = run_cli(
        "ls", "--db", str(db_path), "--columns", "run,tags,p:args/name,status", "--format", "table"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert RAW_CONTROL.search(out) is None, repr(out)
    assert len(out.splitlines()) == 2  # the newline inside the value did not break the row
    assert "\u241b]52;c;aGk=\u2407[red]x" in out
    assert "\\x9b" in out

    proc = run_cli("tag", "simple#1", "--add", HOSTILE_TAG + "2", "--db", str(db_path))
    assert proc.returncode == 0
    assert RAW_CONTROL.search(proc.stdout + proc.stderr) is None

    proc = run_cli("abort", f"{HOSTILE_TAG}#1", "--db", str(db_path))
    assert proc.returncode == 2
    assert RAW_CONTROL.search(proc.stderr) is None, repr(proc.stderr)
    assert "unknown run" in proc.stderr


def test_untrusted_strings_in_process_outputs(cli, simple, store, tmp_path):
    new = ops.new_run(store, simple, {"name": HOSTILE_VALUE + "\x9d"}, tags=[HOSTILE_TAG])
    with store.write() as session:  # NUL is refused at input; a file from before may hold one
        session.execute(
            update(RunParam)
            .where(col(RunParam.run_id) == new.id, col(RunParam.key) == "args/name")
            .values(value=HOSTILE_VALUE + "\x00\x9d")
        )
    hostile_pipe = tmp_path / "hostile.toml"
    hostile_pipe.write_text(
        '[pipeline]\nname = "evil\\u001b[2J"\nversion = "\\u009b1"\n'
        '[[steps]]\nname = "s"\ncommand = ["x"]\n'
    )
    for argv in (
        ["pipeline", "register", str(hostile_pipe)],
        ["pipeline", "list"],
        ["ls"],
        ["ls", "--columns", "run,tags,p:args/name,version"],
        ["run", "simple", "--param", f"name={HOSTILE_VALUE}"],
        ["ls", "--status", HOSTILE_VALUE],
        ["ls", "--columns", HOSTILE_TAG],
    ):
        code, out, err = cli(*argv)
        assert code in (0, 2), argv
        assert RAW_CONTROL.search(out) is None, (argv, out)
        assert RAW_CONTROL.search(err) is None, (argv, err)


def test_output_to_a_closed_pipe_is_quiet(simple, store, db_path):
    """`runs-tui ls | head`: the reader leaves early; no traceback."""
    for _ in range(3):
        ops.new_run(store, simple)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runs_tui", "ls", "--format", "csv", "--db", str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child can have written anything
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=60)
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert code == 141
