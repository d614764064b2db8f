"""The baseline for bench/bytes.py and bench/startup.py: a bare Textual app with a
DataTable of N rows shaped like the runs table's default columns (no database, no
screens, no refresh), quit with "q".

Usage: python bench/bare.py [--rows 1000]
"""

from __future__ import annotations

import argparse

from textual.app import App, ComposeResult
from textual.widgets import DataTable

COLUMNS = ("RUN", "VERSION", "TAGS", "STATUS", "USER", "STARTED", "UPDATED", "RUN TIME")


class Bare(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        for n in range(self.rows, 0, -1):
            table.add_row(
                f"#{n}", "1.2.0", "baseline", "Completed", "alice", "3h ago", "2h ago", "1h 02m"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    Bare(parser.parse_args().rows).run()


if __name__ == "__main__":
    main()
