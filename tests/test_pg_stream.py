"""`core.pg_stream` hands psycopg the statement SQLAlchemy's own execution would send:
lists expanded and every value through its type's bind processor (checked on a type
whose processor shows in the value, inside and outside an IN list)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, TypeDecorator, column, select, table
from sqlalchemy.dialects.postgresql import psycopg

from runs_tui.core.pg_stream import sent


class Shouted(TypeDecorator[str]):
    """A type whose bind processor is seen in the values sent."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else str(value).upper()


def test_every_value_goes_through_its_processor_and_lists_are_expanded():
    t = table("t", column("a", Integer), column("b", Shouted()))
    stmt = select(t).where(t.c.a.in_([1, 2]), t.c.b == "x", t.c.b.in_(["y", "z"]))
    sql, values = sent(stmt, psycopg.dialect())
    assert sorted(v for v in values.values() if isinstance(v, str)) == ["X", "Y", "Z"]
    assert sorted(v for v in values.values() if isinstance(v, int)) == [1, 2]
    assert len(values) == 5 and all(f"%({name})s" in sql for name in values)
