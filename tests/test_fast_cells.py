"""RunsTable draws one-line cells itself (ui/widgets/fast_cells.py): every cell must come
out as DataTable draws it, with the row's styles, the cursor's, marks and pinned columns.
Also the canary for the private `_render_cell` it overrides (Textual is pinned)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from runs_tui.ui.widgets.fast_cells import SegmentLines, one_line_cell
from runs_tui.ui.widgets.runs_table import RunsTable

STYLES = st.sampled_from(
    [
        Style(),
        Style(color="green"),
        Style(bold=True),
        Style(color="yellow", bgcolor="blue", italic=True),
        Style(dim=True, underline=True),
    ]
)
CHARS = st.sampled_from(list("abc XYZ019.-_#…·日本\t"))
LINES = st.sampled_from(list("ab 日\n\r\t"))


@st.composite
def cells(draw: st.DrawFn) -> Text:
    plain = "".join(draw(st.lists(CHARS, max_size=24)))
    text = Text(
        plain,
        style=draw(STYLES),
        justify=draw(st.sampled_from([None, "default", "left", "right", "center"])),
        overflow=draw(st.sampled_from([None, "ellipsis", "fold", "crop"])),
        no_wrap=draw(st.sampled_from([None, True, False])),
    )
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(plain)))
        text.stylize(draw(STYLES), start, draw(st.integers(start, len(plain))))
    return text


class Table(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable()


def plain(lines: SegmentLines) -> list[list[tuple[str, Style | None]]]:
    """Lines as (text, style) runs, adjacent segments of one style joined (the terminal
    sees no difference)."""
    return [[(s.text, s.style) for s in Segment.simplify(line)] for line in lines]


def drawn_both_ways(table: RunsTable, row: int, column: int, width: int) -> tuple[object, ...]:
    base = Style(color="white", bgcolor="black")
    out = []
    for cursor in (False, True):
        table._cell_render_cache.clear()
        ours = table._render_cell(row, column, base, width, cursor=cursor)
        table._cell_render_cache.clear()
        theirs = DataTable._render_cell(table, row, column, base, width, cursor=cursor)
        out.append((plain(ours), plain(theirs)))
    return tuple(out)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts=st.lists(cells(), min_size=3, max_size=3), width=st.integers(1, 30))
async def test_every_cell_is_drawn_as_datatable_draws_it(texts: list[Text], width: int):
    app = Table()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RunsTable)
        table.fixed_columns = 1
        for key in ("a", "b", "c"):
            table.add_column(key, key=key, width=width)
        table.add_row(*texts, key="r1")
        table.add_row(Text("x"), Text(""), Text("y", justify="right"), key="r2")
        await pilot.pause()
        for row in (0, 1):
            for column in (0, 1, 2):
                for ours, theirs in drawn_both_ways(table, row, column, width + 2):
                    assert ours == theirs, (texts, row, column, width)


async def test_the_private_cell_drawing_is_what_fast_cells_overrides():
    app = Table()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(RunsTable)
        table.add_column("a", key="a", width=8)
        table.add_row(Text("ok", style="green"), key="r1")
        await pilot.pause()
        assert isinstance(table._cell_render_cache, object)
        assert table._row_locations.get_key(0) in table.rows
        drawn = table._render_cell(0, 0, Style(), 10)
        assert "".join(s.text for s in drawn[0]) == " ok       "
        assert any(s.style and s.style.meta.get("row") == 0 for s in drawn[0])
        assert "ok" in app.export_screenshot()
        assert one_line_cell(app.console, 10, Text("ok"), 1, Style(), None, {}) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(
        st.lists(st.one_of(cells(), st.text(LINES, max_size=12).map(Text)), min_size=3, max_size=3),
        min_size=1,
        max_size=4,
    )
)
async def test_columns_are_measured_as_datatable_measures_them(rows: list[list[Text]]):
    """RunsTable measures new rows itself (`_update_dimensions`): the auto-width
    columns must come out as wide as DataTable makes them; a fixed one keeps its width."""
    app = Table()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RunsTable)
        table.add_column("a", key="a")
        table.add_column("fixed", key="b", width=3)
        table.add_column("c", key="c")
        start = [c.content_width for c in table.ordered_columns]
        keys = [table.add_row(*row) for row in rows]
        await pilot.pause()
        ours = [(c.content_width, c.get_render_width(table)) for c in table.ordered_columns]
        for column, width in zip(table.ordered_columns, start, strict=True):
            column.content_width = width
        DataTable._update_dimensions(table, keys)
        theirs = [(c.content_width, c.get_render_width(table)) for c in table.ordered_columns]
        assert ours == theirs, rows


def joined(row: tuple[SegmentLines, SegmentLines]) -> tuple[object, object]:
    """A row's pinned and scrollable lines, each as one line of (text, style) runs."""
    fixed, scrollable = row
    return plain([[s for cell in fixed for s in cell]]), plain([[s for c in scrollable for s in c]])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    texts=st.lists(cells(), min_size=6, max_size=6),
    widths=st.lists(st.integers(1, 12), min_size=3, max_size=3),
    pinned=st.integers(0, 2),
    cursor=st.tuples(st.integers(0, 1), st.integers(0, 2)),
    hover=st.tuples(st.integers(-1, 1), st.integers(0, 2)),
    marked=st.booleans(),
)
async def test_every_row_is_drawn_as_datatable_draws_it(
    texts: list[Text],
    widths: list[int],
    pinned: int,
    cursor: tuple[int, int],
    hover: tuple[int, int],
    marked: bool,
):
    """FastCells draws a row's line itself (`_render_line_in_row`): pinned cells, the
    cursor's and the mouse's cells, the row styles (cursor row, marks) and the blank
    to the right edge must come out as DataTable draws them. Then the rows are made
    again with each other's cells: the same places drawn anew, from the styles kept."""
    app = Table()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(RunsTable)
        for key, width in zip("abc", widths, strict=True):
            table.add_column(key, key=key, width=width)
        for first, second in ((texts[:3], texts[3:]), (texts[3:], texts[:3])):
            table.clear()
            table.add_row(*first, key="1")
            table.add_row(*second, key="2")
            table.order = [1, 2]
            if marked:
                table.marks.add(2)
            table.fixed_columns = pinned
            table.cursor_coordinate = Coordinate(*cursor)
            await pilot.pause()
            base = Style(color="white", bgcolor="black")
            for key in ("1", "2"):
                row_key = table._row_locations.get_key(int(key) - 1)
                at, over = table.cursor_coordinate, Coordinate(*hover)
                table._clear_caches()
                ours = table._render_line_in_row(row_key, 0, base, at, over)
                table._clear_caches()
                theirs = DataTable._render_line_in_row(table, row_key, 0, base, at, over)
                assert joined(ours) == joined(theirs), (texts, widths, pinned, cursor, hover)
