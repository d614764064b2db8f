"""Database trouble as the agent sees it: which errors pass (a lock, a dropped or refused
connection, a full disk), how long to wait before trying again, and one log line per
outage instead of one per attempt.

An agent keeps working through an outage: claims, heartbeats and writes are tried again
with backoff and jitter (many agents recovering at once do not all knock together).
A running step keeps going for `Outage.limit` seconds of an outage; past that, other
agents may fail its run as lost and a Retry could start it elsewhere, so it is stopped.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from runs_tui.core.text import one_line

log = logging.getLogger("runs_tui.agent")
T = TypeVar("T")

# SQLite result codes (the low byte of an extended code) that pass: busy, locked, out of
# memory, I/O error, disk full, cannot open (an unmounted disk), locking protocol.
SQLITE_TRANSIENT = frozenset({5, 6, 7, 10, 13, 14, 15})
# PostgreSQL SQLSTATE classes that pass: connection exception, transaction rollback
# (serialization, deadlock), insufficient resources (disk full, too many connections),
# operator intervention (shutdown, terminated backend), system error (I/O).
PG_TRANSIENT = frozenset({"08", "40", "53", "57", "58"})


class StoreFailure(Exception):
    """The run cannot go on writing: an error that is not transient, or an outage past
    the limit. `reason` is one line for the run's status, without SQL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GaveUp(StoreFailure):
    """The agent is stopping while the database is unavailable: nothing more is written,
    and the run is left for other agents to find lost."""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` may pass if the same work is tried again later."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in SQLITE_TRANSIENT
    state = getattr(exc.orig, "sqlstate", None)
    if isinstance(state, str) and state:
        return state[:2] in PG_TRANSIENT
    # no SQLSTATE: the driver failed to connect or lost the connection itself
    return isinstance(exc, OperationalError | InterfaceError)


def describe(exc: BaseException) -> str:
    """The driver's own first line (no SQL, no stack), safe for any terminal."""
    orig = getattr(exc, "orig", None) or exc
    first = next((line.strip() for line in str(orig).splitlines() if line.strip()), "")
    return one_line(first or type(orig).__name__, limit=200)


def step_limit(stale_after: float, grace: float) -> float:
    """Seconds a running step survives an outage: stopped then, it is gone (after its
    grace) by the time other agents may fail its run as lost; at least half of
    `stale_after`, so a long grace does not make every blip fatal."""
    return max(stale_after - grace, stale_after / 2)


def waiting_up_to(seconds: float) -> Callable[[float], bool]:
    """A `wait` for `Outage.call` that gives up once `seconds` have passed."""
    end = time.monotonic() + seconds

    def wait(delay: float) -> bool:
        time.sleep(min(delay, max(0.0, end - time.monotonic())))
        return time.monotonic() >= end

    return wait


@dataclass
class Backoff:
    """Delays that double from `first` up to `cap`, each cut by a random part of up to
    half (jitter)."""

    first: float = 0.05
    cap: float = 2.0
    tries: int = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2.0 ** min(self.tries, 60))
        self.tries += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.tries = 0


class Outage:
    """Whether the agent's database is reachable, shared by all of its threads, so that an
    outage is logged once when it starts and once when it ends."""

    def __init__(self, agent: str, limit: float = math.inf) -> None:
        self.agent, self.limit = agent, limit
        self._lock = threading.Lock()
        self._since: float | None = None
        self._ended = -math.inf

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.warning("agent %s: database unavailable: %s; retrying", self.agent, describe(exc))

    def ok(self) -> None:
        """A write went through. Reads do not count: a SQLite write lock lets them pass."""
        if self._since is None:
            return
        with self._lock:
            since, self._since = self._since, None
            if since is None:
                return
            self._ended = time.monotonic()
        log.info("agent %s: database back after %.1f s", self.agent, self._ended - since)

    def steady_for(self) -> float:
        """Seconds since the last outage ended (0 during one; infinite if none was seen)."""
        if self._since is not None:
            return 0.0
        return time.monotonic() - self._ended

    def call(self, op: Callable[[], T], wait: Callable[[float], object], writes: bool = True) -> T:
        """`op`, tried again through transient errors after `wait(delay)`; a true answer from
        `wait` (a stop event that was set) ends the tries with GaveUp. Other errors pass."""
        backoff = Backoff()
        while True:
            try:
                result = op()
            except SQLAlchemyError as exc:
                if not is_transient(exc):
                    raise
                self.failed(exc)
                if wait(backoff.next()):
                    raise GaveUp(f"database unavailable: {describe(exc)}") from exc
                continue
            if writes:
                self.ok()
            return result
