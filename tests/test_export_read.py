"""How an export reads its one statement (`core.cells`): SQLite's cursor rows as they
come, PostgreSQL's rows in chunks (`core.pg_stream`), or its server-side cursor where
the driver has no chunks: the same file either way. However the reading ends (a reader
that stops, an error while a page is made, an interrupt) the statement ends with it: no
hang, a SourceError for the interrupt, and the source answers afterwards."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from test_export_stream import COLUMNS, seed

from runs_tui.core import cells, export, pg_stream
from runs_tui.core.columns import parse_columns
from runs_tui.core.records import RangeFilter, RunQuery, SortKey, TagFilter, ValueFilter
from runs_tui.core.source import SourceError
from runs_tui.sources import open_source
from runs_tui.sources.sql import SqlSource

Q = RunQuery(None, sort=(SortKey("m:loss/val:last"),), at=1.75e9)


def opened(url: str, pipeline_file: Path, request: pytest.FixtureRequest) -> SqlSource:
    source = open_source(url)
    assert isinstance(source, SqlSource)
    request.addfinalizer(source.close)
    seed(source.store, pipeline_file)
    return source


@pytest.fixture(params=["sqlite", "postgresql"])
def source(request: pytest.FixtureRequest, tmp_path: Path, pipeline_file: Path) -> SqlSource:
    url = (
        str(tmp_path / "read.db")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    return opened(url, pipeline_file, request)


@pytest.fixture
def pg_source(request: pytest.FixtureRequest, pg_url: str, pipeline_file: Path) -> SqlSource:
    return opened(pg_url, pipeline_file, request)


def bounded(fn: Callable[[], Any], timeout: float = 60) -> BaseException | None:
    """Run `fn` in a thread; what it raised (None if nothing). Fails if it hangs."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "the export hung"
    return raised[0] if raised else None


def csv_of(source: SqlSource, q: RunQuery = Q) -> str:
    out = io.StringIO()
    export.write(source, q, parse_columns(COLUMNS), "csv", out, with_pipeline=True)
    return out.getvalue()


class Held:
    """How many connections of the source's engine are out of its pool just now."""

    def __init__(self, source: SqlSource) -> None:
        self.out = 0
        event.listen(source.store.engine, "checkout", lambda *a: self.change(1))
        event.listen(source.store.engine, "checkin", lambda *a: self.change(-1))

    def change(self, by: int) -> None:
        self.out += by


def answers(source: SqlSource) -> None:
    assert source.count(Q) == 54  # the 60 runs seeded, 6 archived


@pytest.mark.postgres
def test_the_chunked_stream_and_the_server_cursor_write_the_same_file(
    pg_source: SqlSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filters too: every list bound as values, each through its type (SQLAlchemy's
    execution for the cursor, `pg_stream` for the stream)."""
    cursors: list[type] = []  # the export's statement's (a search may ask how first)
    on_statement = lambda *a: "ORDER BY" in a[2] and cursors.append(type(a[1]))  # noqa: E731
    event.listen(pg_source.store.engine, "before_cursor_execute", on_statement)
    filtered = Q.with_(
        filters=(
            ValueFilter("status", frozenset({"pending", "completed"})),
            RangeFilter("m:loss/val:last", lo=0.05),
        ),
        tags=TagFilter(frozenset({"x; y", "é", "Z"}), frozenset({"b"})),
        search="a",
    )
    chunked = [csv_of(pg_source, q) for q in (Q, filtered)]
    monkeypatch.setattr(pg_stream, "streams", lambda connection: False)  # psycopg2, libpq 16
    assert [csv_of(pg_source, q) for q in (Q, filtered)] == chunked
    assert cursors == [psycopg.Cursor] * 2 + [psycopg.ServerCursor] * 2
    assert "'=cmd" in chunked[0] and "1e+300" in chunked[0]
    assert 3 < chunked[1].count("\n") < chunked[0].count("\n")


def test_a_reader_that_stops_early_ends_the_statement(source: SqlSource) -> None:
    held = Held(source)

    def first_page_only() -> None:
        pages = source.csv_records(Q, parse_columns(COLUMNS), 7, with_pipeline=True)
        assert len(next(pages)) == 7
        assert isinstance(pages, Generator)
        pages.close()

    assert bounded(first_page_only) is None
    answers(source)

    class Gone(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError("reader went away")

    for fmt in export.FORMATS:

        def write(fmt: str = fmt) -> None:
            export.write(source, Q, parse_columns(COLUMNS), fmt, Gone())

        stopped = bounded(write)
        assert isinstance(stopped, BrokenPipeError)
        assert held.out == 0  # at once, though the traceback still holds the pages
    answers(source)


def test_an_error_while_a_page_is_made_ends_the_statement_first(
    source: SqlSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a page is finished below the snapshot (a metric of 1e300 comes as
    text for Python to read): an error there, in the first of several pages, must not
    leave the stream holding the connection that the snapshot's rollback needs."""

    def broken(value: Any) -> Any:
        raise RuntimeError("injected")

    monkeypatch.setattr(cells, "written", broken)
    largest_first = RunQuery(None, sort=(SortKey("m:loss/val:last", True),), at=1.75e9)
    for with_pipeline in (True, False):  # 1e300 first, where the metric's cell is
        pages = source.csv_records(
            largest_first, parse_columns(COLUMNS), 7, with_pipeline=with_pipeline
        )
        raised = bounded(lambda pages=pages: list(pages))
        if source.store.is_sqlite:  # SQLite's numbers stay numbers: nothing to read
            assert raised is None
        else:
            assert isinstance(raised, RuntimeError)
        answers(source)


def test_an_interrupted_export_is_a_source_error(source: SqlSource) -> None:
    """The table's export flow stops a superseded export with `interrupt`: on SQLite
    between pages, on PostgreSQL while the statement waits for a lock."""
    me: list[int] = []
    blocker = None
    if not source.store.is_sqlite:
        blocker = create_engine(source.store.url).connect()
        blocker.execute(text("LOCK TABLE runtag IN ACCESS EXCLUSIVE MODE"))

    def export_interrupted() -> None:
        me.append(threading.get_ident())
        pages = source.csv_records(Q, parse_columns(COLUMNS), 7, with_pipeline=False)
        for i, _ in enumerate(pages):
            if i == 1:
                source.interrupt(me[0])

    if blocker is None:
        raised = bounded(export_interrupted)
    else:
        done: list[BaseException | None] = []
        worker = threading.Thread(target=lambda: done.append(bounded(export_interrupted)))
        worker.start()
        waiting = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(300):
            if blocker.execute(text(waiting)).scalar():
                break
            threading.Event().wait(0.1)
        source.interrupt(me[0])
        worker.join(60)
        blocker.rollback()
        blocker.close()
        raised = done[0]
    assert isinstance(raised, SourceError), raised
    assert "interrupt" in str(raised) or "canceling statement" in str(raised)
    answers(source)
