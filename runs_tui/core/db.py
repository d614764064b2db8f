"""Engines and sessions: SQLite by default, PostgreSQL by URL.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts
with BEGIN IMMEDIATE so that writers queue up instead of failing on upgrade.
Opening a store checks its schema and upgrades an older one (core/migrations).
Reading is SQLAlchemy Core (`Store.connect`); the ORM sessions of `Store.read` and
`Store.write` import SQLModel on first use, which the read path never pays.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from runs_tui.core import migrations, models
from runs_tui.core.paths import create_private_file, default_db_path, kind_of, make_private_dir
from runs_tui.core.source import SourceError
from runs_tui.core.sqlite_engine import sqlite_engine

if TYPE_CHECKING:
    from sqlmodel import Session

BUSY_TIMEOUT_MS = 30_000  # the default; RUNS_TUI_BUSY_TIMEOUT (seconds) overrides it
BUSY_TIMEOUT_ENV = "RUNS_TUI_BUSY_TIMEOUT"

log = logging.getLogger("runs_tui.store")


def chunked(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    """`ids` in lists of at most `size`, to stay under the database's bound-parameter limit."""
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


class StoreError(SourceError):
    """A database that cannot be used: the message names it and says why."""


def now() -> float:
    """The store's clock: UTC epoch seconds."""
    return time.time()


def resolve_url(db: str | None = None) -> str:
    """`--db`, else RUNS_TUI_DB, else the default file; a plain path becomes a SQLite URL."""
    value = db or os.environ.get("RUNS_TUI_DB") or str(default_db_path())
    try:
        value.encode()
    except UnicodeEncodeError:  # bytes that are not UTF-8, from the environment
        shown = value.encode(errors="surrogateescape").decode(errors="backslashreplace")
        raise StoreError(f"database path '{shown}': not UTF-8") from None
    if "://" in value:
        try:
            make_url(value)
        except ArgumentError as exc:
            raise StoreError(f"invalid database URL {value!r}: {exc}") from exc
        return value
    path = Path(value).expanduser()
    if path.is_dir():
        raise StoreError(f"database path {value!r} is a directory, not a file")
    if path.exists() and not path.is_file():  # a FIFO would block SQLite's open
        raise StoreError(
            f"database path {value!r} is {kind_of(path.stat().st_mode)}, not a regular file"
        )
    if not path.parent.exists():
        if db is None and not os.environ.get("RUNS_TUI_DB"):
            make_private_dir(path.parent)
        else:
            raise StoreError(f"database path {value!r}: folder {str(path.parent)!r} does not exist")
    return f"sqlite:///{path.resolve()}"


def busy_timeout_ms() -> int:
    """How long SQLite waits for another process's write lock before "database is locked":
    RUNS_TUI_BUSY_TIMEOUT seconds, else 30 s. Settable so that scripts (and tests) can give
    up sooner, or a slow shared disk can wait longer."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "")
    if not raw:  # unset or empty, as for RUNS_TUI_DB and RUNS_TUI_CONFIG
        return BUSY_TIMEOUT_MS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds * 1000 <= 2**31 - 1):
        raise StoreError(
            f"invalid {BUSY_TIMEOUT_ENV} {raw!r}: expected a positive number of seconds"
        )
    return max(1, round(seconds * 1000))


class Store:
    """One database: Core connections for reading, ORM sessions, and the dialect's facts."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._snapshot = threading.local()  # .connection: the snapshot this thread is in
        self._write_engine = (
            engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        )

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading with Core statements; inside `snapshot()` (same
        thread), the snapshot's."""
        held: Connection | None = getattr(self._snapshot, "connection", None)
        if held is not None:
            yield held
            return
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        """An ORM session for reading (SQLModel classes); inside `snapshot()` (same thread),
        one on the snapshot's connection."""
        from sqlmodel import Session

        held: Connection | None = getattr(self._snapshot, "connection", None)
        bind = held if held is not None else self.engine
        with Session(bind, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read in this thread, until the block ends, sees one state of the database
        (a SQLite read transaction in WAL mode; REPEATABLE READ on PostgreSQL): a listing
        taken page by page while runs change shows each run exactly once."""
        with self.engine.connect() as connection:
            if not self.is_sqlite:
                connection.execution_options(isolation_level="REPEATABLE READ")
            connection.begin()
            self._snapshot.connection = connection
            try:
                yield
            finally:
                self._snapshot.connection = None
                connection.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that holds the write lock from its first statement (SQLite)."""
        from sqlmodel import Session

        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(db: str | None = None, *, create: bool = True) -> Store:
    """Open (and create or check) the database named by `db`, RUNS_TUI_DB or the default."""
    url = resolve_url(db)
    try:
        if url.startswith("sqlite"):
            _create_private(url, create)
            engine = sqlite_engine(url, busy_timeout_ms())
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"cannot open database {url!r}: {exc}") from exc
    store = Store(url, engine)
    try:
        _check_schema(store, create=create)
    except DBAPIError as exc:  # the driver's own words, without SQLAlchemy's SQL and links
        store.dispose()
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        raise StoreError(f"cannot open database {store.display_url!r}: {reason}") from exc
    except SQLAlchemyError as exc:
        store.dispose()
        raise StoreError(f"cannot use database {store.display_url!r}: {exc}") from exc
    except StoreError:  # refused: newer, foreign, or no copy before an upgrade
        store.dispose()
        raise
    if store.is_sqlite:
        store.dispose()
        store = Store(url, sqlite_engine(_never_create(url), busy_timeout_ms()))
        _optimize(store)
    return store


