"""Table cells drawn without Rich's general layout machinery.

DataTable draws each cell as `Styled(Padding(cell))` through `console.render_lines`:
about 0.1-0.3 ms a cell, so a new page of 35 rows x 11 columns costs 40-110 ms of the UI
thread, twice per search (the focus moves back to the table, then the rows come).
A one-line Text that fits its column needs none of that: the same Rich calls that
lay out the text (`Text.wrap`, `join`, `render`), then the padding and the row's styles,
give the same segments. Anything else (wider than the column, several lines, not a
Text) is drawn by DataTable as before.

This overrides DataTable's private `_render_cell` and copies its cache key (Textual is
pinned in pyproject.toml; tests/test_fast_cells.py compares every case with DataTable's
own drawing, and fails first on a Textual that draws cells differently).
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets._data_table import CellCacheKey
from textual.widgets.data_table import CellType

SegmentLines = list[list[Segment]]


def one_line_cell(
    console: Console,
    options: ConsoleOptions,
    cell: object,
    padding: int,
    pre_style: Style,
    post_style: Style | None,
) -> SegmentLines | None:
    """What `console.render_lines(Styled(Padding(cell, (0, padding)), pre_style,
    post_style), options)` gives for a one-line Text that fits `options.max_width`;
    None for any other cell."""
    if not isinstance(cell, Text) or options.height != 1:
        return None
    inner = options.update_width(options.max_width - 2 * padding)
    width = inner.max_width
    if "\n" in cell.plain or cell.cell_len > width or width < 1:
        return None
    lines = cell.wrap(
        console,
        width,
        justify=cell.justify or inner.justify or "default",
        overflow=cell.overflow or inner.overflow or "fold",
        tab_size=(console.tab_size if cell.tab_size is None else cell.tab_size) or 8,
        no_wrap=cell.no_wrap if cell.no_wrap is not None else bool(inner.no_wrap),
    )
    if len(lines) != 1:
        return None
    text = Text("\n").join(lines)
    blank = Style.null()
    line = [Segment(" " * padding, blank)] if padding else []
    line.extend(text.render(console, end=""))
    if text.cell_len > width:
        return None
    if text.cell_len < width:
        line.append(Segment(" " * (width - text.cell_len), blank))
    if padding:
        line.append(Segment(" " * padding, blank))
    return [list(Segment.apply_style(line, style=pre_style, post_style=post_style))]


class FastCells(DataTable[CellType]):
    """A DataTable whose one-line cells are drawn by `one_line_cell`."""

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:  # headers and labels: DataTable's own
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key: CellCacheKey = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(key)
        if cached is not None:
            return cached
        row = self.rows[row_key]
        if row.height == 1 and not row.auto_height:
            fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
            component_style, post_style = self._get_styles_to_render_cell(
                False,
                False,
                fixed,
                hover,
                cursor,
                self.show_cursor,
                self._show_hover_cursor,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css",
            )
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            meta = Style.from_meta({"row": row_index, "column": column_index})
            lines = one_line_cell(
                self.app.console,
                options,
                self._get_row_renderables(row_index)[1][column_index],
                self.cell_padding,
                base_style + meta + component_style,
                post_style,
            )
            if lines is not None:
                self._cell_render_cache[key] = lines
                return lines
        return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
