"""An export is one statement whose rows go to the writer as they come (`core.cells`):
the same file as every cell made from the run's row and made safe in Python, in the
order `rows()` reads, on SQLite and PostgreSQL, with awkward values (tags that sort by
code point or hold "; ", formulas, control characters, numbers written as text)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SIMPLE_PIPELINE, database_copy, template_databases
from sqlalchemy import delete, event, insert, update

from runs_tui.core import export, ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store, now
from runs_tui.core.fmt import param_number, record_value
from runs_tui.core.models import METRIC, PARAM, RUN
from runs_tui.core.records import RunQuery, SortKey
from runs_tui.core.registry import register
from runs_tui.sources import open_source
from runs_tui.sources.sql import SqlSource

COLUMNS = "run,version,tags,status,user,started,updated,run_time,queue,m:loss/val:last,p:args/lr"
ODD = ["=cmd", "-0.5", "-x", "a\x1b[2Jb", "+1", "@me", "x; y", "é", "Z", "a,b", 'q"u', "日本"]
ODD += ["line\nbreak", "\x9bc1", "0.1", "1e3", "007", "3", "-7", "b", "B", "ä"]
SORTS = [
    (),
    (SortKey("m:loss/val:last"),),
    (SortKey("m:loss/val:last", True),),
    (SortKey("p:args/lr"),),
    (SortKey("tags", True), SortKey("user")),
    (SortKey("started", True),),
]


def _seeded(url: str, folder: Path) -> None:
    """`seed`'s runs in the database at `url`, left with nothing connected."""
    pipeline = folder / "simple.toml"
    pipeline.write_text(SIMPLE_PIPELINE)
    opened = open_source(url)
    assert isinstance(opened, SqlSource)
    try:
        seed(opened.store, pipeline)
    finally:
        opened.close()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """`make(kind)`: the URL of a database of the kind ("sqlite", "postgresql") holding
    `seed`'s runs, seeded once a module; a test's `source` is a copy of it."""
    with template_databases(tmp_path_factory, _seeded) as make:
        yield lambda kind: make(kind)[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def source(
    request: pytest.FixtureRequest, tmp_path: Path, templates: Callable[[str], str]
) -> SqlSource:
    """A copy of the seeded database of the kind, this test's alone."""
    kind = request.param
    opened = open_source(database_copy(request, tmp_path, kind, templates(kind)))
    assert isinstance(opened, SqlSource)
    request.addfinalizer(opened.close)
    return opened


def seed(store: Store, pipeline_file: Path) -> None:
    """60 runs with odd tags, users, versions, parameters, metrics and times; some
    archived, some without a value of the metric or the parameter."""
    name = register(store, pipeline_file).name
    rnd = random.Random(12)
    clean = [t for t in ODD if t.strip() and t == t.strip()]
    for i in range(60):
        run = ops.new_run(store, name, tags=rnd.sample(clean, rnd.randint(0, 4)))
        run_id = int(run.id)
        values: dict[str, Any] = {"user": rnd.choice(ODD), "version": rnd.choice(ODD)}
        if i % 3:
            values["started"] = 1.7e9 + rnd.random() * 1e6
        if i % 5 == 0:
            values["finished"] = 1.7e9 + 2e6 + rnd.random()
        if i % 7 == 0:
            values["status"] = rnd.choice(["completed", "failed", "weird\x1b"])
        if i % 11 == 0:
            values["archived"] = True
        with store.write() as s:
            s.execute(update(RUN).where(RUN.c.id == run_id).values(**values))
            s.execute(delete(PARAM).where(PARAM.c.run_id == run_id, PARAM.c.key == "args/lr"))
            if i % 4:
                lr = rnd.choice(ODD)
                s.execute(
                    insert(PARAM).values(run_id=run_id, key="args/lr", value=lr, num=_num(lr))
                )
            if i % 2:
                v = rnd.choice([0.1, 1.0, -0.0, 1e300, 0.30000000000000004, float(i)])
                s.execute(
                    insert(METRIC).values(
                        run_id=run_id,
                        title="loss",
                        series="val",
                        last=v,
                        min=v,
                        max=v,
                        last_step=1,
                        updated=1.7e9,
                    )
                )


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def from_rows(source: SqlSource, q: RunQuery, with_pipeline: bool = True) -> tuple[str, int]:
    """The CSV (with the pipeline column unless not `with_pipeline`) as every cell made
    from `rows()` and made safe by `csv_cell` makes it, and how many runs it has: tags
    joined in Python, a parameter written as a number when it is one (as JSON has it)."""
    columns = parse_columns(COLUMNS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["pipeline"] * with_pipeline + ["id", *(c.spec for c in columns)])
    assert q.at is not None
    n = 0
    for row in source.rows(q):
        values = [row.pipeline] * with_pipeline + [row.id]
        for column in columns:
            value = record_value(column, q.at)(row)
            if column.spec == "tags":
                value = list(value)
            elif column.is_param and value is not None:
                value = param_number(value)
            values.append(value)
        writer.writerow([export.csv_cell(v) for v in values])
        n += 1
    return out.getvalue(), n


@pytest.mark.parametrize("sort", SORTS, ids=lambda s: ",".join(k.column for k in s) or "none")
@pytest.mark.parametrize("search", ["", "a"])
@pytest.mark.parametrize("with_pipeline", [True, False], ids=["pipeline", "no-pipeline"])
def test_csv_equals_every_cell_made_from_the_rows(
    source: SqlSource, sort: tuple[SortKey, ...], search: str, with_pipeline: bool
) -> None:
    q = RunQuery(None, sort=sort, search=search, at=now())
    out = io.StringIO()
    columns = parse_columns(COLUMNS)
    n = export.write(source, q, columns, "csv", out, with_pipeline=with_pipeline)
    want, runs = from_rows(source, q, with_pipeline)
    assert (out.getvalue(), n) == (want, runs)
    assert runs > 10 and "'=cmd" in want and "x; y" in want


@pytest.mark.parametrize("with_pipeline", [True, False], ids=["pipeline", "no-pipeline"])
def test_csv_records_are_the_records_with_tags_joined(
    source: SqlSource, with_pipeline: bool
) -> None:
    """Without the pipeline's name unless asked, no value as ''. And a number is itself
    or the text csv.writer writes for it: PostgreSQL makes a float's text below 1e15
    (`core.float_text`) and an integer's, SQLite leaves them to Python."""
    columns = parse_columns(f"{COLUMNS},tags")
    at = 1 - with_pipeline  # where the records' fields are, against one with the name
    for sort in SORTS:
        q = RunQuery(None, sort=sort, at=now())
        records = [r for page in source.records(q, columns, 7) for r in page]
        pages = source.csv_records(q, columns, 7, with_pipeline=with_pipeline)
        joined = [list(r) for page in pages for r in page]
        made = export.csv_records_of([records], columns, with_pipeline=with_pipeline)
        want = [list(r) for page in made for r in page]
        assert [_as_written(r) for r in joined] == [_as_written(r) for r in want]
        assert {len(r) for r in joined} == {len(columns) + 1 + with_pipeline}
        assert [r[1 - at] for r in joined] == [r[1] for r in records]  # the ids
        assert any(";" in r[4 - at] for r in joined)
        assert None not in {v for r in joined for v in r}  # but ''
        numbers = [v for r in joined for v in (r[9 - at], r[11 - at]) if v != ""]
        small = {type(v) for v in numbers if abs(float(v)) < 1e15}
        assert small == ({float} if source.store.is_sqlite else {str})
        assert {type(v) for v in numbers if abs(float(v)) >= 1e15} == {float}  # 1e300


def _as_written(record: list[Any]) -> list[Any]:
    return ["" if v is None else str(v) if isinstance(v, int | float) else v for v in record]


def test_an_export_is_one_statement(source: SqlSource) -> None:
    """No page queries and no second query for tags: the database makes every record of
    one statement, CSV or JSON, sorted or not."""
    statements: list[str] = []
    event.listen(source.store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for fmt in export.FORMATS:
        for sort in SORTS:
            statements.clear()
            q = RunQuery(None, sort=sort, at=now())
            export.write(source, q, parse_columns(COLUMNS), fmt, io.StringIO())
            reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            assert len(reads) == 1, reads
