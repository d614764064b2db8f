"""Writing every run of a query (not only a loaded window) as CSV or JSON.

Both are safe to print: JSON escapes control characters, CSV cells have them made
visible, and a CSV cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
starts with `'` instead."""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import attrgetter, itemgetter
from typing import IO, Any, TypeVar

from runs_tui.core.columns import Column
from runs_tui.core.fmt import param_number, record_value
from runs_tui.core.records import RunQuery, RunRow
from runs_tui.core.source import RunSource
from runs_tui.core.text import is_clean, lines

FORMATS = ("csv", "json")
PAGE = 1000
TAG_SEP = "; "  # between a run's tags in a CSV cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: lists joined, text made safe and never a formula."""
    if isinstance(value, list):
        value = TAG_SEP.join(value)
    if isinstance(value, str):
        if not is_clean(value):
            value = lines(value)
        if value.startswith(FORMULA_STARTS):
            value = "'" + value
    return value


# Columns whose record values are numbers or ISO times: nothing to make safe. A state's
# label is checked: an unknown state is shown as stored.
PLAIN = frozenset({"run", "run_time", "started", "updated"})
# What may need a CSV cell changed, in a page's text joined by "|" (a cell that starts
# with a formula character follows one): a page without either is written as it is. Two
# searches: each alone runs as a fast scan, where one alternation tries every position.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
FORMULA = re.compile(r"\|[=+\-@]")

Record = list[Any]
Page = Sequence[Sequence[Any]]
T = TypeVar("T")


def write(
    source: RunSource,
    q: RunQuery,
    columns: Sequence[Column],
    fmt: str,
    out: IO[str],
    *,
    with_pipeline: bool = False,
) -> int:
    """Write the query's runs to `out`; returns how many were written. The source gives
    each run's values (`RunSource.csv_records`, `RunSource.records`); CSV and JSON only
    finish them."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    q = q.with_(at=q.at if q.at is not None else time.time())
    fields = (["pipeline"] if with_pipeline else []) + ["id"]
    heads = fields + [c.spec for c in columns]
    if fmt == "csv":
        with _ended(source.csv_records(q, columns, PAGE, with_pipeline=with_pipeline)) as pages:
            return _write_csv(pages, with_pipeline, heads, columns, out)
    skip = 0 if with_pipeline else 1  # a record starts with the pipeline's name
    finish = [*(_same for _ in fields), *(_json_value(c) for c in columns)]
    n = 0
    out.write("[")
    with _ended(source.records(q, columns, PAGE)) as json_pages:
        for page in json_pages:
            for record in page:
                values = [f(v) for f, v in zip(finish, record[skip:], strict=True)]
                out.write(",\n " if n else "\n ")
                out.write(json.dumps(dict(zip(heads, values, strict=True))))
                n += 1
    out.write("\n]\n" if n else "]\n")
    return n


@contextmanager
def _ended(pages: Iterator[T]) -> Iterator[Iterator[T]]:
    """A source's pages, closed as soon as the writing stops however it stops (a reader
    gone, ^C): the source's statement ends then, not whenever the generator is collected
    (a traceback can hold it past the source's close)."""
    try:
        yield pages
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def records_of(
    rows: Iterable[RunRow], columns: Sequence[Column], at: float, page: int
) -> Iterator[list[Record]]:
    """`RunSource.records` made from a source's rows (`fmt.record_value`), `page` at a
    time: for a source that has no faster way."""
    values: list[Callable[[RunRow], Any]] = [attrgetter("pipeline"), attrgetter("id")]
    values.extend(record_value(c, at) for c in columns)
    it = iter(rows)
    while chunk := list(islice(it, page)):
        yield [[value(row) for value in values] for row in chunk]


def csv_records_of(
    pages: Iterable[list[Record]], columns: Sequence[Column], *, with_pipeline: bool
) -> Iterator[Page]:
    """`RunSource.csv_records` made from a source's `records`: tags joined as CSV writes
    them, no value as '', the pipeline's name left out unless `with_pipeline`."""
    tags = [i for i, c in enumerate(columns, 2) if c.spec == "tags"]
    first = 0 if with_pipeline else 1
    for page in pages:
        for record in page:
            for i in tags:
                record[i] = TAG_SEP.join(record[i])
        yield [["" if v is None else v for v in record[first:]] for record in page]


def _write_csv(
    pages: Iterable[Page],
    with_pipeline: bool,
    heads: list[str],
    columns: Sequence[Column],
    out: IO[str],
) -> int:
    """CSV a page at a time, made in memory and written in one piece (one write a page,
    not one a row). Each text column of a page is checked at once (`_suspect`); only
    where something is found are that column's cells of the page made safe one by one.
    A page with nothing to make safe or quote is its values joined (`_as_written`)."""
    fixes: dict[int, Callable[[Any], Any]] = {0: csv_cell} if with_pipeline else {}
    for i, column in enumerate(columns, 1 + with_pipeline):  # after the pipeline and id
        if not _plain(column):
            fixes[i] = _param_cell if column.is_param else csv_cell
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in heads])
    out.write(lines.take())
    joined = ",".join(["%s"] * len(heads)) + "\n"
    n = 0
    for page in pages:
        n += len(page)
        unsafe = [(i, fix) for i, fix in fixes.items() if _suspect(map(itemgetter(i), page))]
        if not unsafe:
            text = "".join(map(joined.__mod__, map(tuple, page)))
            if _as_written(text, len(page), len(heads)):
                out.write(text)
                continue
        writer.writerows(_made_safe(page, unsafe) if unsafe else page)
        out.write(lines.take())
    return n