def _optimize(store: Store) -> None:
    """Let SQLite gather the statistics its planner wants, as its documentation asks of a
    long-lived connection (a sampled ANALYZE of what changed a lot: milliseconds at a
    million runs). The queries are written to keep their plans with statistics present
    (query.where_clause). A database this process cannot write, or that a writer holds
    just now, keeps what it has: this never waits."""
    with suppress(SQLAlchemyError), store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA busy_timeout=0")  # this connection only:
        try:
            connection.exec_driver_sql("PRAGMA analysis_limit=400")
            connection.exec_driver_sql("PRAGMA optimize=0x10002")
            connection.commit()
        finally:
            connection.invalidate()  # closed, not kept for others with no busy timeout


def _create_private(url: str, create: bool) -> None:
    """A SQLite file runs-tui creates is the user's alone (0600; SQLite gives its -wal and
    -shm files the same mode): runs hold parameters and logs. One that exists is left
    as it is."""
    path = make_url(url).database
    if create and path and path != ":memory:" and not path.startswith("file:"):
        try:
            create_private_file(Path(path))
        except OSError as exc:
            raise StoreError(f"cannot create database {path!r}: {exc.strerror or exc}") from exc


def _never_create(url: str) -> str:
    """The same SQLite file opened read-write only: if it vanishes (an unmounted disk, a
    moved file) later connections fail loudly instead of creating an empty database."""
    path = make_url(url).database or ""
    return f"sqlite:///file:{quote(path)}?mode=rw&uri=true"


@dataclass(frozen=True)
class _Schema:
    """What a database holds, read with plain queries (Alembic is imported only when an
    upgrade is due): its tables, `meta.schema_version` (0 when not recorded) and its
    Alembic revision (None before Alembic)."""

    tables: frozenset[str]
    meta: int
    revision: str | None

    @property
    def current(self) -> bool:
        return self.revision == migrations.head()

    @property
    def label(self) -> str:
        """Its schema in a backup file's name: the revision, else the pre-Alembic version."""
        return self.revision or f"schema{self.meta}"


def _check_schema(store: Store, *, create: bool) -> None:
    """Create a new database, or upgrade an older one in place (Alembic revisions up to
    the newest; a SQLite file is first copied next to itself), under a lock that makes
    concurrent openers upgrade once. A newer database and a foreign one are refused
    untouched."""
    with store.connect() as connection:
        found = _found_schema(store, connection)
    if found.current:
        return
    if not found.tables and not create:
        raise StoreError(f"database {store.display_url!r} has no runs-tui tables")
    with store._write_engine.begin() as connection:
        if not store.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(7355608)"))
        found = _found_schema(store, connection)
        if found.current:
            return  # another process created or upgraded it while we waited for the lock
        copy = store.is_sqlite and bool(found.tables)
        backup = _backup_sqlite(connection, found.label) if copy else None
        from runs_tui.core.migrations.upgrade import upgrade

        upgrade(connection)
    if found.tables:
        log.info(
            "database %s upgraded from %s to %s%s",
            store.display_url,
            found.label,
            migrations.head(),
            f"; its earlier state is in {backup}" if backup else "",
        )


def copy_sqlite(source: Path, target: Path, mode: int = 0o600) -> None:
    """A consistent copy of the SQLite file `source` (WAL included) into the new file
    `target`, made with `mode`, through SQLite's backup API from a read-only connection."""
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode))
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _backup_sqlite(connection: Connection, label: str) -> Path | None:
    """Copy a SQLite file about to be upgraded to `<file>.backup-<label>` beside it, with
    its mode, through SQLite's backup API (a consistent copy, WAL included). `connection`
    holds the write lock and has written nothing: a second, read-only connection copies
    exactly what the upgrade starts from (SQLite cannot copy through a connection in a
    write transaction). An in-memory database has no copy. A copy that cannot be made
    stops the upgrade."""
    name = connection.exec_driver_sql(
        "SELECT file FROM pragma_database_list WHERE name = 'main'"
    ).scalar()
    if not name:
        return None
    path = Path(name)
    target = path.with_name(f"{path.name}.backup-{label}")
    partial = target.with_name(f"{target.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        copy_sqlite(path, partial, path.stat().st_mode & 0o777)
        partial.replace(target)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(
            f"cannot upgrade database {str(path)!r}: its copy {str(target)!r} could not be "
            f"made first ({getattr(exc, 'strerror', None) or exc}); nothing was changed"
        ) from exc
    return target


def _found_schema(store: Store, connection: Connection) -> _Schema:
    """The database's schema. Refuses a database of something else and a newer one (a
    revision this runs-tui does not have, or a pre-Alembic version above the last)."""
    tables = frozenset(store.engine.dialect.get_table_names(connection))
    if not tables:
        return _Schema(tables, 0, None)
    if "meta" not in tables:
        raise StoreError(
            f"database {store.display_url!r} is not a runs-tui database "
            f"(it has other tables: {', '.join(sorted(tables)[:5])})"
        )
    value = connection.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    meta = int(value) if value is not None else 0
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if meta > models.SCHEMA_VERSION:
        _refuse_newer(store, str(meta), str(models.SCHEMA_VERSION))
    if revision is not None and revision not in migrations.revisions():
        _refuse_newer(store, revision, migrations.head())
    return _Schema(tables, meta, revision)


def _refuse_newer(store: Store, found: str, known: str) -> NoReturn:
    raise StoreError(
        f"database {store.display_url!r} has schema version {found}, newer than "
        f"this runs-tui understands ({known}); upgrade runs-tui"
    )
