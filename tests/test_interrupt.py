"""A superseded query is stopped in the database, not left running beside its successor:
on SQLite (interrupt) and PostgreSQL (cancel), and from the table when the user asks for
something else while a slow load runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from support import wait_for
from ui_support import SIZE, make_app, settle, table

from runs_tui.core import ops
from runs_tui.core.db import Store, open_store
from runs_tui.core.records import RunQuery, RunRow, SortKey
from runs_tui.core.source import SourceError
from runs_tui.sources.sql import SqlSource

SLOW = {  # statements that run for minutes unless stopped
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(300)",
}


def _stopped_in_time(store: Store) -> str:
    """Run the slow statement in a thread, interrupt it from here; what it raised."""
    source = SqlSource(store)
    raised: list[BaseException] = []
    started = threading.Event()
    ident: list[int] = []

    def slow() -> None:
        ident.append(threading.get_ident())
        try:
            with store.read() as session:
                started.set()
                session.execute(text(SLOW[store.engine.dialect.name])).scalar()
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=slow, daemon=True)
    worker.start()
    assert started.wait(30)
    time.sleep(0.3)  # inside the statement
    wait_for(lambda: source.interrupt(ident[0]) is None and raised, 30, "the statement to stop")
    worker.join(30)
    assert not worker.is_alive()
    return str(raised[0])


def test_sqlite_statement_is_interrupted(store: Store):
    assert "interrupted" in _stopped_in_time(store)


@pytest.mark.postgres
def test_postgresql_statement_is_cancelled(pg_url: str):
    store = open_store(pg_url)
    try:
        assert "canceling statement" in _stopped_in_time(store)
    finally:
        store.dispose()


class SlowFirstWindow(SqlSource):
    """The real source, whose first window is a statement that runs until stopped."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.slow_ended: list[str] = []
        self.slow = True

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        if self.slow:
            self.slow = False
            try:
                with self.store.read() as session:
                    session.execute(text(SLOW["sqlite"])).scalar()
            except Exception as exc:
                self.slow_ended.append(str(exc))
                raise SourceError(str(exc)) from None
        return super().window(q, offset, limit)


async def test_a_new_sort_stops_the_slow_load_it_supersedes(
    store: Store, simple: str, db_path: Path
):
    ids = [ops.new_run(store, simple).id for _ in range(3)]
    source = SlowFirstWindow(store)
    app = make_app(store, source=source, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)  # the first load is stuck in its statement
        assert not source.slow_ended
        screen = app.screen
        screen.apply_view(screen.view.with_(sort=(SortKey("run"),)))  # type: ignore[attr-defined]
        await settle(pilot)
        assert source.slow_ended and "interrupted" in source.slow_ended[0]
        assert sorted(table(pilot).order) == sorted(ids)
        assert not screen.query_one("#banner").display, "no error shown for a stopped query"  # type: ignore[attr-defined]
