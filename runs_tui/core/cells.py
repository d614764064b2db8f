"""Export values made by the database: the records `SqlSource.records` and
`SqlSource.csv_records` give an export, each run's values as `fmt.record_value` makes
them from a RunRow, but computed in the query (ISO times, state labels, run times, tags
sorted and joined, one metric summary or parameter each), so that Python only carries
them to the writer.

An export is one statement: the query's runs in its order (`query.order_terms`, missing
values last), read `page` rows at a time as the database makes them. No page queries,
no id lists, no second query for tags; only the tables the columns name are read. The
database sorts the whole result once, as its own client would: a window's index walks
(`query.segments`) would read the runs in the order of a metric's index instead, one
random lookup each.

`tests/test_cells.py` holds them equal to `fmt.record_value` on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, String, and_, case, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from runs_tui.core.clauses import pipeline_name_sql, run_time_sql
from runs_tui.core.columns import Column
from runs_tui.core.db import Store
from runs_tui.core.export import TAG_SEP
from runs_tui.core.float_text import MARK, FloatText, written
from runs_tui.core.fmt import LABELS
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.query import order_clauses, order_terms, store_where
from runs_tui.core.records import RunQuery
from runs_tui.core.rows import bound_ids, id_in
from runs_tui.core.status import ACTIVE, Status

Pages = Generator[Sequence[Sequence[Any]], None, None]  # rows a page, closed when left
# The state labels' CASE tries the ended states first, where most of a large export's
# runs are: one test a run, not three (about 0.01 s at 100,000 runs on SQLite).
ENDED_FIRST = dict(sorted(LABELS.items(), key=lambda label: label[0] in ACTIVE))


class IsoTime(FunctionElement[str]):
    """Epoch seconds as `fmt.iso` writes them: ISO 8601 in UTC, to the second. The second
    is the one `datetime.fromtimestamp` finds: the fraction (t - trunc(t), exact) times a
    million, rounded half-even, carries into the next second from 999999.5 on and takes
    one off below -0.5; the same double arithmetic in the database gives the same second.
    Then the database writes that whole second."""

    type = String()
    name = "iso_time"
    inherit_cache = True


def _second(t: str, trunc: str, as_int: str) -> str:
    """One CASE on the sign: a fraction from a truncation is never below 0 for t >= 0
    nor above 0 for t < 0, so each side tests its one edge (0.01 s fewer at 100,000 runs
    than both tests on every value)."""
    frac = f"(({t}) - {trunc}) * 1000000.0"
    up, down = as_int.format(f"{frac} >= 999999.5"), as_int.format(f"{frac} < -0.5")
    return f"(CASE WHEN ({t}) < 0 THEN {trunc} - {down} ELSE {trunc} + {up} END)"


@compiles(IsoTime)
def _iso_sqlite(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    t = compiler.process(element.clauses, **kw)
    second = _second(t, f"CAST(({t}) AS INTEGER)", "({})")
    return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {second}, 'unixepoch')"


@compiles(IsoTime, "postgresql")
def _iso_pg(element: IsoTime, compiler: SQLCompiler, **kw: Any) -> str:
    t = compiler.process(element.clauses, **kw)
    second = _second(t, f"trunc(({t})::float8)", "({})::int")
    return (
        f"to_char(to_timestamp({second}) AT TIME ZONE 'UTC', "
        """'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""
    )


class CsvCell(FunctionElement[Any]):
    """A CSV record's value, a missing one as '' (csv.writer writes None and '' alike):
    a page without None can be joined as it is (`export._write_csv`). On PostgreSQL as
    text: its text of an integer or a text is Python's (floats are `FloatText` first)."""

    name = "csv_cell"
    inherit_cache = True


@compiles(CsvCell)
def _csv_cell_sqlite(element: CsvCell, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ifnull({compiler.process(element.clauses, **kw)}, '')"


@compiles(CsvCell, "postgresql")
def _csv_cell_pg(element: CsvCell, compiler: SQLCompiler, **kw: Any) -> str:
    return f"coalesce(({compiler.process(element.clauses, **kw)})::text, '')"


class TagText(FunctionElement[str]):
    """A run's tags, sorted by code point and joined by "; " as a CSV cell shows them;
    NULL for none."""

    type = String()
    name = "tag_text"
    inherit_cache = True


class TagList(FunctionElement[Any]):
    """A run's tags, sorted by code point, for a tuple (`_records`): joined by NUL on
    SQLite (no tag holds one: `ops` refuses it), an array on PostgreSQL; NULL for none."""

    name = "tag_list"
    inherit_cache = True


_TAG, _OF_RUN = TAG.c.tag.name, f"{TAG.name}.{TAG.c.run_id.name}"


def _tags_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, sep: str, **kw: Any) -> str:
    """group_concat in the order of an ordered subquery (SQLite 3.40 has no ORDER BY in
    an aggregate); BINARY collation orders UTF-8 bytes, that is code points."""
    run_id = compiler.process(element.clauses, **kw)
    tags = f"SELECT {_TAG} FROM {TAG.name} WHERE {_OF_RUN} = {run_id} ORDER BY 1"
    return f"(SELECT group_concat({_TAG}, {sep}) FROM ({tags}))"


