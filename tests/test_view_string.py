"""The view string: the whole table state in one string that round-trips exactly
(hypothesis), survives the config file and the shell, opens the same table, and is
refused with a message naming the bad part.

Decisions the generators encode:
- range bounds are any float but NaN (refused: "NaN is not a bound"); +-inf round-trip
  and mean "no bound on that side" in SQL all the same;
- a value filter has at least one value (the modal never makes an empty one: applying
  nothing clears the column's filter), and a view has at least one column;
- specs are canonical (`parse_column(s).spec`): `m:loss:last` is `m:loss/loss:last`.
"""

from __future__ import annotations

import math
import shlex
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from support import examples
from ui_support import FIXED_NOW, SIZE, make_app, settle, status_line, table, visible_rows

from runs_tui import cli
from runs_tui.core import config
from runs_tui.core.columns import AGGS, BUILTIN, parse_column
from runs_tui.core.db import Store
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN
from runs_tui.core.records import RangeFilter, SortKey, TagFilter, ValueFilter
from runs_tui.core.status import Status
from runs_tui.core.view import MAX_WIDTH, MIN_WIDTH, TableView, ViewError

AWKWARD = " &=%#+?;,:./-'\"\\é名☃🙂\t"

awkward_text = st.text(
    alphabet=st.one_of(st.sampled_from(AWKWARD), st.characters(codec="utf-8")),
    min_size=1,
    max_size=10,
)


def _canonical(raw: str) -> str | None:
    try:
        return parse_column(raw).spec
    except ValueError:
        return None


param_specs = st.builds(lambda a, b: f"p:{a}/{b}", awkward_text, awkward_text)
metric_specs = st.builds(
    lambda t, s, agg: f"m:{t}/{s}:{agg}",
    awkward_text,
    awkward_text,
    st.sampled_from(AGGS),
)
specs = (
    st.one_of(st.sampled_from(BUILTIN), param_specs, metric_specs)
    .map(_canonical)
    .filter(lambda s: s is not None)
)

VALUE_BUILTINS = ("version", "status", "user", "queue")
RANGE_BUILTINS = ("run", "run_time", "started", "updated")
bounds = st.one_of(st.none(), st.floats(allow_nan=False))


@st.composite
def value_filters(draw: st.DrawFn, spec: str) -> ValueFilter:
    if spec == "status":
        values = draw(st.frozensets(st.sampled_from([s.value for s in Status]), min_size=1))
    else:
        values = draw(st.frozensets(st.one_of(st.just(""), awkward_text), min_size=1, max_size=4))
    return ValueFilter(spec, values)


@st.composite
def filters(draw: st.DrawFn) -> tuple[ValueFilter | RangeFilter, ...]:
    chosen = draw(
        st.lists(
            st.one_of(st.sampled_from(VALUE_BUILTINS + RANGE_BUILTINS), param_specs, metric_specs)
            .map(_canonical)
            .filter(lambda s: s is not None and s != "tags"),
            unique=True,
            max_size=5,
        )
    )
    out: list[ValueFilter | RangeFilter] = []
    for spec in chosen:
        column = parse_column(spec)
        by_values = spec in VALUE_BUILTINS or (column.is_param and draw(st.booleans()))
        if by_values:
            out.append(draw(value_filters(spec)))
        else:
            out.append(RangeFilter(spec, draw(bounds), draw(bounds)))
    return tuple(out)


tag_filters = st.one_of(
    st.none(),
    st.builds(
        TagFilter,
        st.frozensets(awkward_text, max_size=4),
        st.frozensets(awkward_text, max_size=4),
        st.sampled_from(("any", "all")),
    ),
)


@st.composite
def views(draw: st.DrawFn) -> TableView:
    columns = tuple(draw(st.lists(specs, min_size=1, max_size=8)))
    widths = draw(st.dictionaries(specs, st.integers(MIN_WIDTH, MAX_WIDTH), max_size=4))
    sort = tuple(
        SortKey(spec, draw(st.booleans()))
        for spec in draw(st.lists(specs, unique=True, max_size=3))
    )
    return TableView(
        columns=columns,
        widths=tuple(sorted(widths.items())),
        sort=sort,
        filters=draw(filters()),
        tags=draw(tag_filters),
        search=draw(st.one_of(st.just(""), st.text(max_size=20), awkward_text)),
        precise=draw(st.frozensets(specs, max_size=3)),
        archived=draw(st.booleans()),
    )


