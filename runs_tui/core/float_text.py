"""A double as the text Python writes for it (`repr`, what csv.writer writes for a float),
made by PostgreSQL: a CSV export of metrics then carries text, not floats that Python
would format one by one (about 1 us each, a quarter of a metric export's time).

Below 1e15 PostgreSQL (12 and later) writes a double as its shortest round-trip digits,
the digits Python writes: there a midpoint between two doubles has more than 17
significant digits, so no shortest candidate sits on one, where PostgreSQL's Ryu and
Python's dtoa decide differently (6.482417351746974e+16: PostgreSQL writes one digit
more). Only the notation differs there: "NaN"/"Infinity" for nan/inf, no ".0" on a
whole number; with `extra_float_digits` below 1 the server writes fewer digits, and in
exponent notation sooner, and the text is what Python writes for the float psycopg
would read from it, as before. From 1e15, and for subnormal values (whose 15 digits
need not be exact), the value comes as PostgreSQL's text behind `MARK`, for `written`
to make a float of (rare: a metric or run time that large or that small).

SQLite has no shortest form (printf's %.17g is not repr), so there the value stays a
number and Python formats it. `tests/test_float_text.py` holds `written` equal to repr.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

MARK = "~"  # before the text of a value Python formats itself
TINY = "2.2250738585072014e-308"  # the least normal double: below, fewer digits are exact


class FloatText(FunctionElement[Any]):
    """A double's repr text where the database can make it (PostgreSQL), else the
    number itself (SQLite); NULL stays NULL. Read it through `written`."""

    type = String()
    name = "float_text"
    inherit_cache = True


def written(value: Any) -> Any:
    """A FloatText value as csv.writer takes it: text, a number, or None."""
    if isinstance(value, str) and value.startswith(MARK):
        return float(value[len(MARK) :])
    return value


@compiles(FloatText)
def _number(element: FloatText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(FloatText, "postgresql")
def _repr_pg(element: FloatText, compiler: SQLCompiler, **kw: Any) -> str:
    x = compiler.process(element.clauses, **kw)
    text = f"({x})::text"
    # d.ddde+N (fewer digits than the shortest: from 1e{digits}): Python writes the N + 1
    # digits of the whole part, then what digits are left, or 0. Below 1e-4 both write
    # the same exponent notation.
    exponent = f"split_part({text}, 'e', 2)::int"
    digits = f"replace(split_part(ltrim({text}, '-'), 'e', 1), '.', '')"
    fixed = (
        f"CASE WHEN {x} < 0 THEN '-' ELSE '' END || rpad({digits}, {exponent} + 1, '0') "
        f"|| '.' || coalesce(nullif(substr({digits}, {exponent} + 2), ''), '0')"
    )
    return (
        f"CASE WHEN {x} = 'NaN'::float8 THEN 'nan' "
        f"WHEN {x} = 'Infinity'::float8 THEN 'inf' "
        f"WHEN {x} = '-Infinity'::float8 THEN '-inf' "
        f"WHEN abs({x}) >= 1e15::float8 OR abs({x}) < {TINY}::float8 AND {x} <> 0 "
        f"THEN '{MARK}' || {text} "
        f"WHEN strpos({text}, 'e') = 0 THEN "
        f"CASE WHEN strpos({text}, '.') = 0 THEN {text} || '.0' ELSE {text} END "
        f"WHEN {exponent} >= 0 THEN {fixed} "
        f"ELSE {text} END"
    )
