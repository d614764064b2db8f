"""Customizing the table from the main screen: sort, filters, search, columns, widths,
precise floats, the shareable view string and export. Every change goes through
`apply_view`, which re-queries and saves the view for the pipeline."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input

from runs_tui.core import export, facets, query
from runs_tui.core.columns import Kind, parse_column
from runs_tui.core.columns import metric_spec as metric_column
from runs_tui.core.db import StoreError
from runs_tui.core.query import RangeFilter, SortKey, ValueFilter
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView
from runs_tui.ui.screens.columns import ColumnsScreen, ExportScreen
from runs_tui.ui.screens.filters import (
    Chosen,
    RangeFilterScreen,
    TagFilterScreen,
    ValueFilterScreen,
)
from runs_tui.ui.screens.run_actions import RunActions

WIDTH_STEP = 2


class SearchInput(Input):
    """The `/` prompt: enter searches, escape closes it and keeps the current search."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    def action_close(self) -> None:
        self.display = False
        self.screen.query_one("#runs").focus()


class ViewActions(RunActions):
    """The table-customizing keys of the main screen, which provides `view` and
    `apply_view`."""

    view: TableView

    def apply_view(self, view: TableView, *, save: bool = True) -> None:
        raise NotImplementedError

    def _cursor_spec(self) -> str | None:
        column = self.table.cursor_spec
        return column.spec if column is not None else None

    def action_sort(self, secondary: bool = False) -> None:
        spec = self._cursor_spec()
        if spec is not None:
            self.sort_by(spec, secondary)

    def sort_by(self, spec: str, secondary: bool) -> None:
        """`s`: asc, desc, off as the first sort key (another column becomes the only key);
        `S`: the same as one more sort key."""
        keys = list(self.view.sort)
        current = next((k for k in keys if k.column == spec), None)
        if not secondary:
            if current is None or keys[0].column != spec:
                keys = [SortKey(spec)]
            elif not current.desc:
                keys[0] = SortKey(spec, True)
            else:
                keys = keys[1:]
        elif current is None:
            keys.append(SortKey(spec))
        elif not current.desc:
            keys[keys.index(current)] = SortKey(spec, True)
        else:
            keys.remove(current)
        self.apply_view(self.view.with_(sort=tuple(keys)))

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key and key != "__mark":
            self.sort_by(key, secondary=False)

    @work(thread=True, group="ask")
    def action_filter(self) -> None:
        spec = self._cursor_spec()
        if spec is None or self.pipeline is None:
            return
        column = parse_column(spec)
        q = self.view.query(self.pipeline.id)
        store = self.runs_app.store
        current = next((f for f in self.view.filters if f.column == spec), None)
        try:
            kind = column.kind
            if column.is_param and facets.is_numeric_param(store, self.pipeline.id, spec):
                kind = Kind.RANGE
            values = (
                facets.distinct_values(store, q, spec) if kind in (Kind.VALUES, Kind.TAGS) else []
            )
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        header = column.header.upper() if column.source == "builtin" else column.header
        screen: ModalScreen[Any]
        if kind is Kind.TAGS:
            screen = TagFilterScreen(values, self.view.tags)
        elif kind is Kind.VALUES:
            selected = current.values if isinstance(current, ValueFilter) else frozenset()
            screen = ValueFilterScreen(spec, header, values, selected)
        else:
            screen = RangeFilterScreen(
                spec,
                header,
                current if isinstance(current, RangeFilter) else None,
                dates=kind is Kind.DATES,
                now=self.runs_app.clock(),
                seconds=spec == "run_time",
            )
        self._push(screen, lambda chosen: self._filtered(spec, chosen))

    def _filtered(self, spec: str, chosen: Chosen[Any] | None) -> None:
        if chosen is not None:
            self.apply_view(self.view.with_filter(spec, chosen.value))

    def action_clear_filters(self) -> None:
        if self.view.active:
            self.apply_view(self.view.with_(filters=(), tags=None, search=""))
            self.notify("Filters and search cleared")

    def action_search(self) -> None:
        box = self.query_one("#search", SearchInput)
        box.value = self.view.search
        box.display = True
        box.focus()

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#search", SearchInput)
        box.display = False
        self.table.focus()
        self.apply_view(self.view.with_(search=event.value.strip()))

    @work(thread=True, group="ask")
    def action_columns(self) -> None:
        if self.pipeline is None:
            return
        store = self.runs_app.store
        try:
            series = facets.metric_series(store, self.pipeline.id)
            params = facets.param_keys(store, self.pipeline.id)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        from runs_tui.core.columns import BUILTIN

        available = [*BUILTIN]
        available += [metric_column(t, s, agg) for t, s in series for agg in ("last", "min", "max")]
        available += [f"p:{key}" for key in params]
        self._push(ColumnsScreen(list(self.view.columns), available), self._columns_chosen)

    def _columns_chosen(self, specs: list[str] | None) -> None:
        if specs:
            self.apply_view(self.view.with_(columns=tuple(specs)))

    def action_hide_column(self) -> None:
        spec = self._cursor_spec()
        if spec is None or len(self.view.columns) <= 1:
            return
        self.apply_view(self.view.with_(columns=tuple(c for c in self.view.columns if c != spec)))

    def action_move_column(self, step: int) -> None:
        spec = self._cursor_spec()
        columns = list(self.view.columns)
        if spec is None or spec not in columns:
            return
        i = columns.index(spec)
        if not 0 <= i + step < len(columns):
            return
        columns[i], columns[i + step] = columns[i + step], columns[i]
        self.apply_view(self.view.with_(columns=tuple(columns)))

    def action_width(self, delta: int) -> None:
        spec = self._cursor_spec()
        if spec is None:
            return
        if delta == 0:
            self.apply_view(self.view.with_width(spec, None))
            return
        current = self.view.width_map.get(spec) or self.table.column_width(spec)
        self.apply_view(self.view.with_width(spec, current + delta * WIDTH_STEP))

    def action_precise(self) -> None:
        spec = self._cursor_spec()
        if spec is not None:
            self.apply_view(self.view.with_(precise=self.view.precise ^ {spec}))
            on_off = "precise" if spec in self.view.precise else "rounded"
            self.notify(f"{one_line(parse_column(spec).header)}: {on_off} values", markup=False)

    def command_line(self) -> str:
        name = self.pipeline.name if self.pipeline else ""
        return (
            f"runs-tui --pipeline {shlex.quote(name)} --view {shlex.quote(self.view.to_string())}"
        )

    def action_copy_view(self) -> None:
        line = self.command_line()
        self.app.copy_to_clipboard(line)
        self.notify(f"Copied: {line}", title="View as a command line", markup=False, timeout=15)

    @work(thread=True, group="ask")
    def action_export(self) -> None:
        if self.pipeline is None:
            return
        q = self.view.query(self.pipeline.id)
        try:
            matching = query.count(self.runs_app.store, q)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.runs_app.clock()))
        default = Path.cwd() / f"runs-{self.pipeline.name}-{stamp}.csv"
        self._push(
            ExportScreen(default, matching),
            lambda chosen: self._export(q, *chosen) if chosen else None,
        )

    @work(thread=True, group="act")
    def _export(self, q: query.RunQuery, path: Path, fmt: str) -> None:
        columns = [parse_column(c) for c in self.view.columns]
        try:
            with path.open("x", encoding="utf-8", newline="") as out:
                n = export.write(
                    self.runs_app.store, q.with_(at=self.runs_app.clock()), columns, fmt, out
                )
        except OSError as exc:
            self.app.call_from_thread(
                self.notify,
                f"Cannot write {path}: {exc.strerror or exc}",
                severity="error",
                markup=False,
            )
            return
        except (SQLAlchemyError, StoreError) as exc:
            path.unlink(missing_ok=True)
            self._failed(exc)
            return
        self.app.call_from_thread(self.notify, f"Exported {n:,} runs to {path}", markup=False)
