"""Pipeline TOML files: parse and validate; parameters and their types; resources.

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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_SECTION = "args"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PARAM_REF = r"[A-Za-z_][A-Za-z0-9_.-]*(?:/[A-Za-z_][A-Za-z0-9_.-]*)?"
_REF = re.compile(rf"\{{\{{({_PARAM_REF})\}}\}}|\{{({_PARAM_REF})\}}")
Value = str | int | float | bool


class PipelineError(ValueError):
    """A pipeline file that cannot be used; the message names the file, key and problem."""


@dataclass(frozen=True)
class Resources:
    """What a step asks of the machine that runs it (`[steps.resources]`); None asks
    nothing. Kept in units a scheduler takes: memory in MiB, time in seconds."""

    cpus: int | None = None
    memory: int | None = None
    gpus: int | None = None
    time: int | None = None
    extra: tuple[str, ...] = ()

    def requested(self) -> list[str]:
        """The keys that ask for something (0 GPUs asks nothing)."""
        return [f.name for f in fields(self) if getattr(self, f.name)]


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
        """Steps in an order where every parent comes before its children."""
        by_name = {s.name: s for s in self.steps}
        done: list[StepDef] = []
        seen: set[str] = set()

        def visit(step: StepDef) -> None:
            if step.name in seen:
                return
            seen.add(step.name)
            for parent in step.parents:
                visit(by_name[parent])
            done.append(step)

        for step in self.steps:
            visit(step)
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
        raw = p.read_bytes()
    except OSError as exc:
        raise PipelineError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{p}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{p}: invalid TOML: {exc}") from exc
    return validate(data, str(p))


def _expect(value: Any, kind: type | tuple[type, ...], where: str, key: str, what: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise PipelineError(f"{where}: {key}: expected {what}, got {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}"


def validate(data: dict[str, Any], where: str = "<pipeline>") -> PipelineDef:
    """Check a parsed pipeline document; errors name `where`, the key and the problem."""
    head = _expect(data.get("pipeline"), dict, where, "pipeline", "a [pipeline] table")
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
    names = [s.name for s in steps]
    for i, step in enumerate(steps):
        if names.index(step.name) != i:
            raise PipelineError(f"{where}: steps[{i}].name: duplicate step name {step.name!r}")
        for parent in step.parents:
            if parent not in names:
                raise PipelineError(
                    f"{where}: steps[{i}].parents: unknown parent {parent!r} of step {step.name!r}"
                )
    _check_cycles(steps, where)
    return PipelineDef(name, version, queue, params, steps)


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
            f"{where}: {file_key}: expected a string, number or boolean, got {_describe(value)}"
        )
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
    unknown = set(table) - {"name", "command", "parents", "resources"}
    if unknown:
        raise PipelineError(f"{where}: {key}: unknown key {sorted(unknown)[0]!r}")
    resources = _resources(table.get("resources", {}), where, f"{key}.resources", name)
    return StepDef(name, list(command), list(parents), resources)


_MEMORY = re.compile(r"([0-9]+)([KMGT])(?:i?B)?", re.IGNORECASE)
_MIB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
_TIME = re.compile(
    r"(?P<d>[0-9]+)-(?P<dh>[0-9]+)(?::(?P<dm>[0-9]+)(?::(?P<ds>[0-9]+))?)?"  # D-HH[:MM[:SS]]
    r"|(?P<h>[0-9]+):(?P<hm>[0-9]+):(?P<hs>[0-9]+)"  # HH:MM:SS
    r"|(?P<m>[0-9]+)(?::(?P<ms>[0-9]+))?"  # MM[:SS]
)


def _resources(table: Any, where: str, key: str, step: str) -> Resources:
    """A step's resources; every error names the step, as `[steps.resources]` tables
    follow their step far down a file."""
    if not isinstance(table, dict):
        raise PipelineError(
            f"{where}: {key}: step {step!r}: expected a [steps.resources] table, "
            f"got {_describe(table)}"
        )
    known = list(_PARSERS)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise PipelineError(
            f"{where}: {key}: step {step!r}: unknown key {unknown[0]!r} (known: {', '.join(known)})"
        )
    values: dict[str, Any] = {}
    for name, value in table.items():
        parsed, expected = _PARSERS[name](value)
        if parsed is None:
            raise PipelineError(
                f"{where}: {key}.{name}: step {step!r}: expected {expected}, got {_describe(value)}"
            )
        values[name] = parsed
    return Resources(**values)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cpus(value: Any) -> tuple[int | None, str]:
    n = _int(value)
    return (n if n is not None and n > 0 else None), "a positive integer"


def _gpus(value: Any) -> tuple[int | None, str]:
    n = _int(value)
    return (n if n is not None and n >= 0 else None), "an integer, 0 or more"


def _memory(value: Any) -> tuple[int | None, str]:
    """MiB: a plain integer is MiB already (as Slurm reads it); K rounds up to whole MiB."""
    expected = "MiB as a positive integer, or a size like '512M', '4G', '16GB'"
    mib = _int(value)
    if isinstance(value, str) and (match := _MEMORY.fullmatch(value.strip())):
        mib = math.ceil(int(match.group(1)) * _MIB[match.group(2).upper()])
    return (mib if mib is not None and mib > 0 else None), expected


def _time(value: Any) -> tuple[int | None, str]:
    """Seconds, from Slurm's forms; a field after the first stays below 60 (hours below 24)."""
    expected = "minutes as a positive integer, or MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS"
    if (minutes := _int(value)) is not None:
        return (minutes * 60 if minutes > 0 else None), expected
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None, expected
    g = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    days, hours = g.get("d", 0), g.get("dh", g.get("h", 0))
    minutes = g.get("dm", g.get("hm", g.get("m", 0)))
    secs = g.get("ds", g.get("hs", g.get("ms", 0)))
    bounded = ("d" not in g or hours < 24) and (minutes < 60 or "m" in g) and secs < 60
    total = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    return (total if bounded and total > 0 else None), expected


def _extra(value: Any) -> tuple[tuple[str, ...] | None, str]:
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    return (tuple(value) if ok else None), "an array of non-empty strings"


# Each returns the value in Resources' units, or None and what was expected.
_PARSERS = {"cpus": _cpus, "memory": _memory, "gpus": _gpus, "time": _time, "extra": _extra}


def _check_cycles(steps: list[StepDef], where: str) -> None:
    parents = {s.name: s.parents for s in steps}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise PipelineError(f"{where}: steps: cycle {cycle}")
        state[name] = 1
        for parent in parents[name]:
            visit(parent, [*path, name])
        state[name] = 2

    for step in steps:
        visit(step.name, [])


def coerce(key: str, default: Value, text: str) -> Value:
    """Read `text` as the type of `default`; the error names the parameter and the value."""
    s = text.strip()
    try:
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
    except ValueError:
        kind = {bool: "a boolean (true/false)", int: "an integer", float: "a finite number"}
        short = key.removeprefix(f"{DEFAULT_SECTION}/")
        raise ValueError(
            f"parameter {short!r}: expected {kind[type(default)]}, got {text!r}"
        ) from None
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
