"""Export values made by the database (`core.cells`) equal those made in Python from the
run's row (`fmt.record_value`): random runs of test_query_props, with times at the
edges of a second (where a rounding that is not datetime's would show), on SQLite and
PostgreSQL."""

from __future__ import annotations

import math
import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Float, MetaData, Table, select
from support import props
from test_query_props import AT, SORT_COLUMNS, R, datasets, insert

from runs_tui.core import rows
from runs_tui.core.cells import IsoTime, load_records
from runs_tui.core.columns import parse_column
from runs_tui.core.db import Store, open_store
from runs_tui.core.export import records_of
from runs_tui.core.fmt import iso
from runs_tui.core.rows import load_rows

COLUMNS = [parse_column(spec) for spec in SORT_COLUMNS]
FRACTIONS = (0.9999995, 0.9999994999, 0.99999, 0.9995, 0.5, 5e-7, -5e-7, -0.5, -0.99999)
edge_times = st.one_of(
    st.floats(-2e9, 4e9, allow_nan=False),
    st.builds(lambda s, f: s + f, st.integers(-(10**9), 4 * 10**9), st.sampled_from(FRACTIONS)),
)


@st.composite
def runs_with_edge_times(draw: st.DrawFn) -> list[R]:
    runs = draw(datasets())
    for r in runs:
        r.updated = draw(edge_times)
        r.started = draw(st.none() | edge_times)
    return runs


def check(store: Store, runs: list[R]) -> None:
    insert(store, runs)
    ids = [r.id for r in runs]
    got = load_records(store, ids, COLUMNS, AT)
    want = [rec for page in records_of(load_rows(store, ids), COLUMNS, AT, 1000) for rec in page]
    assert got == want


@props(60)
@given(runs=runs_with_edge_times())
def test_records_made_by_sqlite_equal_the_rows_values(store: Store, runs: list[R]) -> None:
    check(store, runs)


@pytest.mark.postgres
@props(30)
@given(runs=runs_with_edge_times())
def test_records_made_by_postgres_equal_the_rows_values(pg_url: str, runs: list[R]) -> None:
    store = open_store(pg_url)
    try:
        check(store, runs)
    finally:
        store.dispose()


def test_without_json_functions_ids_are_bound_one_by_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQLite built without JSON functions (an option before 3.38) loads the same."""
    runs = [R(i, 1, i, "", "1", "failed", "u", "q", None, 1.5e9, None, False) for i in (1, 2, 3)]
    insert(store, runs)
    with_json = load_records(store, [3, 1], COLUMNS, AT)
    monkeypatch.setattr(rows, "_json_each", lambda: False)
    assert load_records(store, [3, 1], COLUMNS, AT) == with_json
    assert [r.id for r in load_rows(store, [3, 1, 2])] == [3, 1, 2]


def second_probes(n: int) -> list[float]:
    """Times where the database's second could differ from Python's: random ones, a few
    ulps around both rounding edges (x.9999995 and -0.0000005 past a whole second) on
    either side of 0, and random bit patterns; each one Python can write (years 1 to
    9999)."""
    rnd = random.Random(5)
    out = [rnd.uniform(-2.2e9, 4.2e9) for _ in range(n)]
    out += [rnd.uniform(-6.2e10, 2.5e11) for _ in range(n)]
    for _ in range(n // 8):
        whole = rnd.choice([rnd.randint(-(10**9), 4 * 10**9), rnd.randint(-3, 3)])
        for edge in (0.9999995, -0.0000005, 0.5, -0.5):
            x = whole + edge
            for _ in range(4):
                out += [x, -x]
                x = math.nextafter(x, math.inf)
            x = whole + edge
            for _ in range(4):
                x = math.nextafter(x, -math.inf)
                out += [x, -x]
    while len(out) < 4 * n:
        x = struct.unpack("<d", rnd.randbytes(8))[0]
        if math.isfinite(x) and -6.2e10 < x < 2.5e11:
            out += [x, -x]
    return out


def test_iso_times_made_by_the_database_are_pythons(any_store: Store) -> None:
    """`IsoTime`'s second (one CASE on the sign) is the one `datetime.fromtimestamp`
    rounds to, then written as `fmt.iso` writes it."""
    probes = Table("iso_probe", MetaData(), Column("t", Float(53)))
    probes.create(any_store.engine)
    with any_store.engine.begin() as connection:
        connection.execute(probes.insert(), [{"t": t} for t in second_probes(8000)])
        got = connection.execute(select(probes.c.t, IsoTime(probes.c.t))).all()
    assert len(got) >= 32000
    assert [text for _, text in got] == [iso(t) for t, _ in got]
