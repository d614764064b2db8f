"""Helpers for pipeline code: report metrics and progress as protocol lines on stdout.

A step needs no database access: the agent reads these lines from the step's
stdout (`::metric name=loss/val value=0.31 step=10`, `::progress 0.45`).
"""

from __future__ import annotations

import math
import re
import sys

_NAME = re.compile(r"^[^\s=]+$")


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Report one value of the series `name` (`title/series`)."""
    if not _NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}: no spaces or '='")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"metric {name!r}: value {value!r} is not a finite number")
    line = f"::metric name={name} value={number!r}"
    if step is not None:
        line += f" step={int(step)}"
    _emit(line)


def progress(fraction: float) -> None:
    """Report how far the run is, from 0.0 to 1.0."""
    value = float(fraction)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"progress {fraction!r} is not between 0 and 1")
    _emit(f"::progress {value!r}")


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
