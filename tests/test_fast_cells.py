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
        options = app.console_options.update_dimensions(10, 1).update(no_wrap=True)
        assert one_line_cell(app.console, options, Text("ok"), 1, Style(), None) is not None
