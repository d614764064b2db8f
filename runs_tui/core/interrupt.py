"""Stopping a statement another thread is waiting on: a query the table no longer wants
(the user sorted again, searched again) is cancelled in the database, so superseded
queries never pile up beside their successors.

The pool tells which DBAPI connection each thread holds; SQLite's `interrupt()` and
psycopg's `cancel()` may be called from any thread. The stopped statement raises an
error in its own thread ("interrupted", "canceling statement"), which the caller drops.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event


class Interrupter:
    """Which connections each thread has checked out of `engine`'s pool."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, list[Any]] = {}
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def _checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        thread = threading.get_ident()
        record.info["runs_tui_thread"] = thread
        with self._lock:
            self._held.setdefault(thread, []).append(dbapi_connection)

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        thread = record.info.pop("runs_tui_thread", None)
        with self._lock:
            held = self._held.get(thread, []) if thread is not None else []
            if dbapi_connection in held:
                held.remove(dbapi_connection)
            if thread is not None and not held:
                self._held.pop(thread, None)

    def interrupt(self, thread: int) -> int:
        """Stop the statements of `thread`; how many connections were told to. A SQLite
        connection is told under the lock, which its return to the pool waits for: a
        pooled connection is never stopped once another thread has it. A psycopg cancel
        is a round trip to the server, not made under the lock."""
        with self._lock:
            held = list(self._held.get(thread, []))
            for connection in held:
                if isinstance(connection, sqlite3.Connection):
                    connection.interrupt()
        for connection in held:
            if not isinstance(connection, sqlite3.Connection):
                connection.cancel()  # psycopg: sends a cancel request to the server
        return len(held)
