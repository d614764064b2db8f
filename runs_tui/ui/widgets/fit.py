"""Tables that fit a width by leaving columns out, least important first, rather than
squeezing every column until names are cut: at 45 cells `loss/train` and `loss/val`
must not both read `loss/…`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.style import Style
from rich.table import Table
from rich.text import Text

from runs_tui.ui.safe import text as safe_text

PAD = 2  # cells of padding a column takes besides its content


@dataclass
class Col:
    """A column: `rank` says what goes first when the width runs out (higher: sooner);
    a `name` column is always kept, and folds onto more lines instead of being cut."""

    header: str
    cells: list[Text] = field(default_factory=list)
    rank: int = 0
    name: bool = False
    right: bool = False

    def add(self, cell: object) -> None:
        """A cell: `Text` as it is, anything else as one safe line (None: empty)."""
        if not isinstance(cell, Text):
            cell = safe_text("" if cell is None else cell)
        self.cells.append(cell)

    @property
    def natural(self) -> int:
        return max([len(self.header), *(c.cell_len for c in self.cells)])


def kept(columns: Sequence[Col], width: int) -> list[Col]:
    """The columns that fit `width`, in their order: the least important are left out
    until the rest fit (names are kept whatever their width)."""
    chosen = list(columns)
    for drop in sorted((c for c in columns if not c.name), key=lambda c: -c.rank):
        if sum(c.natural + PAD for c in chosen) <= width:
            break
        chosen.remove(drop)
    return chosen


def fitted(columns: Sequence[Col], width: int) -> Table:
    """A table of the `columns` that fit `width` (all of them for 0: width unknown)."""
    shown = kept(columns, width) if width > 0 else list(columns)
    table = Table(box=None, padding=(0, 1), header_style=Style(bold=True))
    for c in shown:
        table.add_column(
            c.header,
            justify="right" if c.right else "left",
            no_wrap=not c.name,
            overflow="fold" if c.name else "ellipsis",
        )
    for row in zip(*(c.cells for c in shown), strict=True):
        table.add_row(*row)
    return table
