"""Pipeline TOML: every error names the file, the key and the problem; substitution and order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from runs_tui.core.models import Pipeline
from runs_tui.core.pipelines import (
    PipelineDef,
    PipelineError,
    StepDef,
    env_name,
    parse_file,
    resolve_params,
    substitute,
)
from runs_tui.core.registry import register

HEAD = """
[pipeline]
name = "p"
version = "1.0.0"
queue = "default"

[parameters]
lr = 0.01
epochs = 3

[parameters.data]
path = "/data/x"
"""


def write(tmp_path: Path, body: str, head: str = HEAD, name: str = "pipe.toml") -> Path:
    path = tmp_path / name
    path.write_text(head + body)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(PipelineError) as info:
        parse_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


def test_good_file_parses(tmp_path):
    path = write(
        tmp_path,
        """
[[steps]]
name = "train"
command = ["python", "train.py", "--lr", "{lr}", "--data", "{data/path}"]
parents = ["prepare"]

[[steps]]
name = "prepare"
command = ["python", "prepare.py"]
""",
    )
    d = parse_file(path)
    assert d.name == "p"
    assert d.version == "1.0.0"
    assert d.queue == "default"
    assert d.parameters == {"args/lr": 0.01, "args/epochs": 3, "data/path": "/data/x"}
    assert [s.name for s in d.steps] == ["train", "prepare"]
    assert d.steps[0].parents == ["prepare"]
    assert PipelineDef.from_json(d.to_json()) == d


def test_unknown_parent(tmp_path):
    path = write(
        tmp_path,
        """
[[steps]]
name = "a"
command = ["x"]
parents = ["ghost"]
""",
    )
    msg = error_of(path)
    assert "steps[0].parents" in msg
    assert "unknown parent 'ghost'" in msg
    assert "'a'" in msg


def test_cycle_shows_the_cycle(tmp_path):
    path = write(
        tmp_path,
        """
[[steps]]
name = "a"
command = ["x"]
parents = ["c"]

[[steps]]
name = "b"
command = ["x"]
parents = ["a"]

