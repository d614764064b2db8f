"""A PostgreSQL export read as one plain statement whose rows arrive in chunks (libpq 17's
chunked rows mode, psycopg's `Cursor.stream(size=...)`), not through a server-side
cursor: PostgreSQL never gives a cursor's query parallel workers and plans it for its
first rows (`cursor_tuple_fraction`), where a plain statement is planned and run as
`psql` would run it. The client holds one chunk at a time, as with the cursor.

`cells` uses it when the driver can (`streams`); elsewhere (psycopg2, psycopg before
3.2, libpq before 17) it reads through the server-side cursor as before.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Dialect, Select


def streams(connection: Connection) -> bool:
    """Whether `connection`'s driver reads a result in chunks: psycopg 3.2 or later over
    libpq 17 or later."""
    if connection.dialect.driver != "psycopg":
        return False
    import psycopg

    capabilities = getattr(psycopg, "capabilities", None)  # psycopg 3.2 and later
    return capabilities is not None and bool(capabilities.has_stream_chunked())


def chunked_pages(
    connection: Connection, stmt: Select[Any], page: int
) -> Generator[Sequence[Sequence[Any]], None, None]:
    """`stmt`'s rows (tuples), `page` at a time, on `connection`'s transaction. The
    statement and its values are SQLAlchemy's, as its own execution makes them (the
    dialect's SQL, every list bound as separate values, each value through its type's
    bind processor); the driver's errors pass through (`cells` wraps them)."""
    sql, values = sent(stmt, connection.dialect)
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        # Who listens to the engine's statements (a log, a test) sees this one too.
        for listener in connection.dispatch.before_cursor_execute:
            sql, values = listener(connection, cursor, sql, values, None, False)
        # closing(): a reader that stops early (`ls | head`) cancels the statement and
        # leaves the connection ready for the rollback that ends the snapshot.
        with closing(cursor.stream(sql, values, size=page)) as rows:
            while chunk := list(islice(rows, page)):
                yield chunk


def sent(stmt: Select[Any], dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The SQL and values SQLAlchemy's own execution sends for `stmt`, from its public
    pieces: the SQL with every list expanded (`ExpandedState`, with the processors of the
    expanded values) and each other value through its type's bind processor."""
    compiled = stmt.compile(dialect=dialect)
    state = compiled.construct_expanded_state()
    processors = {name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()}
    processors.update(state.processors)
    values = {
        name: process(value) if (process := processors.get(name)) else value
        for name, value in state.parameters.items()
    }
    return state.statement, values
