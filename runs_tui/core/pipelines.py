"""Pipeline TOML files: parse and validate; parameters and their types; step order.

Plain parameter names live in the `args` section (`lr` is the column `p:args/lr`);
a sub-table `[parameters.data]` makes the section `data`. Steps refer to them as
`{lr}` or `{data/path}` inside argv elements; `{{lr}}` is the literal text `{lr}`,
and braces around anything that is not a name (inline code, JSON) are left alone.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from runs_tui.core.paths import read_regular
from runs_tui.core.resources import INT_MAX, ResourceError, describe, parse_resources

# Re-exported: steps carry Resources, and launchers import it from here.
from runs_tui.core.resources import Resources as Resources  # noqa: PLC0414

DEFAULT_SECTION = "args"
TOP_KEYS = ("pipeline", "parameters", "steps")
PIPELINE_KEYS = ("name", "version", "queue")
STEP_KEYS = ("name", "command", "parents", "resources")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PARAM_REF = r"[A-Za-z_][A-Za-z0-9_.-]*(?:/[A-Za-z_][A-Za-z0-9_.-]*)?"
_REF = re.compile(rf"\{{\{{({_PARAM_REF})\}}\}}|\{{({_PARAM_REF})\}}")
Value = str | int | float | bool


class PipelineError(ValueError):
    """A pipeline file that cannot be used; the message names the file, key and problem."""


@dataclass(frozen=True)
class StepDef:
    name: str
    command: list[str]
    parents: list[str] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepDef:
        """A step as `to_json` stored it; definitions stored before resources existed
        have none."""
        resources = data.get("resources") or {}
        return cls(
            data["name"],
            data["command"],
            data.get("parents", []),
            Resources(**{**resources, "extra": tuple(resources.get("extra", ()))}),
        )


@dataclass(frozen=True)
class PipelineDef:
    name: str
    version: str
    queue: str
    parameters: dict[str, Value]
    steps: list[StepDef]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PipelineDef:
        data = json.loads(text)
        steps = [StepDef.from_dict(s) for s in data.pop("steps")]
        return cls(steps=steps, **data)

    def order(self) -> list[StepDef]:
        """Steps in an order where every parent comes before its children: depth first,
        parents in the order given, with a stack of its own so that a chain of any length
        fits (Python's stack takes about a thousand)."""
        by_name = {s.name: s for s in self.steps}
        done: list[StepDef] = []
        seen: set[str] = set()
        for root in self.steps:
            if root.name in seen:
                continue
            seen.add(root.name)
            stack = [(root, iter(root.parents))]
            while stack:
                step, parents = stack[-1]
                parent = next(parents, None)
                if parent is None:
                    stack.pop()
                    done.append(step)
                elif parent not in seen:
                    seen.add(parent)
                    stack.append((by_name[parent], iter(by_name[parent].parents)))
        return done


def env_name(key: str) -> str:
    """`args/lr` -> RUNS_TUI_PARAM_LR, `data/path` -> RUNS_TUI_PARAM_DATA_PATH."""
    short = key.removeprefix(f"{DEFAULT_SECTION}/")
    return "RUNS_TUI_PARAM_" + re.sub(r"[^A-Za-z0-9]", "_", short).upper()


def _ref_key(ref: str) -> str:
    return ref if "/" in ref else f"{DEFAULT_SECTION}/{ref}"


def substitute(arg: str, values: dict[str, Any]) -> str:
    """Fill `{name}` references in one argv element; values are inserted verbatim."""

    def repl(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "{" + match.group(1) + "}"
        return format_value(values[_ref_key(match.group(2))])

    return _REF.sub(repl, arg)


def format_value(value: Any) -> str:
    """A parameter as text: what steps receive and the store keeps (booleans lower-case)."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def parse_file(path: str | Path) -> PipelineDef:
    """Read and validate a pipeline file."""
    p = Path(path)
    try:
        raw = read_regular(p)
    except OSError as exc:
        raise PipelineError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{p}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{p}: invalid TOML: {exc}") from exc
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise PipelineError(f"{p}: invalid TOML: nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise PipelineError(f"{p}: invalid TOML: {exc}") from None
    return validate(data, str(p))


def _expect(value: Any, kind: type | tuple[type, ...], where: str, key: str, what: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise PipelineError(f"{where}: {key}: expected {what}, got {describe(value)}")
    return value


def validate(data: dict[str, Any], where: str = "<pipeline>") -> PipelineDef:
    """Check a parsed pipeline document; errors name `where`, the key and the problem."""
    _check_nul(data, where)
    _known_keys(data, TOP_KEYS, where, "", "top-level key")
    head = _expect(data.get("pipeline"), dict, where, "pipeline", "a [pipeline] table")
    _known_keys(head, PIPELINE_KEYS, where, "pipeline: ", "key")
    name = _expect(head.get("name"), str, where, "pipeline.name", "a string").strip()
    if not name:
        raise PipelineError(f"{where}: pipeline.name: must not be empty")
    version = _expect(head.get("version", "1.0.0"), str, where, "pipeline.version", "a string")
    queue = _expect(head.get("queue", "default"), str, where, "pipeline.queue", "a string").strip()
    if not queue:
        raise PipelineError(f"{where}: pipeline.queue: must not be empty")
    params = _parameters(data.get("parameters", {}), where)
    raw_steps = _expect(data.get("steps"), list, where, "steps", "an array of [[steps]] tables")
    if not raw_steps:
        raise PipelineError(f"{where}: steps: a pipeline needs at least one step")
    steps = [_step(raw, i, where, params) for i, raw in enumerate(raw_steps)]
    names: dict[str, int] = {}
    for i, step in enumerate(steps):
        if names.setdefault(step.name, i) != i:
            raise PipelineError(f"{where}: steps[{i}].name: duplicate step name {step.name!r}")
    for i, step in enumerate(steps):
        for parent in step.parents:
            if parent not in names:
                raise PipelineError(
                    f"{where}: steps[{i}].parents: unknown parent {parent!r} of step {step.name!r}"
                )
    _check_cycles(steps, where)
    return PipelineDef(name, version, queue, params, steps)


def _check_nul(data: dict[str, Any], where: str) -> None:
    """No NUL in any key or string of the document: an argv element or an environment
    value cannot hold one, and PostgreSQL refuses it in text."""
    todo: deque[tuple[str, Any]] = deque([("", data)])
    while todo:
        key, value = todo.popleft()
        if isinstance(value, str) and "\0" in value:
            raise PipelineError(f"{where}: {key}: NUL character in {value!r}")
        if isinstance(value, dict):
            for name, inner in value.items():
                inner_key = f"{key}.{name}" if key else name
                if "\0" in name:
                    raise PipelineError(f"{where}: {inner_key!r}: NUL character in a key")
                todo.append((inner_key, inner))
        elif isinstance(value, list):
            todo.extend((f"{key}[{i}]", inner) for i, inner in enumerate(value))


def _known_keys(table: Any, known: tuple[str, ...], where: str, prefix: str, what: str) -> None:
    """A misspelt key (`[pipline]`) is an error naming it, not a silent default."""
    unknown = [k for k in table if k not in known] if isinstance(table, dict) else []
    if unknown:
        raise PipelineError(
            f"{where}: {prefix}unknown {what} {unknown[0]!r} (known: {', '.join(known)})"
        )


def _parameters(raw: Any, where: str) -> dict[str, Value]:
    table = _expect(raw, dict, where, "parameters", "a [parameters] table")
    out: dict[str, Value] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                out.update(_parameter(f"{key}/{sub}", inner, where, f"parameters.{key}.{sub}"))
        else:
            out.update(_parameter(f"{DEFAULT_SECTION}/{key}", value, where, f"parameters.{key}"))
    return out


def _parameter(key: str, value: Any, where: str, file_key: str) -> dict[str, Value]:
    """`file_key` is the key as written in the file, for messages."""
    for part in key.split("/"):
        if not _NAME.match(part):
            raise PipelineError(
                f"{where}: {file_key}: invalid name "
                f"{part!r} (letters, digits, _ . -; not starting with a digit)"
            )
    if not isinstance(value, str | int | float | bool):
        raise PipelineError(
            f"{where}: {file_key}: expected a string, number or boolean, got {describe(value)}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise PipelineError(f"{where}: {file_key}: expected a finite number, got {value!r}")
    if isinstance(value, int) and not -INT_MAX - 1 <= value <= INT_MAX:
        raise PipelineError(f"{where}: {file_key}: integer out of 64-bit range")
    return {key: value}


def _step(raw: Any, i: int, where: str, params: dict[str, Value]) -> StepDef:
    key = f"steps[{i}]"
    table = _expect(raw, dict, where, key, "a table")
    name = _expect(table.get("name"), str, where, f"{key}.name", "a string").strip()
    if not name:
        raise PipelineError(f"{where}: {key}.name: must not be empty")
    if "command" not in table:
        raise PipelineError(f"{where}: {key}.command: step {name!r} has no command")
    command = _expect(table["command"], list, where, f"{key}.command", "an array of strings")
    if not command:
        raise PipelineError(f"{where}: {key}.command: step {name!r} has an empty command")
    for j, arg in enumerate(command):
        _expect(arg, str, where, f"{key}.command[{j}]", "a string")
        if j == 0 and not arg.strip():
            raise PipelineError(f"{where}: {key}.command[0]: step {name!r}: the program is empty")
        for ref in _REF.finditer(arg):
            if ref.group(2) is not None and _ref_key(ref.group(2)) not in params:
                raise PipelineError(
                    f"{where}: {key}.command[{j}]: parameter "
                    f"{{{ref.group(2)}}} is not defined in [parameters]"
                )
    parents = _expect(
        table.get("parents", []), list, where, f"{key}.parents", "an array of strings"
    )
    for j, parent in enumerate(parents):
        _expect(parent, str, where, f"{key}.parents[{j}]", "a string")
    _known_keys(table, STEP_KEYS, where, f"{key}: ", "key")
    try:
        resources = parse_resources(table.get("resources", {}))
    except ResourceError as exc:  # named with the step: its table may be far down the file
        at = f"{key}.resources" + (f".{exc.key}" if exc.key else "")
        raise PipelineError(f"{where}: {at}: step {name!r}: {exc}") from None
    return StepDef(name, list(command), list(parents), resources)


def _check_cycles(steps: list[StepDef], where: str) -> None:
    """Depth first through parents with a stack of its own (any chain length); a cycle is
    named by its steps, shortened when long."""
    parents = {s.name: s.parents for s in steps}
    done: set[str] = set()
    for root, first in parents.items():
        if root in done:
            continue
        path, on_path = [root], {root}
        stack = [iter(first)]
        while stack:
            parent = next(stack[-1], None)
            if parent is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif parent in on_path:
                cycle = [*path[path.index(parent) :], parent]
                if len(cycle) > 8:
                    cycle = [*cycle[:4], f"... ({len(cycle) - 1} steps)", *cycle[-3:]]
                raise PipelineError(f"{where}: steps: cycle {' -> '.join(cycle)}")
            elif parent not in done:
                path.append(parent)
                on_path.add(parent)
                stack.append(iter(parents[parent]))


def coerce(key: str, default: Value, text: str) -> Value:
    """Read `text` as the type of `default`; the error names the parameter and the value."""
    short = key.removeprefix(f"{DEFAULT_SECTION}/")
    if "\0" in text:  # no argv or environment can carry it; PostgreSQL refuses it
        raise ValueError(f"parameter {short!r}: NUL character in {text!r}")
    try:
        value = _typed_like(default, text)
    except ValueError:
        kind = {bool: "a boolean (true/false)", int: "an integer", float: "a finite number"}
        raise ValueError(
            f"parameter {short!r}: expected {kind[type(default)]}, got {text!r}"
        ) from None
    if type(value) is int and not -INT_MAX - 1 <= value <= INT_MAX:
        raise ValueError(f"parameter {short!r}: integer out of 64-bit range: {text.strip()}")
    return value


def _typed_like(default: Value, text: str) -> Value:
    """`text` as the type of `default` (a string stays as typed); ValueError if it is not."""
    s = text.strip()
    if isinstance(default, bool):
        low = s.lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise ValueError
    if isinstance(default, int):
        return int(s)
    if isinstance(default, float):
        value = float(s)
        if not math.isfinite(value):
            raise ValueError
        return value
    return text


def resolve_params(definition: PipelineDef, given: dict[str, str]) -> dict[str, Value]:
    """The pipeline's defaults overridden by `given` (keys `lr` or `args/lr`)."""
    values: dict[str, Value] = dict(definition.parameters)
    for raw_key, text in given.items():
        key = _ref_key(raw_key.strip())
        if key not in values:
            known = ", ".join(k.removeprefix(f"{DEFAULT_SECTION}/") for k in values) or "none"
            raise ValueError(
                f"unknown parameter {raw_key!r} for pipeline {definition.name!r} (known: {known})"
            )
        values[key] = coerce(key, definition.parameters[key], text)
    return values