@given(views())
@settings(max_examples=examples(150), deadline=None)
def test_every_view_round_trips_through_its_string(view: TableView):
    text = view.to_string()
    assert TableView.from_string(text) == view
    assert text.isascii() and text.isprintable() and " " not in text, "one shell word"
    assert TableView.from_string(text).to_string() == text
    assert shlex.split(f"runs-tui --view {shlex.quote(text)}")[-1] == text


@given(st.lists(specs, min_size=1, max_size=3))
@settings(max_examples=examples(100), deadline=None)
def test_a_canonical_spec_is_its_own_canonical_form(chosen: list[str]):
    for spec in chosen:
        assert parse_column(spec).spec == spec


@given(st.dictionaries(awkward_text, views(), min_size=1, max_size=3), st.floats(0.5, 1e6))
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_views_survive_the_config_file(pipelines: dict[str, TableView], refresh: float):
    """Per pipeline (any name), with archived never kept: the app saves it as False."""
    kept = {name: v.with_(archived=False) for name, v in pipelines.items()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        config.save(config.Settings(refresh=refresh, pipelines=kept), path)
        loaded = config.load(path)
    assert loaded.warning == ""
    assert loaded.settings.pipelines == kept
    assert loaded.settings.refresh == refresh


def test_infinite_bounds_round_trip_and_nan_is_refused():
    view = TableView(filters=(RangeFilter("m:loss/val:min", -math.inf, math.inf),))
    assert "fr.m:loss/val:min=-inf..inf" in view.to_string()
    assert TableView.from_string(view.to_string()) == view
    with pytest.raises(ViewError, match="NaN is not a bound"):
        TableView.from_string("fr.run_time=nan..")


def test_an_empty_string_is_the_default_view_and_labels_are_accepted():
    assert TableView.from_string("") == TableView()
    view = TableView.from_string("?fv.status=Failed&fv.status=RUNNING")
    assert view.filters == (ValueFilter("status", frozenset({"failed", "running"})),)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("garbage", "unknown part 'garbage'"),
        ("c=run&c=bogus", "column: unknown column 'bogus'"),
        ("c=m:loss:avg", "'m:loss:avg'"),
        ("c=p:nosection", "'p:nosection'"),
        ("w=status=wide", "width of 'status': 'wide' is not a number"),
        ("w=status=1", "width of 'status': 1 is not in 3..200"),
        ("w=status", "width 'status': expected COLUMN=WIDTH"),
        ("s=-nope", "sort: unknown column 'nope'"),
        ("fr.status=1..2", "column 'status' filters by values, not by range"),
        ("fv.run_time=3", "column 'run_time' filters by range, not by values"),
        ("fr.run_time=5", "range of 'run_time': expected MIN..MAX, got '5'"),
        ("fr.m:loss/val:last=abc..1", "range of 'm:loss/val:last': 'abc' is not a number"),
        ("fv.status=weird", "filter of 'status': unknown status 'weird'"),
        ("ti=a&tm=some", "tag mode 'some': expected any or all"),
        ("p=bogus", "precise column: unknown column 'bogus'"),
    ],
)
def test_a_bad_view_string_is_refused_naming_the_bad_part(text: str, named: str):
    with pytest.raises(ViewError) as caught:
        TableView.from_string(text)
    assert named in str(caught.value)
    assert str(caught.value).startswith("view: ")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--view", "garbage"], "view: unknown part 'garbage'"),
        (["--view", "c=run&c=nope"], "unknown column 'nope'"),
        (["--pipeline", "simple", "--view", "c=run&fr.status=1..2"], "'status'"),
        (["ls", "--view", "c=run&c=nope"], "unknown column 'nope'"),
    ],
)
def test_cli_refuses_a_bad_view_with_exit_2_and_names_it(
    argv: list[str], named: str, db_path: Path, capsys
):
    with pytest.raises(SystemExit) as exited:
        cli.main(
            ["--db", str(db_path), *argv] if argv[0] != "ls" else [*argv, "--db", str(db_path)]
        )
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("runs-tui: error: ") and named in err


