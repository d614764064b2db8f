"""The agent's own log: one safe line per record, whatever a run, a step or an error
message carries (a log read in a terminal must not be able to drive it)."""

from __future__ import annotations

import logging
import sys

from runs_tui.core.text import one_line


class SafeFormatter(logging.Formatter):
    """Control characters in the message (and in a traceback) made visible; a record's
    own line breaks (a traceback's) are kept as separate safe lines."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(one_line(line) for line in super().format(record).split("\n"))


def configure() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