[[steps]]
name = "c"
command = ["x"]
parents = ["b"]
""",
    )
    msg = error_of(path)
    assert "steps: cycle a -> c -> b -> a" in msg


def test_self_parent_is_a_cycle(tmp_path):
    path = write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\nparents = ["a"]\n')
    assert "cycle a -> a" in error_of(path)


def test_no_command(tmp_path):
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\n'))
    assert "steps[0].command" in msg
    assert "has no command" in msg


def test_empty_command(tmp_path):
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = []\n'))
    assert "steps[0].command" in msg
    assert "empty command" in msg


def test_undefined_parameter_reference(tmp_path):
    body = '[[steps]]\nname = "a"\ncommand = ["x", "--y={nope}"]\n'
    msg = error_of(write(tmp_path, body))
    assert "steps[0].command[1]" in msg
    assert "{nope}" in msg
    assert "not defined" in msg


def test_reference_to_undefined_section(tmp_path):
    body = '[[steps]]\nname = "a"\ncommand = ["{other/path}"]\n'
    msg = error_of(write(tmp_path, body))
    assert "steps[0].command[0]" in msg
    assert "{other/path}" in msg


def test_version_must_be_a_string(tmp_path):
    head = HEAD.replace('version = "1.0.0"', "version = 1.2")
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\n', head=head))
    assert "pipeline.version" in msg
    assert "expected a string" in msg
    assert "float 1.2" in msg


def test_command_must_be_a_list(tmp_path):
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = "python x.py"\n'))
    assert "steps[0].command" in msg
    assert "expected an array of strings" in msg
    assert "str 'python x.py'" in msg


def test_command_elements_must_be_strings(tmp_path):
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x", 3]\n'))
    assert "steps[0].command[1]" in msg
    assert "expected a string" in msg


def test_parents_must_be_a_list(tmp_path):
    body = (
        '[[steps]]\nname = "a"\ncommand = ["x"]\n\n'
        '[[steps]]\nname = "b"\ncommand = ["x"]\nparents = "a"\n'
    )
    msg = error_of(write(tmp_path, body))
    assert "steps[1].parents" in msg
    assert "expected an array of strings" in msg


def test_duplicate_step_names(tmp_path):
    body = '[[steps]]\nname = "a"\ncommand = ["x"]\n\n[[steps]]\nname = "a"\ncommand = ["y"]\n'
    msg = error_of(write(tmp_path, body))
    assert "steps[1].name" in msg
    assert "duplicate step name 'a'" in msg


def test_unknown_step_key(tmp_path):
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\nshell = true\n'))
    assert "steps[0]" in msg
    assert "unknown key 'shell'" in msg


def test_no_steps(tmp_path):
    msg = error_of(write(tmp_path, "", head="steps = []\n" + HEAD))
    assert "steps" in msg
    assert "at least one step" in msg


def test_missing_pipeline_table(tmp_path):
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\n', head=""))
    assert "pipeline: expected a [pipeline] table" in msg


def test_bad_parameter_value_and_name(tmp_path):
    head = HEAD.replace("epochs = 3", "epochs = [1, 2]")
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\n', head=head))
    assert "parameters.epochs" in msg
    assert "expected a string, number or boolean" in msg
    head = HEAD.replace("epochs = 3", '"9lives" = 3')
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\n', head=head))
    assert "parameters.9lives" in msg
    assert "invalid name" in msg
    head = HEAD + '"bad key" = 1\n'
    msg = error_of(write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\n', head=head))
    assert "parameters.data.bad key" in msg
    assert "invalid name 'bad key'" in msg


def test_invalid_toml(tmp_path):
    msg = error_of(write(tmp_path, "[[steps]\nname = \n"))
    assert "invalid TOML" in msg
    assert "line" in msg


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[pipeline]\nname = "caf\xe9"\n')
    msg = error_of(path)
    assert "not UTF-8" in msg
    assert "byte 22" in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    msg = error_of(path)
    assert "cannot read" in msg
    assert "No such file" in msg


def test_directory_instead_of_file(tmp_path):
    msg = error_of(tmp_path)
    assert "cannot read" in msg


def test_substitute():
    values = {"args/lr": 0.5, "args/flag": True, "args/epochs": 3, "data/path": "/d x"}
    assert substitute("--lr={lr}", values) == "--lr=0.5"
    assert substitute("{flag}", values) == "true"
    assert substitute("{args/epochs}x{epochs}", values) == "3x3"
    assert substitute("{data/path}", values) == "/d x"  # verbatim: argv, never a shell
    assert substitute("plain", values) == "plain"


def test_brace_escapes():
    values = {"args/lr": 0.5}
    assert substitute("{{lr}}", values) == "{lr}"
    assert substitute("{{lr}}={lr}", values) == "{lr}=0.5"
    assert substitute('{"a": {lr}}', values) == '{"a": 0.5}'
    # Braces around what is not a parameter name (inline code) are left alone.
    assert substitute("print({'x': 1}, {lr})", values) == "print({'x': 1}, 0.5)"


def test_escaped_braces_are_not_references(tmp_path):
    body = (
        '[[steps]]\nname = "a"\n'
        'command = ["python", "-c", "print({{not_a_param}}, {\'k\': 1})", "{lr}"]\n'
    )
    d = parse_file(write(tmp_path, body))
    assert d.steps[0].command[2:] == ["print({{not_a_param}}, {'k': 1})", "{lr}"]


def test_env_name():
    assert env_name("args/lr") == "RUNS_TUI_PARAM_LR"
    assert env_name("data/path") == "RUNS_TUI_PARAM_DATA_PATH"
    assert env_name("args/batch-size.v2") == "RUNS_TUI_PARAM_BATCH_SIZE_V2"


def test_order_respects_parents():
    steps = [
        StepDef("report", ["x"], ["evaluate", "train"]),
        StepDef("evaluate", ["x"], ["train"]),
        StepDef("train", ["x"], ["prepare"]),
        StepDef("prepare", ["x"]),
        StepDef("lint", ["x"]),
    ]
    d = PipelineDef("p", "1", "q", {}, steps)
    order = [s.name for s in d.order()]
    assert sorted(order) == sorted(s.name for s in steps)
    for s in steps:
        for parent in s.parents:
            assert order.index(parent) < order.index(s.name), order
    assert order == ["prepare", "train", "evaluate", "report", "lint"]


def test_resolve_params_accepts_short_and_full_keys(tmp_path):
    body = '[[steps]]\nname = "a"\ncommand = ["x"]\n'
    d = parse_file(write(tmp_path, body))
    values = resolve_params(d, {"lr": "0.5", "data/path": "/y", "args/epochs": " 7 "})
    assert values == {"args/lr": 0.5, "args/epochs": 7, "data/path": "/y"}
    with pytest.raises(ValueError, match=r"unknown parameter 'path' for pipeline 'p'"):
        resolve_params(d, {"path": "/y"})


def test_register_creates_then_updates(store, tmp_path):
    path = write(tmp_path, '[[steps]]\nname = "a"\ncommand = ["x"]\n')
    first = register(store, path)
    path.write_text(
        HEAD.replace('"1.0.0"', '"2.0.0"').replace('queue = "default"', 'queue = "gpu"')
        + '[[steps]]\nname = "b"\ncommand = ["y"]\n'
    )
    second = register(store, path)
    assert second.id == first.id
    with store.read() as session:
        rows = session.exec(select(Pipeline)).all()
    assert len(rows) == 1
    assert (rows[0].version, rows[0].queue, rows[0].path) == ("2.0.0", "gpu", str(tmp_path))
    assert [s["name"] for s in json.loads(rows[0].definition)["steps"]] == ["b"]


def test_register_bad_file_writes_nothing(store, tmp_path):
    path = write(tmp_path, '[[steps]]\nname = "a"\n')
    with pytest.raises(PipelineError):
        register(store, path)
    with store.read() as session:
        assert session.exec(select(Pipeline)).all() == []
