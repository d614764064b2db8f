"""The line protocol a step prints to report: `::metric ...` and `::progress F`, and what
makes a step's output storable.

Any other line is console log. A malformed protocol line, or one with a value the
store cannot hold, is kept as a log line with a note, so a typo in a step is visible
instead of silently lost (and never fails the run's writes).
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass

from runs_tui.core.columns import split_metric_name

# The metric step columns are 32-bit integers on PostgreSQL; SQLite is held to the same
# range, so a run reports the same way on either.
STEP_MIN, STEP_MAX = -(2**31), 2**31 - 1
NUL = "\0"
NUL_SHOWN = "\u2400"  # ␀
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class MetricReport:
    title: str
    series: str
    value: float
    step: int | None


@dataclass(frozen=True)
class ProgressReport:
    fraction: float


@dataclass(frozen=True)
class BadReport:
    """A line that looked like protocol but was not; `why` says what was wrong."""

    line: str
    why: str


Report = MetricReport | ProgressReport | BadReport | None


def parse(line: str) -> Report:
    """The report in `line`, or None for a console line."""
    text = line.strip()
    if text.startswith("::metric "):
        return _metric(text)
    if text.startswith("::progress "):
        return _progress(text)
    return None


def _metric(text: str) -> Report:
    try:
        fields = dict(part.split("=", 1) for part in shlex.split(text[len("::metric ") :]))
    except ValueError:
        return BadReport(text, "expected name=... value=... [step=...]")
    name, raw = fields.get("name", ""), fields.get("value", "")
    if not name:
        return BadReport(text, "no name=")
    if NUL in name or _SURROGATE.search(name):
        return BadReport(text, f"name {name!r} has a character that cannot be stored")
    try:
        value = float(raw)
    except ValueError:
        return BadReport(text, f"value {raw!r} is not a number")
    if not math.isfinite(value):
        return BadReport(text, f"value {raw!r} is not finite")
    step = None
    if "step" in fields:
        try:
            step = int(fields["step"])
        except ValueError:
            return BadReport(text, f"step {fields['step']!r} is not an integer")
        if not STEP_MIN <= step <= STEP_MAX:
            return BadReport(text, f"step {step} is out of range")
    title, series = split_metric_name(name)
    return MetricReport(title, series, value, step)


def _progress(text: str) -> Report:
    raw = text[len("::progress ") :].strip()
    try:
        value = float(raw)
    except ValueError:
        return BadReport(text, f"progress {raw!r} is not a number")
    if not 0.0 <= value <= 1.0:
        return BadReport(text, f"progress {raw!r} is not between 0 and 1")
    return ProgressReport(value)


def storable(line: str) -> str:
    """`line` as the store can hold it: NUL (which PostgreSQL refuses in text) shown as ␀,
    a lone surrogate (which no UTF-8 database takes) as U+FFFD, with a note saying so."""
    nuls = line.count(NUL)
    line, surrogates = _SURROGATE.subn("\ufffd", line)
    if not nuls and not surrogates:
        return line
    notes = [f"{nuls} NUL shown as {NUL_SHOWN}"] if nuls else []
    if surrogates:
        notes.append(f"{surrogates} lone surrogate shown as \ufffd")
    return f"{line.replace(NUL, NUL_SHOWN)}  [runs-tui: {'; '.join(notes)}]"
