"""`[steps.resources]`: good values normalised, bad ones named with step, key and value;
kept through registration; old stored definitions still load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from runs_tui.core.pipelines import PipelineDef, PipelineError, Resources, StepDef, parse_file
from runs_tui.core.registry import load_registered, register


def write(tmp_path: Path, resources: object, name: str = "pipe.toml") -> Path:
    doc = {
        "pipeline": {"name": "p", "version": "1.0.0"},
        "steps": [
            {"name": "prepare", "command": ["x"]},
            {"name": "train", "command": ["y"], "resources": resources},
        ],
    }
    path = tmp_path / name
    path.write_text(tomli_w.dumps(doc))
    return path


def resources_of(tmp_path: Path, table: dict[str, Any]) -> Resources:
    return parse_file(write(tmp_path, table)).steps[1].resources


def error_of(tmp_path: Path, table: object) -> str:
    path = write(tmp_path, table)
    with pytest.raises(PipelineError) as info:
        parse_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: steps[1].resources"), message
    assert "step 'train'" in message, message
    return message


def test_no_resources_asks_nothing(tmp_path):
    d = parse_file(write(tmp_path, {}))
    assert d.steps[0].resources == d.steps[1].resources == Resources()
    assert Resources().requested() == []


@pytest.mark.parametrize(
    ("value", "mib"),
    [(512, 512), ("512M", 512), ("4G", 4096), ("16GB", 16384), ("2T", 2 * 1024 * 1024),
     ("1gib", 1024), (" 8G ", 8192), ("1024K", 1), ("1K", 1), ("1500K", 2)],
)  # fmt: skip
def test_memory_in_mib(tmp_path, value, mib):
    assert resources_of(tmp_path, {"memory": value}).memory == mib


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 1800),
        ("30", 1800),
        ("90:30", 5430),
        ("1:02:03", 3723),
        ("36:00:00", 129600),
        ("2-12", 216000),
        ("1-00:30", 88200),
        ("1-02:03:04", 93784),
        ("0-0:0:1", 1),
    ],
)
def test_time_in_seconds(tmp_path, value, seconds):
    assert resources_of(tmp_path, {"time": value}).time == seconds


def test_all_keys_together(tmp_path):
    got = resources_of(
        tmp_path,
        {"cpus": 8, "memory": "32G", "gpus": 0, "time": "2:00:00", "extra": ["--qos=low", "-x"]},
    )
    assert got == Resources(cpus=8, memory=32768, gpus=0, time=7200, extra=("--qos=low", "-x"))
    assert got.requested() == ["cpus", "memory", "time", "extra"]  # 0 GPUs asks nothing


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("cpus", 0, "int 0"),
        ("cpus", -2, "int -2"),
        ("cpus", "4", "str '4'"),
        ("cpus", True, "bool True"),
        ("cpus", 2.5, "float 2.5"),
        ("memory", 0, "int 0"),
        ("memory", "4X", "str '4X'"),
        ("memory", "1.5G", "str '1.5G'"),
        ("memory", "4096", "str '4096'"),
        ("memory", "G", "str 'G'"),
        ("memory", "0M", "str '0M'"),
        ("memory", -1, "int -1"),
        ("gpus", -1, "int -1"),
        ("gpus", "1", "str '1'"),
        ("time", 0, "int 0"),
        ("time", -5, "int -5"),
        ("time", "1:75", "str '1:75'"),
        ("time", "1:60:00", "str '1:60:00'"),
        ("time", "1-24", "str '1-24'"),
        ("time", "1:2:3:4", "str '1:2:3:4'"),
        ("time", "1-2:3:4:5", "str '1-2:3:4:5'"),
        ("time", "00:00", "str '00:00'"),
        ("time", "2h", "str '2h'"),
        ("time", "", "str ''"),
        ("time", 1.5, "float 1.5"),
        ("extra", "--qos=low", "str '--qos=low'"),
        ("extra", ["ok", 3], "list ['ok', 3]"),
        ("extra", ["ok", ""], "list ['ok', '']"),
    ],
)
def test_bad_values_name_step_key_and_value(tmp_path, key, value, shown):
    message = error_of(tmp_path, {key: value})
    assert f"steps[1].resources.{key}: step 'train': expected " in message, message
    assert message.endswith(f"got {shown}"), message


def test_unknown_key_and_not_a_table(tmp_path):
    message = error_of(tmp_path, {"cpus": 1, "disk": "10G"})
    assert "unknown key 'disk' (known: cpus, memory, gpus, time, extra)" in message
    message = error_of(tmp_path, "lots")
    assert "expected a [steps.resources] table, got str 'lots'" in message


def test_round_trip_through_register_and_load(store, tmp_path):
    table = {"cpus": 4, "memory": "8G", "gpus": 1, "time": "1-00:00", "extra": ["--exclusive"]}
    pipe = register(store, write(tmp_path, table))
    loaded = load_registered(pipe)
    assert loaded.steps[1].resources == Resources(4, 8192, 1, 86400, ("--exclusive",))
    assert loaded.steps[0].resources == Resources()
    assert loaded == parse_file(tmp_path / "pipe.toml")
    assert PipelineDef.from_json(loaded.to_json()) == loaded


def test_definitions_stored_before_resources_still_load():
    old = json.dumps(
        {
            "name": "p",
            "version": "1.0.0",
            "queue": "default",
            "parameters": {"args/lr": 0.1},
            "steps": [{"name": "a", "command": ["x"], "parents": []}],
        }
    )
    assert PipelineDef.from_json(old).steps == [StepDef("a", ["x"], [], Resources())]