def _as_written(text: str, rows: int, width: int) -> bool:
    """Whether `text`, a page's values joined by "," (`str` of each), is what csv.writer
    writes for them: no value held a comma, a quote or a line break that it would quote,
    and none was None, that it writes empty. A few scans of the page's text in C, where
    csv.writer looks up each character of each value (0.15 s at 100,000 runs)."""
    return (
        text.count(",") == rows * (width - 1)
        and text.count("\n") == rows
        and '"' not in text
        and "\r" not in text
        and "None" not in text
    )


def _made_safe(page: Page, fixes: Sequence[tuple[int, Callable[[Any], Any]]]) -> Page:
    """The page with each of these columns' cells fixed."""
    made = [list(r) for r in page]
    for i, fix in fixes:
        for record in made:
            record[i] = fix(record[i])
    return made


class _Lines:
    """What csv.writer writes (a line a call), kept as a list and joined once a page:
    cheaper than an io.StringIO's write() per line (0.02 s at 100,000 runs)."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.write = self.held.append

    def take(self) -> str:
        text = "".join(self.held)
        self.held.clear()
        return text


def _suspect(cells: Iterable[Any]) -> bool:
    """Whether a cell of a column's page may need changing: a control character, or a
    start that a spreadsheet reads as a formula."""
    text = "|" + "|".join(filter(None, cells))
    if FORMULA.search(text) is not None:
        return True
    # isprintable() is the faster scan; text it refuses (a soft hyphen too) is searched
    return not text.isprintable() and CONTROL.search(text) is not None


def _plain(column: Column) -> bool:
    return column.is_metric or (column.source == "builtin" and column.name in PLAIN)


def _param_cell(text: str | None) -> Any:
    """A parameter's CSV cell: a number as written (as CSV writes the number), other
    text made safe."""
    if text is None or not isinstance(param_number(text), str):
        return text
    return csv_cell(text)


def _json_value(column: Column) -> Callable[[Any], Any]:
    """A record value as JSON has it: tags as a list, a parameter as a number when it is
    one written plainly."""
    if column.spec == "tags":
        return list
    if column.is_param:
        return lambda text: None if text is None else param_number(text)
    return _same


def _same(value: Any) -> Any:
    return value