def _tags_pg(element: FunctionElement[Any], compiler: SQLCompiler, agg: str, **kw: Any) -> str:
    """`agg` (an aggregate call left open for its ORDER BY) over the tags ordered by code
    point: the "C" collation compares UTF-8 bytes."""
    run_id = compiler.process(element.clauses, **kw)
    return f'(SELECT {agg} ORDER BY {_TAG} COLLATE "C") FROM {TAG.name} WHERE {_OF_RUN} = {run_id})'


@compiles(TagText)
def _tag_text_sqlite(element: TagText, compiler: SQLCompiler, **kw: Any) -> str:
    return _tags_sqlite(element, compiler, f"'{TAG_SEP}'", **kw)


@compiles(TagText, "postgresql")
def _tag_text_pg(element: TagText, compiler: SQLCompiler, **kw: Any) -> str:
    return _tags_pg(element, compiler, f"string_agg({_TAG}, '{TAG_SEP}'", **kw)


@compiles(TagList)
def _tag_list_sqlite(element: TagList, compiler: SQLCompiler, **kw: Any) -> str:
    return _tags_sqlite(element, compiler, "char(0)", **kw)


@compiles(TagList, "postgresql")
def _tag_list_pg(element: TagList, compiler: SQLCompiler, **kw: Any) -> str:
    return _tags_pg(element, compiler, f"array_agg({_TAG}", **kw)


def records(
    store: Store, q: RunQuery, columns: Sequence[Column], page: int
) -> Iterator[list[list[Any]]]:
    """`RunSource.records`: the query's runs in its order, `page` at a time, each a
    list: the pipeline's name, the id, then each column's value, tags as a tuple. `q.at`
    must be set (run_time's clock). Inside `Store.snapshot()` (one statement, in any
    case), each run exactly once while runs change."""
    tag_cells = _tag_cells(columns)
    pages = _pages(store, q, columns, page, for_csv=False, with_pipeline=True)
    return (_records(rows, tag_cells) for rows in pages)


def csv_records(
    store: Store, q: RunQuery, columns: Sequence[Column], page: int, *, with_pipeline: bool
) -> Iterator[Sequence[Sequence[Any]]]:
    """`RunSource.csv_records`: as `records` (without the pipeline's name unless
    `with_pipeline`: the statement then leaves it out), with tags as CSV text (sorted,
    joined by "; "), no value as '' (`CsvCell`) and, on PostgreSQL, metric values and run
    times as the text csv.writer would write for them (`FloatText`); each record the
    database's row as it comes."""
    return _pages(store, q, columns, page, for_csv=True, with_pipeline=with_pipeline)


def _pages(
    store: Store,
    q: RunQuery,
    columns: Sequence[Column],
    page: int,
    *,
    for_csv: bool,
    with_pipeline: bool,
) -> Iterator[Sequence[Sequence[Any]]]:
    if q.at is None:
        raise ValueError("an export's query needs its clock (at)")
    runs = select(RUN.c.id).select_from(RUN).where(store_where(store, q))
    joins: dict[Any, Any] = {}
    stmt, terms = order_terms(runs, q.sort, store, q.at, joins=joins)
    cells = _select(stmt, columns, q.at, for_csv, joins, with_pipeline=with_pipeline)
    ordered = cells.order_by(*order_clauses(terms))
    with store.connect() as connection, _driver_errors(connection):
        read: Callable[[Connection, Select[Any], int], Pages] = _cursor_pages
        if not store.is_sqlite:
            from runs_tui.core.pg_stream import chunked_pages, streams

            read = chunked_pages if streams(connection) else _server_cursor_pages
        # closing(): however the reading stops (an error above it, ^C), the statement
        # ends before its connection is used again (psycopg's stream holds it locked).
        with closing(read(connection, ordered, page)) as pages:
            if for_csv and not store.is_sqlite:
                yield from _floats_written(pages, _float_cells(columns, 1 + with_pipeline))
            else:
                yield from pages


def _float_cells(columns: Sequence[Column], first: int) -> list[int]:
    """Where a record whose columns start at `first` holds a `FloatText`."""
    return [
        i
        for i, c in enumerate(columns, first)
        if (c.is_metric and not c.is_step) or c.spec == "run_time"
    ]


def _floats_written(
    pages: Iterable[Sequence[Sequence[Any]]], cells: Sequence[int]
) -> Iterator[Sequence[Sequence[Any]]]:
    """Each FloatText value as csv.writer takes it (`float_text.written`). A page whose
    float columns hold no marked value (one search of each column's text) is as it was."""
    for rows in pages:
        marked = [i for i in cells if MARK in "".join(filter(None, [r[i] for r in rows]))]
        if not marked:
            yield rows
            continue
        made = [list(row) for row in rows]
        for row in made:
            for i in marked:
                row[i] = written(row[i])
        yield made


