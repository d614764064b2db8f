"""Python's cycle collector held off while a worker builds a million-entry structure.

Each collection walks every container it tracks, holding the GIL: while a worker fills a
list of a million ids, the collections its allocations trigger walk that growing list
again and again (30-160 ms each, measured at select All over a million runs), and the UI
thread waits for every one. The structures built are free of cycles, and the few
seconds of other threads' cyclic garbage are collected after.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    """How many bulk builds are under way, and whether the collector was on before."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False


_pause = _Pause()


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection until every `paused()` block under way has ended; the
    collector is back as it was then (off, if it was off)."""
    with _pause.lock:
        if _pause.count == 0:
            _pause.was_enabled = gc.isenabled()
            gc.disable()
        _pause.count += 1
    try:
        yield
    finally:
        with _pause.lock:
            _pause.count -= 1
            if _pause.count == 0 and _pause.was_enabled:
                gc.enable()