# --- a view string opens the same table -----------------------------------------------------

PARAM_KEY = "sec tion/a&b=c%#\"'é"
METRIC_TITLE, METRIC_SERIES = "lo ss", "v%al&x=1"


@pytest.fixture
def awkward_runs(store: Store, simple: str) -> list[int]:
    """Six runs with an awkwardly named hyperparameter and metric; their numbers."""
    with store.read() as s:
        pid = s.execute(select(PIPELINE.c.id)).scalar_one()
    states = ("completed", "failed", "completed", "aborted", "failed", "completed")
    with store.write() as s:
        s.execute(
            insert(RUN),
            [
                {
                    "pipeline_id": pid,
                    "number": i,
                    "name": f"r{i}",
                    "version": "1",
                    "status": states[i - 1],
                    "user": "u",
                    "queue": "default",
                    "created": FIXED_NOW - i * 60,
                    "started": FIXED_NOW - i * 60,
                    "finished": FIXED_NOW - i * 30,
                    "updated": FIXED_NOW - i * 30,
                    "archived": False,
                    "attempt": 1,
                    "status_message": "",
                }
                for i in range(1, 7)
            ],
        )
        ids = dict(s.execute(select(RUN.c.number, RUN.c.id)).all())
        s.execute(
            insert(PARAM),
            [{"run_id": ids[i], "key": PARAM_KEY, "value": str(i), "num": float(i)} for i in ids],
        )
        s.execute(
            insert(METRIC),
            [
                {
                    "run_id": ids[i],
                    "title": METRIC_TITLE,
                    "series": METRIC_SERIES,
                    "last": i / 10,
                    "min": (i % 3) / 10,
                    "max": 1.0,
                    "last_step": 1,
                    "updated": FIXED_NOW,
                }
                for i in ids
            ],
        )
    return sorted(ids)


P_SPEC = f"p:{PARAM_KEY}"
M_SPEC = f"m:{METRIC_TITLE}/{METRIC_SERIES}:min"


@pytest.mark.parametrize(
    ("view", "headers", "numbers"),
    [
        (
            TableView(
                columns=("run", "status", P_SPEC, M_SPEC),
                sort=(SortKey(M_SPEC, True), SortKey("status")),
                filters=(
                    ValueFilter("status", frozenset({"completed", "failed"})),
                    RangeFilter(P_SPEC, 2.0, math.inf),
                ),
            ),
            ["RUN", "STATUS ▲2≡", f"{PARAM_KEY} ≡", "lo ss/v%al&x=1 (min) ▼1"],
            ["#5", "#2", "#6", "#3"],
        ),
        (
            TableView(
                columns=(M_SPEC, "run"),
                sort=(SortKey("run"),),
                search="r4",
                precise=frozenset({M_SPEC}),
            ).with_width(M_SPEC, 30),
            ["lo ss/v%al&x=1 (min)", "RUN ▲"],
            ["#4"],
        ),
    ],
)
async def test_a_view_string_opens_the_same_table(
    store: Store, awkward_runs, view: TableView, headers: list[str], numbers: list[str]
):
    text = view.to_string()
    app = make_app(store, pipeline="simple", refresh=3600)
    app.start_view = TableView.from_string(text)  # what `runs-tui --view TEXT` passes
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        assert app.screen.view == view  # type: ignore[attr-defined]
        assert [str(c.label) for c in t.columns.values()][1:] == headers
        run_column = [c.spec for c in t.columns_shown].index("run") + 1
        assert [row[run_column] for row in visible_rows(pilot)] == numbers
        if view.active:
            assert f"{len(numbers)} of 6 match" in status_line(pilot)
        for spec, width in view.widths:
            assert t.columns[spec].width == width
        if view.precise:
            cells = [row[1] for row in visible_rows(pilot)]
            assert cells == ["0.1"]
        assert config.load().settings.pipelines["simple"] == view
