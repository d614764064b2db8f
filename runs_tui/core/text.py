"""Making untrusted strings (names, tags, params, metric names, logs) safe for a terminal.

Control characters never reach the terminal: C0 and DEL become their Unicode
control pictures (ESC shows as ␛), C1 bytes show as `\\x9b`. Markup is not a
concern here: callers put the result in `rich.text.Text`, never in markup.
"""

from __future__ import annotations

import re

_C0 = {i: chr(0x2400 + i) for i in range(0x20)}
_C0[0x7F] = "\u2421"
_C1 = {i: f"\\x{i:02x}" for i in range(0x80, 0xA0)}
_TABLE = str.maketrans({**_C0, **_C1})
_ONE_LINE = str.maketrans({**_C0, **_C1, 0x0A: " ", 0x0D: " ", 0x09: " "})
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe(text: str, *, limit: int | None = None) -> str:
    """`text` with every control character made visible; cut to `limit` characters."""
    out = text.translate(_TABLE) if _UNSAFE.search(text) else text
    return clip(out, limit)


def one_line(text: str, *, limit: int | None = None) -> str:
    """Like `safe`, for a table cell or a status line: tabs and line breaks become spaces."""
    out = text.translate(_ONE_LINE) if _UNSAFE.search(text) else text
    return clip(out, limit)


def lines(text: str) -> str:
    """Like `safe`, keeping line breaks (for CSV cells, which quote them)."""
    return "\n".join(safe(part) for part in text.split("\n"))


def log_line(text: str) -> str:
    """A console line: tabs kept as spaces, a trailing `\\r` dropped, other controls visible."""
    return safe(text.rstrip("\r\n").expandtabs(4))


def clip(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if limit > 0 else ""


def is_clean(text: str) -> bool:
    """No character that a terminal would act on."""
    return _UNSAFE.search(text) is None
