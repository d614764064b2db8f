"""Reading the date bounds a person types: absolute date-times or relative ("last 24h")."""

from __future__ import annotations

import re
from datetime import datetime

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"^(?:last\s+)?(\d+(?:\.\d+)?)\s*([smhdw])(?:\s+ago)?$", re.IGNORECASE)
FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def parse_when(text: str, now: float) -> float | None:
    """Epoch seconds for `text` (local time, or "24h" / "last 7d" before `now`); None
    for an empty bound. The error names the text and what is accepted."""
    s = text.strip()
    if not s:
        return None
    if s.lower() == "now":
        return now
    match = _RELATIVE.match(s)
    if match:
        return now - float(match.group(1)) * UNITS[match.group(2).lower()]
    for fmt in FORMATS:
        try:
            return datetime.strptime(s, fmt).timestamp()
        except ValueError:
            continue
    raise ValueError(
        f"invalid date {text!r}: use YYYY-MM-DD [HH:MM[:SS]], or relative like 30m, 24h, last 7d"
    )
