"""The Textual app: for now one screen with the pipeline's newest runs."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header

from runs_tui.core import lookup
from runs_tui.core.columns import DEFAULT_COLUMNS, parse_column
from runs_tui.core.db import Store, now, open_store
from runs_tui.core.fmt import cell
from runs_tui.core.query import RunQuery, count, window


class RunsApp(App[None]):
    """The runs table of one pipeline."""

    TITLE = "runs-tui"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(self, store: Store, pipeline: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.pipeline = pipeline

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        columns = [parse_column(c) for c in DEFAULT_COLUMNS]
        for column in columns:
            table.add_column(column.header, key=column.spec)
        summaries = lookup.pipelines(self.store)
        chosen = next((p for p in summaries if p.name == self.pipeline), None)
        chosen = chosen or (summaries[0] if summaries else None)
        if chosen is None:
            self.sub_title = "no pipelines registered"
            return
        q = RunQuery(chosen.id, at=now())
        at = q.at or now()
        for row in window(self.store, q, 0, 200):
            table.add_row(*(Text(cell(row, c, at)) for c in columns), key=str(row.id))
        self.sub_title = f"{chosen.name} · {count(self.store, q)} runs"


def run_app(db: str | None, pipeline: str | None = None, view: str | None = None) -> int:
    store = open_store(db)
    try:
        RunsApp(store, pipeline).run()
    finally:
        store.dispose()
    return 0
