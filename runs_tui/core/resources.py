"""A step's resources (`[steps.resources]` in a pipeline file): what it asks of the
machine that runs it, read from the forms people and Slurm write."""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass, fields
from typing import Any

INT_MAX = 2**63 - 1  # TOML's integers; a scheduler takes no more


class ResourceError(ValueError):
    """A bad `[steps.resources]` table; `key` is the resource at fault ("" for the table)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


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


_MEMORY = re.compile(r"([0-9]+)([KMGT])(?:i?B)?", re.IGNORECASE)
_MIB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
_TIME = re.compile(
    r"(?P<d>[0-9]+)-(?P<dh>[0-9]+)(?::(?P<dm>[0-9]+)(?::(?P<ds>[0-9]+))?)?"  # D-HH[:MM[:SS]]
    r"|(?P<h>[0-9]+):(?P<hm>[0-9]+):(?P<hs>[0-9]+)"  # HH:MM:SS
    r"|(?P<m>[0-9]+)(?::(?P<ms>[0-9]+))?"  # MM[:SS]
)


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


def parse_resources(table: Any) -> Resources:
    """A `[steps.resources]` table as Resources; ResourceError names what is wrong."""
    if not isinstance(table, dict):
        raise ResourceError("", f"expected a [steps.resources] table, got {describe(table)}")
    known = list(_PARSERS)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ResourceError("", f"unknown key {unknown[0]!r} (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    for name, value in table.items():
        parsed, expected = _PARSERS[name](value)
        if parsed is None or (isinstance(parsed, int) and parsed > INT_MAX):
            raise ResourceError(name, f"expected {expected}, got {describe(value)}")
        values[name] = parsed
    return Resources(**values)


def describe(value: Any) -> str:
    """A value in a message: its type and the start of its repr, bounded in depth too (a
    value nested thousands deep gets a line, not a RecursionError)."""
    return f"{type(value).__name__} {_SHORT.repr(value)[:60]}"


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlevel = 3
