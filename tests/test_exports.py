"""Exports and `ls` to a pipe: each run exactly once while runs change, nothing a
terminal or a spreadsheet would act on."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, update
from support import examples, run_cli

from runs_tui.agent.logs import SafeFormatter
from runs_tui.core import export, ops
from runs_tui.core.columns import Column, parse_columns
from runs_tui.core.db import Store, now
from runs_tui.core.fmt import param_number, record_value
from runs_tui.core.models import PARAM, RUN, TAG
from runs_tui.core.records import RunQuery, RunRow, SortKey
from runs_tui.core.registry import register
from runs_tui.sources import open_source

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def many_runs(store: Store, pipeline: str, n: int) -> int:
    """`n` runs written in one go; returns the pipeline's id."""
    pipe_id = store_pipeline_id(store, pipeline)
    t = now()
    with store.write() as s:
        s.execute(
            insert(RUN),
            [
                {
                    "pipeline_id": pipe_id,
                    "number": i,
                    "name": f"{pipeline} #{i}",
                    "version": "1.0.0",
                    "status": "completed",
                    "user": "tester",
                    "queue": "default",
                    "created": t + i,
                    "updated": t + i,
                    "archived": False,
                    "attempt": 1,
                    "status_message": "",
                }
                for i in range(1, n + 1)
            ],
        )
    return pipe_id


def store_pipeline_id(store: Store, name: str) -> int:
    from runs_tui.core.lookup import pipeline_by_name

    pipe = pipeline_by_name(store, name)
    assert pipe.id is not None
    return pipe.id


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "exports.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize("sort", [(), (SortKey("updated", True),)], ids=["default", "updated"])
def test_a_listing_taken_while_runs_change_has_each_run_once(url, pipeline_file, sort):
    source = open_source(url)
    store = source.store  # type: ignore[attr-defined]
    name = register(store, pipeline_file).name
    pipe_id = many_runs(store, name, 2500)
    stop = threading.Event()
    changes = {"new": 0, "touched": 0}

    def churn() -> None:
        """New runs at the top and old runs moved to the top of an `updated` sort."""
        k = 0
        while not stop.is_set():
            ops.new_run(store, name)
            changes["new"] += 1
            k += 1
            with store.write() as s:
                s.execute(
                    update(RUN)
                    .where(RUN.c.number == 2500 - k * 7 % 2500, RUN.c.pipeline_id == pipe_id)
                    .values(updated=now() + 10_000 + k)
                )
            changes["touched"] += 1

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        seen = [row.number for row in source.rows(RunQuery(pipe_id, sort=sort), page=50)]
    finally:
        stop.set()
        writer.join()
        source.close()
    assert changes["new"] > 0 and changes["touched"] > 0, "runs changed during the listing"
    assert len(seen) == len(set(seen)), "a run was listed twice"
    assert set(range(1, 2501)) <= set(seen), "a run that was there all along was missed"


def test_csv_cells_are_safe_for_terminals_and_spreadsheets(store, pipeline_file, db_path):
    name = register(store, pipeline_file).name
    run = ops.new_run(store, name, {"name": "=HYPERLINK(1)", "lr": "-0.5"}, tags=["@SUM(1)"])
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id == run.id).values(user="+\x1b]0;x\x07me\nnext"))
    columns = "run,user,tags,p:args/name,p:args/lr"
    proc = run_cli("ls", name, "--format", "csv", "--columns", columns, "--db", str(db_path))
    assert proc.returncode == 0, proc.stderr
    assert CONTROL.search(proc.stdout) is None, repr(proc.stdout)
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["id", *columns.split(","), "reason"]
    assert rows[1][2:] == ["'+␛]0;x␇me\nnext", "'@SUM(1)", "'=HYPERLINK(1)", "-0.5", ""]
    as_json = run_cli("ls", name, "--format", "json", "--columns", columns, "--db", str(db_path))
    assert CONTROL.search(as_json.stdout) is None
    assert json.loads(as_json.stdout)[0]["user"] == "+\x1b]0;x\x07me\nnext", "JSON keeps data"
    table = run_cli("ls", name, "--columns", columns, "--db", str(db_path))
    assert CONTROL.search(table.stdout) is None and "+␛]0;x␇me next" in table.stdout