def _cursor_pages(connection: Connection, stmt: Select[Any], page: int) -> Pages:
    """SQLite: the driver's rows as its cursor makes them (tuples: no SQLAlchemy row
    object each, 0.03 s at 100,000 runs; no column here has a result processor)."""
    with connection.execute(stmt) as result:
        cursor = result.cursor
        while rows := cursor.fetchmany(page):
            yield rows


def _server_cursor_pages(connection: Connection, stmt: Select[Any], page: int) -> Pages:
    """PostgreSQL without chunked results (`pg_stream.streams`): a server-side cursor,
    `page` rows a fetch (the query runs without parallel workers there)."""
    options = {"stream_results": True, "max_row_buffer": page}
    with connection.execute(stmt, execution_options=options) as result:
        while rows := result.fetchmany(page):
            yield rows


@contextmanager
def _driver_errors(connection: Connection) -> Iterator[None]:
    """The driver's errors, raised where SQLAlchemy does not see them (its cursor read
    directly), wrapped as SQLAlchemy wraps them: what `SqlSource` turns into SourceError."""
    dbapi_error: type[Exception] = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi_error) from exc


def load_records(
    store: Store, run_ids: Sequence[int], columns: Sequence[Column], at: float
) -> list[list[Any]]:
    """The records of known runs, in the order of `run_ids` (ids gone are left out), as
    `records` makes them."""
    if not run_ids:
        return []
    runs = select(RUN.c.id).select_from(RUN).where(id_in(store)(RUN.c.id))
    with store.connect() as connection:
        rows = connection.execute(
            _select(runs, columns, at, for_csv=False), bound_ids(store, run_ids)
        )
        by_id = {record[1]: record for record in _records(rows, _tag_cells(columns))}
    return [by_id[i] for i in run_ids if i in by_id]


def _tag_cells(columns: Sequence[Column]) -> list[int]:
    return [i for i, c in enumerate(columns, 2) if c.spec == "tags"]


def _records(rows: Iterable[Sequence[Any]], tag_cells: Sequence[int]) -> list[list[Any]]:
    """Rows as lists, each tags cell a tuple."""
    records = [list(row) for row in rows]
    for i in tag_cells:
        for record in records:
            tags = record[i]
            record[i] = tuple(tags.split("\0") if isinstance(tags, str) else tags or ())
    return records


def _select(
    stmt: Select[Any],
    columns: Sequence[Column],
    at: float,
    for_csv: bool,
    tables: dict[Any, Any] | None = None,
    *,
    with_pipeline: bool = True,
) -> Select[Any]:
    """`stmt`, a select of runs (with what its order joins: `tables`, by series or
    parameter, as `order_terms` gives them), selecting instead the pipeline's name
    (`with_pipeline`), the id and each column's value, with what they need joined (once
    a series or parameter, however many columns show it, the sort's join included)."""
    heads: list[ColumnElement[Any]] = [RUN.c.id]
    if with_pipeline:
        stmt = stmt.join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
        heads.insert(0, PIPELINE.c.name)
    tables = {} if tables is None else tables
    cells: list[ColumnElement[Any]] = []
    for column in columns:
        cell, stmt = _cell(column, at, stmt, tables, for_csv)
        cells.append(CsvCell(cell) if for_csv else cell)
    return stmt.with_only_columns(*heads, *cells)


def _cell(
    column: Column, at: float, stmt: Select[Any], tables: dict[Any, Any], for_csv: bool
) -> tuple[ColumnElement[Any], Select[Any]]:
    """The column's value as SQL (`for_csv`: as CSV writes it, where the database can
    make that text), and `stmt` with what it needs joined."""
    if column.is_metric:
        key = (column.title, column.series)
        if key not in tables:
            m = METRIC.alias(f"mr{len(tables)}")
            on = and_(m.c.run_id == RUN.c.id, m.c.title == key[0], m.c.series == key[1])
            stmt, tables[key] = stmt.outerjoin(m, on), m
        value = tables[key].c[column.metric_field]
        return (FloatText(value) if for_csv and not column.is_step else value), stmt
    if column.is_param:
        if column.name not in tables:
            p = PARAM.alias(f"pr{len(tables)}")
            on = and_(p.c.run_id == RUN.c.id, p.c.key == column.name)
            stmt, tables[column.name] = stmt.outerjoin(p, on), p
        return tables[column.name].c.value, stmt
    if column.name == "tags":
        return (TagText(RUN.c.id) if for_csv else TagList(RUN.c.id)), stmt
    value = _builtin(column.name, at)
    return (FloatText(value) if for_csv and column.name == "run_time" else value), stmt


def _builtin(name: str, at: float) -> ColumnElement[Any]:
    if name == "run":
        return RUN.c.number
    if name in ("started", "updated"):
        return IsoTime(RUN.c[name])
    if name == "status":
        return case(ENDED_FIRST, value=RUN.c.status, else_=RUN.c.status)
    if name == "run_time":
        return run_time_sql(at)
    if name == "pipeline":
        return pipeline_name_sql()
    if name == "reason":  # as RunRow.reason
        ended = RUN.c.status.in_([Status.FAILED.value, Status.ABORTED.value])
        return case((ended, func.nullif(RUN.c.status_message, "")), else_=None)
    return RUN.c[name]
