"""PostgreSQL's text of a double (`core.float_text.FloatText`) is what Python writes for
the float (`repr`, what csv.writer writes): every double, the notation's edges (1e15,
1e16, 1e-4, whole numbers, -0.0, nan, inf) and, with `extra_float_digits` below 1 (15
digits from the server), what Python writes for the float psycopg reads then. SQLite
keeps the number."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, Float, bindparam, create_engine, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from support import props

from runs_tui.core.float_text import FloatText, written

EDGES = [
    0.0,
    -0.0,
    1.0,
    -7.0,
    0.1,
    0.30000000000000004,
    1e15,
    -1e15,
    1e15 + 0.5,
    1e15 + 0.125,
    9999999999999998.0,
    -9999999999999998.0,
    1e16,
    1e16 + 2,
    123456789012345.67,
    999999999999999.9,
    999999999999999.875,
    2.0**50 + 0.5,
    6.482417351746974e16,  # PostgreSQL writes 6.4824173517469744e+16
    2.0**53,
    2.0**63,
    1e-4,
    9.999999999999999e-05,
    1.5e-7,
    5e-324,
    -1e-310,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
]
doubles = st.floats(allow_nan=True, allow_infinity=True)
edgy = st.one_of(
    st.floats(1e15, 1e16),
    st.floats(-1e16, -1e15),
    st.floats(1e-5, 1e-3),
    st.integers(-(2**62), 2**62).map(float),
    st.sampled_from(EDGES),
)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


def texts(engine: Engine, values: Sequence[float], digits: int = 1) -> list[tuple[float, str]]:
    """Each value as psycopg reads it back, and its FloatText as CSV writes it, with the
    session's extra_float_digits at `digits`."""
    unnest = func.unnest(bindparam("xs", list(values), ARRAY(Float)))
    xs = unnest.table_valued("x", with_ordinality="n").render_derived()
    stmt = select(xs.c.x, FloatText(xs.c.x)).order_by(xs.c.n)
    with engine.connect() as connection:
        connection.execute(text(f"SET extra_float_digits = {digits}"))
        return [(x, str(written(t))) for x, t in connection.execute(stmt)]


def same(a: float, b: float) -> bool:
    return repr(a) == repr(b)


@pytest.mark.postgres
def test_the_notations_edges_are_written_as_python_writes_them(pg: Engine) -> None:
    got = texts(pg, EDGES)
    assert [t for _, t in got] == [repr(v) for v in EDGES]
    assert "1000000000000000.5" in [t for _, t in got]


@pytest.mark.postgres
@props(300)
@given(values=st.lists(doubles | edgy, min_size=1, max_size=40))
def test_every_double_is_written_as_python_writes_it(pg: Engine, values: list[float]) -> None:
    got = texts(pg, values)
    assert all(same(x, v) for (x, _), v in zip(got, values, strict=True))  # read back exactly
    assert [t for _, t in got] == [repr(v) for v in values]


@pytest.mark.postgres
@props(60)
@given(
    # what psycopg can read at 15 digits (1.79769313486232e+308 it cannot)
    values=st.lists(edgy.filter(lambda v: not abs(v) > 1e307), min_size=1, max_size=40),
    digits=st.sampled_from([0, -3, -15, 2, 3]),
)
def test_with_fewer_digits_it_is_what_python_writes_for_what_psycopg_reads(
    pg: Engine, values: list[float], digits: int
) -> None:
    got = texts(pg, values, digits)
    assert [t for _, t in got] == [repr(x) for x, _ in got]


def test_sqlite_keeps_the_number() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        value = connection.execute(select(FloatText(literal(0.1, Float)))).scalar()
    assert value == 0.1 and isinstance(value, float)
