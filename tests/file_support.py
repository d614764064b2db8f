"""Files that are not plain files, for tests of code that must never open or move them.

The devices are made with mknod in the test's folder (the kernel's own null and zero
drivers, 1:3 and 1:5), not taken from /dev: if a regression moved a "broken" config
aside or replaced it on save, it would rename or replace a node of the test, not the
machine's /dev/null; and a regression reading /dev/zero to the end would fill memory.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
MINORS = {"null": 3, "zero": 5}


def char_device(folder: Path, name: str) -> Path:
    """A character device node `name` ("null" or "zero") in `folder`; skips unless root."""
    path = folder / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, MINORS[name]))
    except PermissionError:
        pytest.skip("making a device node (mknod) needs root")
    return path


def within(seconds: float, fn: Callable[[], T], unblock: Path | None = None) -> T:
    """`fn()` in a thread, failing the test if it is still running after `seconds` (it
    blocked, e.g. opening a FIFO); `unblock`, a FIFO, is then opened for writing so that
    the blocked reader gets EOF and the thread ends."""
    out: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if unblock is not None:
            os.close(os.open(unblock, os.O_WRONLY | os.O_NONBLOCK))
        raise AssertionError(f"still blocked after {seconds}s")
    if errors:
        raise errors[0]
    return out[0]
