"""Text in SQL the same way on SQLite and PostgreSQL: ASCII-only case folding and
code-point order, and the free-text search built on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    exists,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement as ColumnExpr
from sqlalchemy.sql.functions import FunctionElement

from runs_tui.core.models import PARAM, RUN, TAG
from runs_tui.core.records import PipelineId
from runs_tui.core.search_index import FTS, SEARCH, SEP, TRIGRAM, Kind


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


@dataclass(frozen=True)
class SearchWay:
    """How a query's search runs: with what the database has (`kind`), and on SQLite
    whether each run read in the window's order is tested (`walk`: a window of a needle
    many runs hold fills after a few hundred runs) or the matching runs are read from the
    index first (the default: a count, or a needle few runs hold)."""

    kind: Kind = Kind.NONE
    walk: bool = False
    few: bool = False  # the filters leave few runs: read them first, then sort them


NO_INDEX = SearchWay()  # the search of a database without `runsearch`: a scan


def fts_phrase(needle: str) -> str | None:
    """The FTS5 query of runs whose text holds `needle` (stripped, folded), or None when
    the trigram index cannot find it: shorter than 3 characters, or holding SEP."""
    if len(needle) < TRIGRAM or SEP in needle:
        return None
    return '"' + needle.replace('"', '""') + '"'


def search_clause(
    text: str, way: SearchWay = NO_INDEX, pipeline_id: PipelineId | None = None
) -> ColumnElement[bool]:
    """The runs `text` finds (see scan_clause), through `runsearch` when the database has
    it. `pipeline_id`, when the query has one, narrows the run-number look-up."""
    needle = text.strip()
    folded = ascii_lower(needle)
    if way.kind is Kind.NONE or SEP in folded:
        return scan_clause(text)
    number = run_number(needle.removeprefix("#"))
    if way.walk:
        held = holds(folded)
        return held if number is None else or_(held, numbered(RUN.c.number, number))
    found = matching_ids(folded, way.kind)
    if number is not None:  # inside the IN: PostgreSQL keeps it a semi-join on an index
        other = RUN.alias("numbered")
        by_number = select(other.c.id).where(numbered(other.c.number, number))
        if pipeline_id is not None:
            by_number = by_number.where(other.c.pipeline_id == pipeline_id)
        return RUN.c.id.in_(union_all(found, by_number))
    return RUN.c.id.in_(found)


def holds(folded: str, run_id: ColumnExpr[int] = RUN.c.id) -> ColumnElement[bool]:
    """The `runsearch` text of the run whose id is `run_id` holds `folded`: one row read
    by key, for a run already found another way (no index scan)."""
    own = select(SEARCH.c.text).where(SEARCH.c.run_id == run_id).scalar_subquery()
    return own.like(f"%{_like_escaped(folded)}%", escape="\\")


def matching_ids(folded: str, kind: Kind) -> Select[Any]:
    """The ids of the runs whose `runsearch` text holds `folded` (free of SEP): from the
    trigram index when it can find it, else by scanning the table."""
    phrase = fts_phrase(folded) if kind is Kind.FTS else None
    if phrase is not None:
        return select(FTS.c.rowid).where(FTS.c.runsearch_fts.match(phrase))
    pattern = f"%{_like_escaped(folded)}%"
    return select(SEARCH.c.run_id).where(SEARCH.c.text.like(pattern, escape="\\"))


def numbered(column: ColumnExpr[int], number: int) -> ColumnElement[bool]:
    """`column` equals `number`, bound as a 64-bit integer: PostgreSQL's integer columns
    (a run's number, its id) are 32 bits, and a larger value ("3000000000") bound as
    their type fails instead of matching nothing."""
    return column == literal(number, BigInteger())


def numbered_in(column: ColumnExpr[int], numbers: Sequence[int]) -> ColumnElement[bool]:
    """`column` is one of `numbers`, bound as 64-bit integers (as `numbered`): the
    column keeps its index, only the parameters' type changes."""
    return type_coerce(column, BigInteger()).in_(numbers)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scan_clause(text: str) -> ColumnElement[bool]:
    """What search means, without an index: a substring of the run's name, user, a tag or
    a parameter value, ASCII letters folded; digits (or `#digits`) also match the run
    number whole."""
    needle = text.strip()
    pattern = f"%{ascii_lower(_like_escaped(needle))}%"

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
        parts.append(numbered(RUN.c.number, number))
    return or_(*parts)


def run_number(digits: str) -> int | None:
    """`digits` as a run number: ASCII digits only (int() refuses "²"), and small enough
    for a 64-bit SQL integer (a larger one would fail to bind and is no run's number)."""
    if digits.isascii() and digits.isdigit() and int(digits) < 2**63:
        return int(digits)
    return None
