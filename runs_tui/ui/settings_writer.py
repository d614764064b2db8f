"""Settings written off the UI thread. A search, a sort or a column change saves the
view, and a save is an atomic write with two fsyncs: milliseconds on a local disk, far
more on a network home directory (a cluster's login node), all of which the table would
wait for before it even asks for the search's rows."""

from __future__ import annotations

import threading
from collections.abc import Callable


class SettingsWriter:
    """The newest settings given (`put`, on the UI thread, as bytes: a snapshot the UI
    may change after) are written by `flush` (in a worker), one write at a time, never an
    older one after a newer one; a flush that finds nothing new writes nothing."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._pending: bytes | None = None
        self._slot = threading.Lock()  # guards `_pending` only: never held while writing
        self._writing = threading.Lock()  # one write at a time, in order

    def put(self, data: bytes) -> None:
        with self._slot:
            self._pending = data

    def flush(self) -> None:
        """Write the newest data not written yet; raises OSError (the data is then not
        kept: the next put brings all of it again)."""
        with self._writing:
            with self._slot:
                data, self._pending = self._pending, None
            if data is not None:
                self._write(data)
