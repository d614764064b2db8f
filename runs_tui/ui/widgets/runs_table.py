"""The runs table: a DataTable that applies a fresh window by changing only what changed.

Rows are keyed by run id; the cursor follows its run, not its row number, and
the scroll position is kept. Marks are a set of run ids drawn in the first column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from runs_tui.core.columns import Column
from runs_tui.core.mark_set import MarkSet
from runs_tui.core.records import RunId, RunRow
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView
from runs_tui.ui.render import MARK, render_cell
from runs_tui.ui.widgets.fast_cells import FastCells

MARK_KEY = "__mark"


def header_markers(view: TableView) -> dict[str, str]:
    """Sort direction and order (▲1 ▼2) and a filter mark (≡) per column spec."""
    out: dict[str, str] = {}
    for i, key in enumerate(view.sort, 1):
        out[key.column] = ("▼" if key.desc else "▲") + (str(i) if len(view.sort) > 1 else "")
    for spec in view.filtered_columns():
        out[spec] = out.get(spec, "") + "≡"
    return out


def pinned(columns: Sequence[Column]) -> int:
    """How many columns stay put when the table scrolls right: the mark column, and RUN
    when it leads (as ClearML pins its first column). Another leading column is not
    pinned: it may be wide (TAGS), and a pinned column the user moved RUN away from would
    say nothing about the row."""
    return 2 if columns and columns[0].spec == "run" else 1


class RunsTable(FastCells[Text]):
    """Runs as rows, column specs as columns."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # the app's `?`, bound here too so that the footer shows it first (after enter,
        # which DataTable binds first)
        Binding("question_mark", "app.help", "Help", key_display="?", id="help"),
        Binding("enter", "screen.details", "Details", id="details"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "runs-table--cursor-row",
        "runs-table--marked",
    }
    DEFAULT_CSS = """
    RunsTable > .runs-table--cursor-row { background: $boost; }
    RunsTable > .runs-table--marked { background: $accent 25%; }
    RunsTable > .datatable--fixed { background: $panel; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=False, **kwargs)
        self.columns_shown: list[Column] = []
        self.widths: dict[str, int] = {}
        self.precise: set[str] = set()
        self.markers: dict[str, str] = {}
        self.marks = MarkSet()
        self.order: list[RunId] = []
        self._where: dict[RunId, int] | None = None  # positions in `order`, when asked
        self.rows_by_id: dict[RunId, RunRow] = {}
        self._cells: dict[RunId, list[Text]] = {}
        self.at = 0.0
        self._after_drawn: list[Callable[[], object]] = []

    def after_drawn(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the table has drawn its rows as they are now (at once when
        it is not on screen): work that follows a load, started in a thread, would
        otherwise hold the GIL while the frame that shows the load is made."""
        if not (self.screen.is_current and self.is_on_screen):
            callback()
            return
        self._after_drawn.append(callback)
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        lines = super().render_lines(crop)
        # after this frame is written: the table's next message, not the screen's next
        # idle moment (call_after_refresh), which waits while other widgets are dirty
        # (two more frames, 40-80 ms, after a search's rows)
        for callback in self._after_drawn:
            self.call_later(callback)
        self._after_drawn.clear()
        return lines

    @property
    def cursor_run(self) -> RunRow | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.rows_by_id.get(self.order[self.cursor_row])

    @property
    def cursor_spec(self) -> Column | None:
        index = self.cursor_column - 1
        if 0 <= index < len(self.columns_shown):
            return self.columns_shown[index]
        return None

    def set_columns(
        self,
        columns: Sequence[Column],
        widths: dict[str, int] | None = None,
        precise: set[str] | None = None,
        markers: dict[str, str] | None = None,
    ) -> None:
        """Replace the columns (headers carry `markers`); rows are rebuilt from what is
        loaded. The same columns again change nothing: a new search keeps the columns, and
        rebuilding the rows it is about to replace would only delay them."""
        same = (list(columns), widths or {}, precise or set(), markers or {})
        if self.columns and same == (self.columns_shown, self.widths, self.precise, self.markers):
            return
        spec = self.cursor_spec
        run = self.cursor_run
        offset = self.cursor_row - int(self.scroll_y)
        self.columns_shown = list(columns)
        self.widths = dict(widths or {})
        self.precise = set(precise or set())
        self.markers = dict(markers or {})
        self.clear(columns=True)
        self.fixed_columns = pinned(self.columns_shown)
        self.add_column(Text(" "), key=MARK_KEY, width=1)
        for column in self.columns_shown:
            self.add_column(
                self._header(column), key=column.spec, width=self.widths.get(column.spec)
            )
        rows = [self.rows_by_id[i] for i in self.order]
        self.order, self._cells, self._where = [], {}, None
        column_index = self.columns_shown.index(spec) + 1 if spec in self.columns_shown else 1
        self._rebuild(
            rows, keep_run=run.id if run else None, column=column_index, screen_offset=offset
        )

    def _header(self, column: Column) -> Text:
        name = column.header.upper() if column.source == "builtin" else one_line(column.header)
        text = Text(name, style=Style(bold=True))
        marker = self.markers.get(column.spec)
        if marker:
            text.append(f" {marker}", Style(color="yellow", bold=True))
        return text

    def _cells_for(self, row: RunRow) -> list[Text]:
        mark = Text(MARK if row.id in self.marks else " ", style=Style(color="yellow", bold=True))
        return [
            mark,
            *(render_cell(row, c, self.at, c.spec in self.precise) for c in self.columns_shown),
        ]

    def apply(self, rows: Sequence[RunRow], at: float) -> bool:
        """Show `rows`; returns whether anything on screen changed."""
        self.at = at
        new_order = [r.id for r in rows]
        if new_order != self.order:
            self._rebuild(rows, keep_run=self.order[self.cursor_row] if self.order else None)
            return True
        return self._redraw(enumerate(rows))

    def splice(self, start: int, span: int, rows: Sequence[RunRow], at: float) -> bool:
        """Put `rows` at the loaded positions `start` to `start + span` (fewer rows than
        `span`: the result ends there); a run they bring is taken from where it was. Rows
        are rebuilt only when the order changed; returns whether anything changed."""
        self.at = at
        if not rows and span == 0:
            return False  # only the clock moved
        ids = [r.id for r in rows]
        end = start + len(ids)
        if self.order[start:end] == ids and (len(ids) == span or end == len(self.order)):
            return self._redraw((start + i, row) for i, row in enumerate(rows))  # in place
        fresh = set(ids)
        head = [i for i in self.order[:start] if i not in fresh]
        tail = [] if len(rows) < span else self.order[start + span :]
        order = head + [r.id for r in rows] + [i for i in tail if i not in fresh]
        if order[: len(self.order)] == self.order and len(order) > len(self.order):
            self._append(rows[len(rows) - (len(order) - len(self.order)) :])
            return True
        if order != self.order:
            known = {**self.rows_by_id, **{r.id: r for r in rows}}
            keep = self.order[self.cursor_row] if self.order else None
            self._rebuild([known[i] for i in order], keep_run=keep)
            return True
        return self._redraw((start + i, row) for i, row in enumerate(rows))

    def _append(self, rows: Sequence[RunRow]) -> None:
        """Add rows after the last: what is loaded stays as it is (a page loaded more)."""
        for row in rows:
            cells = self._cells_for(row)
            self.order.append(row.id)
            if self._where is not None:
                self._where[row.id] = len(self.order) - 1
            self.rows_by_id[row.id] = row
            self._cells[row.id] = cells
            self.add_row(*cells, key=str(row.id))

    def update_rows(self, rows: Sequence[RunRow]) -> bool:
        """Show loaded runs that changed, where they are."""
        where = self.positions() if rows else {}
        return self._redraw((where[r.id], r) for r in rows if r.id in where)

    def positions(self) -> dict[RunId, int]:
        """Each loaded run's position: made once per order, not on every tick (at
        100,000 rows loaded it takes 30 ms of the UI thread)."""
        if self._where is None:
            self._where = {run_id: i for i, run_id in enumerate(self.order)}
        return self._where

    def retime(self, at: float, start: int, stop: int) -> bool:
        """Draw the rows at positions `start` to `stop` again as of `at` (run times)."""
        self.at = at
        ids = self.order[start:stop]
        return self._redraw((start + i, self.rows_by_id[run_id]) for i, run_id in enumerate(ids))

    def _redraw(self, rows: Iterable[tuple[int, RunRow]]) -> bool:
        """Redraw the cells that changed of (position, run) pairs."""
        changed = False
        for index, row in rows:
            self.rows_by_id[row.id] = row
            cells = self._cells_for(row)
            old = self._cells.get(row.id, [])
            for i, (new, before) in enumerate(zip(cells, old, strict=False)):
                if new.plain != before.plain or new.spans != before.spans:
                    self._set_cell(index, i, new)
                    changed = True
            self._cells[row.id] = cells
        return changed

    def _set_cell(self, row_index: int, column_index: int, cell: Text) -> None:
        """Show a changed value. One that fits its column is drawn alone, so a tick sends
        the few cells that changed rather than the whole table (`update_cell` redraws
        every visible row); a wider one goes through `update_cell` to widen the column.
        Uses DataTable's private `_data` and `_update_count` (Textual is pinned in
        pyproject.toml; tests/test_textual_canary.py checks both)."""
        coordinate = Coordinate(row_index, column_index)
        row_key, _ = self.coordinate_to_cell_key(coordinate)
        column = self.ordered_columns[column_index]
        if column.auto_width and cell.cell_len > column.content_width:
            self.update_cell(row_key, column.key, cell, update_width=True)
            return
        self._data[row_key][column.key] = cell
        self._update_count += 1
        top = int(self.scroll_y)
        if top <= row_index < top + self.size.height:  # off screen: drawn when scrolled to
            self.refresh(self._cell_region(row_index, column_index))

    def _cell_region(self, row_index: int, column_index: int) -> Region:
        """Where a cell is on screen, every row being one line high (DataTable's own
        `refresh_coordinate` adds up the heights of every row above: O(rows) a cell)."""
        widths = [c.get_render_width(self) for c in self.ordered_columns[: column_index + 1]]
        y = row_index + (self.header_height if self.show_header else 0)
        region = Region(sum(widths[:-1]), y, widths[-1], 1)
        if column_index < self.fixed_columns:  # pinned: scrolls up and down only
            return region.translate((0, -int(self.scroll_y)))
        return region.translate(-self.scroll_offset)

    def _rebuild(
        self,
        rows: Sequence[RunRow],
        keep_run: RunId | None,
        column: int | None = None,
        screen_offset: int | None = None,
    ) -> None:
        old_index = self.cursor_row
        if screen_offset is None:
            screen_offset = old_index - int(self.scroll_y)
        column = self.cursor_column if column is None else column
        self.clear(columns=False)
        self.order, self._where = [r.id for r in rows], None
        self.rows_by_id = {r.id: r for r in rows}
        self._cells = {}
        for row in rows:
            cells = self._cells_for(row)
            self._cells[row.id] = cells
            self.add_row(*cells, key=str(row.id))
        if not rows:
            return
        index = (
            self.order.index(keep_run)
            if keep_run in self.rows_by_id
            else min(old_index, len(rows) - 1)
        )
        self.move_cursor(row=index, column=max(column, 1), animate=False, scroll=False)
        self.scroll_to(y=max(index - screen_offset, 0), animate=False, immediate=True)

    def refresh_marks(self, run_ids: set[RunId] | None = None) -> None:
        """Redraw the mark cell of `run_ids` (all loaded rows when None)."""
        index = self.positions()
        if run_ids is None or len(run_ids) > len(index):  # "All" at 1M: only loaded rows
            run_ids = set(index) if run_ids is None else set(index).intersection(run_ids)
        for run_id in run_ids:
            row = self.rows_by_id.get(run_id)
            if row is None:
                continue
            cells = self._cells[run_id]
            cells[0] = self._cells_for(row)[0]
            self._set_cell(index[run_id], 0, cells[0])

    def column_width(self, spec: str) -> int:
        """The content width the column has on screen now."""
        return self.columns[ColumnKey(spec)].get_render_width(self) - 2 * self.cell_padding

    def move_to_run(self, run_id: RunId) -> bool:
        if run_id not in self.rows_by_id:
            return False
        self.move_cursor(row=self.positions()[run_id])
        return True

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """New rows' cells are measured here: the widest line of their text, as Rich
        measures a Text (DataTable asks Rich of every cell: 20 ms for a screen of rows);
        a row with a label, a height of its own or another renderable, by DataTable.
        Lines drawn before the columns were measured (right after `set_columns`) are
        cached at header width; measuring must draw them again."""
        others: list[RowKey] = []
        columns = self.ordered_columns
        for key in new_rows:
            index, row = self._row_locations.get(key), self.rows.get(key)
            if index is None or row is None:
                continue  # removed before the table was idle
            if row.label is not None or row.auto_height:
                others.append(key)
                continue
            cells = self._get_row_renderables(index)[1]
            for column, cell in zip(columns, cells, strict=False):
                if not isinstance(cell, Text):
                    others.append(key)
                    break
                lines = cell.plain.splitlines()
                width = max(map(cell_len, lines)) if lines else 0
                column.content_width = max(column.content_width, width)
        super()._update_dimensions(others)
        self._update_count += 1
        self.refresh()

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style = super()._get_row_style(row_index, base_style)
        if 0 <= row_index < len(self.order):
            if self.order[row_index] in self.marks:
                style += self.get_component_styles("runs-table--marked").rich_style
            if row_index == self.cursor_row and self.show_cursor:
                style += self.get_component_styles("runs-table--cursor-row").rich_style
        return style
