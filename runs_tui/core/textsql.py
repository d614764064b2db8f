"""Text in SQL the same way on SQLite and PostgreSQL: ASCII-only case folding and
code-point order, and the free-text search built on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, exists, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement as ColumnExpr
from sqlalchemy.sql.functions import FunctionElement

from runs_tui.core.models import PARAM, RUN, TAG


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as SQLite's lower() does."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class CodePoint(FunctionElement[str]):
    """Text that compares by code point: COLLATE "C" on PostgreSQL (inside min(), where
    `_text()` outside it would come too late), as it is on SQLite."""

    type = String()
    name = "code_point"
    inherit_cache = True


@compiles(CodePoint)
def _code_point_sql(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(CodePoint, "postgresql")
def _code_point_pg(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


class AsciiLower(FunctionElement[str]):
    """lower() of ASCII letters only on every database: PostgreSQL's lower() also folds
    "É" to "é", and a search for "É" then found nothing there."""

    type = String()
    name = "lower"
    inherit_cache = True


@compiles(AsciiLower)
def _ascii_lower_sql(element: AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(AsciiLower, "postgresql")
def _ascii_lower_pg(element: AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"translate({compiler.process(element.clauses, **kw)}, '{upper}', '{upper.lower()}')"


def search_clause(text: str) -> ColumnElement[bool]:
    needle = text.strip()
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{ascii_lower(escaped)}%"

    def like(expr: ColumnExpr[Any]) -> ColumnElement[bool]:
        return AsciiLower(expr).like(pattern, escape="\\")

    parts = [
        like(RUN.c.name),
        like(RUN.c.user),
        exists().where(TAG.c.run_id == RUN.c.id, like(TAG.c.tag)),
        exists().where(PARAM.c.run_id == RUN.c.id, like(PARAM.c.value)),
    ]
    number = run_number(needle.removeprefix("#"))
    if number is not None:
        parts.append(RUN.c.number == number)
    return or_(*parts)


def run_number(digits: str) -> int | None:
    """`digits` as a run number: ASCII digits only (int() refuses "²"), and small enough
    for a 64-bit SQL integer (a larger one would fail to bind and is no run's number)."""
    if digits.isascii() and digits.isdigit() and int(digits) < 2**63:
        return int(digits)
    return None
