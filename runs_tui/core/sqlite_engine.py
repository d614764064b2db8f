"""The SQLite engine: WAL mode, a busy timeout, BEGIN IMMEDIATE for writers, and a pool
of open connections that notices when its file is gone.

A new connection costs about a millisecond (the open and its pragmas; putting the file
in WAL mode is most of it), and closing the last one checkpoints the WAL: a screen's
fresh load makes five queries, and an agent's run six write transactions. So a few
connections stay open between uses. An open connection would go on reading and writing
a file that was moved or deleted since (an unmounted disk, a file replaced by a copy),
where a new one fails loudly: each use first checks that the path still names the file
the connection opened, and a connection whose file is gone is dropped for a new one.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import QueuePool

KEPT_OPEN = 5  # connections kept between uses; more may be open at once, and are closed
FILE_KEY = "runs_tui_file"  # a pooled connection's info: the (device, inode) it opened


def sqlite_engine(url: str, timeout_ms: int) -> Engine:
    """An engine on the SQLite database `url`, whose connections wait `timeout_ms` for
    another process's write lock."""
    engine = create_engine(
        url,
        connect_args={"timeout": timeout_ms / 1000, "check_same_thread": False},
        poolclass=QueuePool,
        pool_size=KEPT_OPEN,
        max_overflow=-1,  # never wait for a connection: as many as threads ask for
    )
    path = _database_file(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
        _wal(cur, timeout_ms / 1000)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        record.info[FILE_KEY] = _identity(path)

    @event.listens_for(engine, "checkout")
    def _on_checkout(_dbapi_conn: sqlite3.Connection, record: Any, _proxy: Any) -> None:
        if path is not None and record.info.get(FILE_KEY) != _identity(path):
            raise DisconnectionError(f"{path} is no longer the file this connection opened")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _database_file(url: str) -> str | None:
    """The file a SQLite URL names (a plain path or a `file:` URI), None in memory."""
    name = make_url(url).database or ""
    if name.startswith("file:"):
        name = unquote(name.removeprefix("file:").split("?", 1)[0])
    return None if name in ("", ":memory:") else name


def _identity(path: str | None) -> tuple[int, int] | None:
    """The file at `path` (device, inode); None when there is none."""
    if path is None:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _wal(cur: sqlite3.Cursor, timeout: float) -> None:
    """Put the database in WAL mode (a no-op once it is). SQLite may answer "locked" to
    this pragma at once, without its busy handler, while another process is in the middle
    of opening or checkpointing the file: try again until the busy timeout."""
    give_up = time.monotonic() + timeout
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.05)
