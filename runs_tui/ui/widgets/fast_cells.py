"""Table rows and cells drawn without Rich's general layout machinery.

DataTable draws each cell as `Styled(Padding(cell))` through `console.render_lines`:
about 0.1-0.3 ms a cell, so a new page of 35 rows x 11 columns costs 40-110 ms of the UI
thread. A one-line Text that fits its column needs none of that: the same Rich calls that
lay out the text (`Text.wrap`, `join`, `render`; for a Text without spans, its padding
worked out directly), then the padding and the row's styles, give the same segments.
A one-line row is drawn here a row at a time (the table's settings read once a row) and
kept while the cursor moves elsewhere. Anything else (wider than the column, several
lines, not a Text, another kind of cursor) is drawn by DataTable as before.

This overrides DataTable's private `_render_cell`, `_render_line_in_row` and
`_clear_caches` and copies their cache keys (Textual is pinned in pyproject.toml;
tests/test_fast_cells.py compares every cell, row and column width with DataTable's own,
and fails first on a Textual that draws them differently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.color import Color
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets._data_table import CellCacheKey
from textual.widgets.data_table import CellType, Column, RowKey

SegmentLines = list[list[Segment]]
# a cell's blank and text styles, by its pre and post styles and its Text's own style
LineStyles = dict[tuple[Style, Style | None, str | Style], tuple[Style, Style]]
KEPT_STYLES = 4096  # styles kept (a screen's cells in a few row styles), then forgotten
K = TypeVar("K")
V = TypeVar("V")


def _keep(kept: dict[K, V], key: K, value: V) -> V:
    """`value`, kept under `key`; what was kept is forgotten once KEPT_STYLES are."""
    if len(kept) >= KEPT_STYLES:
        kept.clear()
    kept[key] = value
    return value


def one_line_cell(
    console: Console,
    width: int,
    cell: object,
    padding: int,
    pre_style: Style,
    post_style: Style | None,
    styles: LineStyles,
) -> SegmentLines | None:
    """What `console.render_lines(Styled(Padding(cell, (0, padding)), pre_style,
    post_style), options)` gives, with the options DataTable gives a one-line cell
    `width` wide (no wrapping, no justify or overflow of its own), for a one-line Text
    that fits; None for any other cell. `styles` keeps the styles it makes (FastCells'
    own, across frames)."""
    if not isinstance(cell, Text):
        return None
    inner = width - 2 * padding
    if not cell.spans and "\t" not in cell.plain:
        line = _unstyled_line(console, cell, inner, padding, pre_style, post_style, styles)
        return None if line is None else [line]
    if "\n" in cell.plain or cell.cell_len > inner or inner < 1:
        return None
    lines = cell.wrap(
        console,
        inner,
        justify=cell.justify or "default",
        overflow=cell.overflow or "fold",
        tab_size=(console.tab_size if cell.tab_size is None else cell.tab_size) or 8,
        no_wrap=cell.no_wrap if cell.no_wrap is not None else True,
    )
    if len(lines) != 1:
        return None
    text = Text("\n").join(lines)
    blank = Style.null()
    line = [Segment(" " * padding, blank)] if padding else []
    line.extend(text.render(console, end=""))
    if text.cell_len > inner:
        return None
    if text.cell_len < inner:
        line.append(Segment(" " * (inner - text.cell_len), blank))
    if padding:
        line.append(Segment(" " * padding, blank))
    return [list(Segment.apply_style(line, style=pre_style, post_style=post_style))]


def _unstyled_line(
    console: Console,
    cell: Text,
    width: int,
    padding: int,
    pre_style: Style,
    post_style: Style | None,
    styles: LineStyles,
) -> list[Segment] | None:
    """The line of a Text without spans or tabs, as `one_line_cell` draws it, without
    laying it out: its text in the Text's style, the rest in the cell's (the wrap's own
    rules: "left" pads inside the text, "right" and "center" strip trailing spaces and
    pad inside it, "default" and "full" pad outside), adjacent runs of one style
    joined. None when it does not fit on one line."""
    plain = cell.plain
    how = cell.justify or "default"
    if how in ("right", "center"):
        plain = plain.rstrip()
    length = cell_len(plain)
    if "\n" in plain or length > width or width < 1:
        return None
    fill = width - length
    if how == "left":
        plain, fill = plain + " " * fill, 0
    elif how == "right":
        plain, fill = " " * fill + plain, 0
    elif how == "center":
        plain, fill = " " * (fill // 2) + plain + " " * (fill - fill // 2), 0
    key = (pre_style, post_style, cell.style)
    made = styles.get(key)
    if made is None:
        made = _keep(styles, key, _line_styles(console, cell.style, pre_style, post_style))
    blank, text_style = made
    if text_style == blank:
        return [Segment(" " * padding + plain + " " * (fill + padding), blank)]
    line = [Segment(" " * padding, blank)] if padding else []
    if plain:
        line.append(Segment(plain, text_style))
    if fill + padding:
        line.append(Segment(" " * (fill + padding), blank))
    return line


def _line_styles(
    console: Console, cell_style: str | Style, pre_style: Style, post_style: Style | None
) -> tuple[Style, Style]:
    """The styles of a cell's blank and of its text (a Text's own style, as the wrap's
    join gives it: a span of that style)."""
    blank = pre_style + post_style if post_style else pre_style
    style = console.get_style(cell_style, default=Style.null()) if cell_style else None
    if not style:
        return blank, blank
    text_style = pre_style + style
    return blank, text_style + post_style if post_style else text_style


class FastCells(DataTable[CellType]):
    """A DataTable whose one-line cells are drawn by `one_line_cell`, a row at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a row's line, kept until the row, its styles or whether the cursor is on it
        # change (DataTable keeps one per cursor position: every row is drawn again when
        # the cursor moves)
        self._rows_drawn: LRUCache[tuple[object, ...], tuple[SegmentLines, SegmentLines]]
        self._rows_drawn = LRUCache(1000)
        self._fixed_style: Style | None = None  # the pinned cells' (a DOM walk to make)
        # A cell's styles hold its place (meta: row, column), so each is a new sum that
        # Rich's cache of sums (1,024 entries) does not keep across a frame of ~400
        # cells: making them was 13 us a cell, a third of drawing a screen of new rows.
        # Kept here by what they are made of, the same places' come back next frame.
        # Plain dicts, emptied when full: an LRUCache look-up costs about what it saves.
        self._pre_styles: dict[tuple[Style, Style, int, int], Style] = {}
        self._line_styles: LineStyles = {}

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._forget_drawn()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_drawn()
        self._line_styles.clear()  # a Text's named style may read otherwise now

    def _forget_drawn(self) -> None:
        """What was drawn with styles or rows that changed."""
        self._rows_drawn.clear()
        self._fixed_style = None

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """A one-line row of a cell cursor's table as DataTable draws it: its pinned
        cells, then every cell, then the blank to the table's right edge. The cursor's
        and the mouse's cells, and any other row, are drawn by DataTable."""
        row_index = self._row_locations.get(row_key)
        row = self.rows.get(row_key)
        if (
            row_index is None
            or row is None
            or line_no
            or row.height != 1
            or row.auto_height
            or self.cursor_type != "cell"
            or (self._labelled_row_exists and self.show_row_labels)
        ):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        cursor = cursor_location.column if cursor_location.row == row_index else -1
        hover = hover_location.column if hover_location.row == row_index else -1
        width = self.size.width
        key = (
            row_key,
            row_index,
            base_style,
            cursor,
            hover,
            self.show_cursor,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
            width,
        )
        drawn = self._rows_drawn.get(key)
        if drawn is None:
            drawn = self._draw_row(row_index, base_style, cursor, hover, width)
            self._rows_drawn[key] = drawn
        return drawn

    def _draw_row(
        self, row_index: int, base_style: Style, cursor: int, hover: int, width: int
    ) -> tuple[SegmentLines, SegmentLines]:
        columns = self.ordered_columns
        pinned = self.fixed_columns
        row_style = self._get_row_style(row_index, base_style)
        draw = self._cells_drawer(row_index, cursor, hover)
        fixed_row = []
        if pinned:
            if self._fixed_style is None:
                self._fixed_style = self.get_component_styles("datatable--fixed").rich_style
                self._fixed_style += Style.from_meta({"fixed": True})
            fixed_row = [draw(i, c, self._fixed_style) for i, c in enumerate(columns[:pinned])]
        scrollable_row = [draw(i, c, row_style) for i, c in enumerate(columns)]
        table_width = sum(c.get_render_width(self) for c in columns[pinned:])
        remaining = max(0, width - table_width - self._row_label_column_width)
        if row_style.bgcolor is not None:
            faded = Color.from_rich_color(row_style.bgcolor).blend(
                self.background_colors[1], factor=0.25
            )
            extend_style = Style.from_color(color=row_style.color, bgcolor=faded.rich_color)
        else:
            extend_style = Style.from_color(row_style.color, row_style.bgcolor)
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable_row.append([Segment(" " * remaining, extend_style)])
        return fixed_row, scrollable_row

    def _cells_drawer(
        self, row_index: int, cursor: int, hover: int
    ) -> Callable[[int, Column, Style], list[Segment]]:
        """What draws one cell's line of the row (the widget's settings read once a
        row, not once a cell): the cursor's and the mouse's cells through
        `_render_cell`."""
        console, padding, pinned = self.app.console, self.cell_padding, self.fixed_columns
        cells = self._get_row_renderables(row_index)[1]
        plain = [self._cell_styles(fixed) for fixed in (False, True)]
        pre_styles, line_styles = self._pre_styles, self._line_styles

        def draw(index: int, column: Column, style: Style) -> list[Segment]:
            width = column.get_render_width(self)
            on_cursor, on_hover = index == cursor, index == hover
            if not (on_cursor or on_hover):
                component_style, post_style = plain[index < pinned]
                key = (style, component_style, row_index, index)
                pre_style = pre_styles.get(key)
                if pre_style is None:
                    meta = Style.from_meta({"row": row_index, "column": index})
                    pre_style = _keep(pre_styles, key, style + meta + component_style)
                lines = one_line_cell(
                    console, width, cells[index], padding, pre_style, post_style, line_styles
                )
                if lines is not None:
                    return lines[0]
            return self._render_cell(row_index, index, style, width, on_cursor, on_hover)[0]

        return draw

    def _cell_styles(
        self, fixed: bool, hover: bool = False, cursor: bool = False
    ) -> tuple[Style, Style]:
        """A body cell's component and post styles (DataTable's, which it caches)."""
        return self._get_styles_to_render_cell(
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
            component_style, post_style = self._cell_styles(fixed, hover, cursor)
            meta = Style.from_meta({"row": row_index, "column": column_index})
            lines = one_line_cell(
                self.app.console,
                width,
                self._get_row_renderables(row_index)[1][column_index],
                self.cell_padding,
                base_style + meta + component_style,
                post_style,
                self._line_styles,
            )
            if lines is not None:
                self._cell_render_cache[key] = lines
                return lines
        return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