def test_csv_made_page_by_page_equals_every_cell_made_safe(store, pipeline_file, db_path):
    """CSV checks a page's text column in one search and makes cells safe only where it
    finds something: the file is the one `csv_cell` on every value would make, with the
    unsafe values spread over pages among clean ones (a number written "-0.5" stays a
    number, the text "-x" is not a formula)."""
    name = register(store, pipeline_file).name
    pipe_id = many_runs(store, name, 2500)
    odd = {7: "=cmd", 1500: "-0.5", 1501: "-x", 1502: "a\x1b[2Jb", 2400: "+1", 2401: "@me"}
    with store.write() as s:
        s.execute(
            insert(PARAM),
            [{"run_id": i, "key": "args/lr", "value": v, "num": None} for i, v in odd.items()]
            + [{"run_id": i, "key": "args/lr", "value": "0.01", "num": 0.01} for i in (1, 2)],
        )
        s.execute(insert(TAG), [{"run_id": i, "tag": v} for i, v in odd.items()])
        for i, v in odd.items():
            s.execute(update(RUN).where(RUN.c.id == i).values(user=v, version=v))
    source = open_source(str(db_path))
    columns = parse_columns("run,version,user,tags,p:args/lr,started,status")
    q = RunQuery(pipe_id, at=now())
    out = io.StringIO()
    assert export.write(source, q, columns, "csv", out, with_pipeline=True) == 2500
    want = io.StringIO()
    writer = csv.writer(want, lineterminator="\n")
    writer.writerow(["pipeline", "id", *(c.spec for c in columns)])
    for row in source.rows(q):
        values = [row.pipeline, row.id, *(export_value(row, c, q.at) for c in columns)]
        writer.writerow([export.csv_cell(v) for v in values])
    source.close()
    assert out.getvalue() == want.getvalue()
    assert "'=cmd" in out.getvalue() and ",-0.5," in out.getvalue() and "'-x" in out.getvalue()


@pytest.mark.parametrize(
    ("columns", "read", "unread"),
    [
        ("run,status,user,started", set(), {"metric", "runparam", "runtag"}),
        ("run,tags", {"runtag"}, {"metric", "runparam"}),
        ("run,m:loss/val:last,p:args/lr", {"metric", "runparam"}, {"runtag"}),
    ],
)
def test_an_export_reads_only_the_tables_its_columns_need(
    store, pipeline_file, db_path, columns, read, unread
):
    name = register(store, pipeline_file).name
    many_runs(store, name, 30)
    source = open_source(str(db_path))
    statements: list[str] = []
    event.listen(source.store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    q = RunQuery(None, at=now())
    export.write(source, q, parse_columns(columns), "csv", io.StringIO())
    rows = list(source.rows(q, 7, parse_columns(columns)))
    source.close()
    assert len(rows) == 30
    tables = {t for sql in statements for t in re.findall(r"(?:FROM|JOIN) (\w+)", sql)}
    assert read <= tables and not unread & tables, statements


def export_value(row: RunRow, column: Column, at: float) -> Any:
    """A value as an export had it before records (tags a list, parameters as numbers)."""
    value = record_value(column, at)(row)
    if column.spec == "tags":
        return list(value)
    return param_number(value) if column.is_param and value is not None else value


def test_export_headers_show_control_characters_visibly(store, pipeline_file):
    source = open_source(str(store.url.removeprefix("sqlite:///")))
    register(store, pipeline_file)
    out = io.StringIO()
    export.write(source, RunQuery(None), parse_columns("run,m:\x1b[2J/x:last"), "csv", out)
    assert out.getvalue().splitlines()[0] == "id,run,m:␛[2J/x:last"
    source.close()


def test_the_agents_log_shows_control_characters_visibly():
    record = logging.LogRecord("runs_tui.agent", logging.INFO, "", 0, "run %s", ("\x1b[2J",), None)
    assert SafeFormatter("%(message)s").format(record) == "run ␛[2J"


def test_csv_records_of_joins_tags_and_leaves_the_pipeline_out_unless_written() -> None:
    """`export.csv_records_of`, the CSV records of a source with no faster way (MLflow):
    no value as ''."""
    columns = parse_columns("run,tags")

    def pages() -> list[list[list[Any]]]:
        return [[["p", "7", 1, ("a", "b; c")], ["p", "8", None, ()]]]

    with_name = export.csv_records_of(pages(), columns, with_pipeline=True)
    assert list(with_name) == [[["p", "7", 1, "a; b; c"], ["p", "8", "", ""]]]
    without = export.csv_records_of(pages(), columns, with_pipeline=False)
    assert list(without) == [[["7", 1, "a; b; c"], ["8", "", ""]]]


csv_values = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.text(),
    st.sampled_from(["", "None", "a,b", 'q"u', "x\ry", "x\ny", " x ", "%s", "'=1", "é"]),
)


@settings(max_examples=examples(300), deadline=None)
@given(pages=st.lists(st.lists(st.tuples(st.integers(), csv_values, csv_values), max_size=5)))
def test_a_page_joined_is_what_csv_writer_writes(pages: list[list[tuple[Any, ...]]]) -> None:
    """`_write_csv` joins a page's values where csv.writer would write them as they are,
    and lets csv.writer write any other page: the same file either way."""
    columns = parse_columns("m:loss/val:last,m:loss/val:min")  # nothing to make safe
    heads = ["id", *(c.spec for c in columns)]
    out, want = io.StringIO(), io.StringIO()
    n = export._write_csv(pages, False, heads, columns, out)
    csv.writer(want, lineterminator="\n").writerows([heads, *(r for p in pages for r in p)])
    assert (out.getvalue(), n) == (want.getvalue(), sum(map(len, pages)))
