"""Terminal output that sends only the cells that changed, for sessions over SSH.

Textual repaints the regions widgets mark dirty and writes each dirty line from the left
edge of the widget to the end of the region, every segment with its full style and a
reset: one changed cell of the runs table costs the whole row, ~500 bytes. Here the app
keeps what it last wrote to each cell of the terminal (`Shadow`) and turns a partial
update into cursor moves and the cells that differ, styles set only where they change.

A full-screen update (the first frame, a resize, another screen, a resume) is written
whole, as Textual writes it, and resets what is known: anything else that touched the
terminal is followed by one. The update objects' attributes (`ChopsUpdate.chops`,
`spans`, `chop_ends`, `LayoutUpdate.strips`, `region`) are Textual's private API (pinned
in pyproject.toml, checked by tests/test_textual_canary.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from rich.cells import cell_len, get_character_cell_size
from rich.color import ColorSystem
from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.strip import Strip

GAP = 4  # unchanged cells written through rather than a cursor move (~8 bytes)


# What one terminal cell shows: its text ("" for the second half of a wide character),
# its SGR parameters and its link ("" for none). Plain tuples: a full screen is ~4,000.
Cell = tuple[str, str, str]
Line = list[Cell | None]  # None: not known (not written since the last full update)
Run = tuple[int, int, list[Cell]]  # cells written from (x, y) on


class Shadow:
    """What the terminal shows, as far as this app wrote it."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.width = 0

    def reset(self, width: int, height: int) -> None:
        self.width = width
        self.lines = [[None] * width for _ in range(height)]


class Written(CompositorUpdate):
    """An update whose terminal sequence is already made; rendering it records its cells
    as shown (only then: Textual drops updates it does not write)."""

    def __init__(self, sequence: str, shadow: Shadow, runs: list[Run]) -> None:
        self.sequence = sequence
        self.shadow = shadow
        self.runs = runs
        self.reset_to: tuple[int, int] | None = None

    def render_segments(self, console: Console) -> str:
        if self.reset_to is not None:
            self.shadow.reset(*self.reset_to)
        lines, width = self.shadow.lines, self.shadow.width
        for x, y, cells in self.runs:
            if 0 <= y < len(lines) and 0 <= x < width:
                n = min(len(cells), width - x)
                lines[y][x : x + n] = cells[:n]
        return self.sequence


class LeanOutput:
    """Turns Textual's compositor updates into what the terminal lacks."""

    def __init__(self) -> None:
        self.shadow = Shadow()

    def prepare(
        self, update: RenderableType, console: Console
    ) -> RenderableType | CompositorUpdate | None:
        """What to hand Textual instead of `update`; None when the terminal already shows
        it. Other renderables pass through and make what is known unknown."""
        if isinstance(update, ChopsUpdate):
            return self._partial(update, _color_system(console))
        if isinstance(update, LayoutUpdate):
            return self._full(update, console)
        self.shadow.reset(0, 0)
        return update

    def _full(self, update: LayoutUpdate, console: Console) -> Written:
        system = _color_system(console)
        region = update.region
        runs: list[Run] = []
        for y, line in enumerate(update.strips, region.y):
            x = region.x
            for strip in line:
                cells = _cells(strip, system)
                runs.append((x, y, cells))
                x += len(cells)
        written = Written(update.render_segments(console), self.shadow, runs)
        written.reset_to = (region.right, region.bottom) if region.x == region.y == 0 else None
        return written

    def _partial(self, update: ChopsUpdate, system: ColorSystem) -> Written | None:
        lines = self.shadow.lines
        out: list[str] = []
        state: tuple[str, str] | None = None  # the SGR and link in force; None: unknown
        changed: list[Run] = []
        made: dict[tuple[int, int], list[Cell]] = {}
        for y, x1, x2 in update.spans:
            lo, cells = _span_cells(update, y, x1, x2, system, made)
            shown = lines[y][lo : lo + len(cells)] if 0 <= y < len(lines) else []
            if shown == cells:
                continue
            shown += [None] * (len(cells) - len(shown))
            for start, run in _runs(cells, shown, x1 - lo):
                out.append(f"\x1b[{y + 1};{lo + start + 1}H")
                for text, sgr, link in run:
                    if state != (sgr, link):
                        out.append(f"\x1b[0;{sgr}m" if sgr else "\x1b[0m")
                        state = (sgr, link)
                    out.append(f"\x1b]8;;{link}\x1b\\{text}\x1b]8;;\x1b\\" if link else text)
                changed.append((lo + start, y, run))
        if not changed:
            return None
        if state is not None and state[0]:
            out.append("\x1b[0m")
        return Written("".join(out), self.shadow, changed)


def _color_system(console: Console) -> ColorSystem:
    return COLOR_SYSTEMS.get(console.color_system or "truecolor", ColorSystem.TRUECOLOR)


def _cells(strip: Strip | Iterable[Segment], system: ColorSystem) -> list[Cell]:
    """One Cell per terminal column. A segment whose characters do not add up to its
    width (emoji sequences) is kept whole in its first cell, so positions never drift."""
    out: list[Cell] = []
    for text, style, _control in strip:
        if not text:
            continue
        sgr, link = _look(style, system)
        if text.isascii():  # the common case: a character a cell
            out.extend([(char, sgr, link) for char in text])
            continue
        mine: list[Cell] = []
        for char in text:
            size = get_character_cell_size(char)
            if size == 0 and mine:
                mine[-1] = (mine[-1][0] + char, sgr, link)
                continue
            mine.append((char, sgr, link))
            mine.extend([("", sgr, link)] * (size - 1))
        width = cell_len(text)
        if len(mine) != width:
            mine = [(text, sgr, link), *[("", sgr, link)] * (width - 1)]
        out.extend(mine)
    return out


def _look(style: Style | None, system: ColorSystem) -> tuple[str, str]:
    if style is None:
        return "", ""
    return Strip.render_ansi(style, system), style.link or ""


def _span_cells(
    update: ChopsUpdate,
    y: int,
    x1: int,
    x2: int,
    system: ColorSystem,
    made: dict[tuple[int, int], list[Cell]],
) -> tuple[int, list[Cell | None]]:
    """The cells of line `y` from x1 - 1 (the first half of a wide character the span may
    start in) to x2, and the second half of one it ends in: where they start and the
    cells (None where no chop has them: Textual writes nothing there)."""
    lo = max(x1 - 1, 0)
    row: list[Cell | None] = [None] * (x2 + 1 - lo)
    for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
        if strip is None or x >= x2 + 1 or end <= lo:
            continue
        cells = made.get((x, y))
        if cells is None:  # a line's spans share its chops
            cells = made[x, y] = _cells(strip, system)
        first, last = max(lo, x), min(end, x2 + 1, x + len(cells))
        row[first - lo : last - lo] = cells[first - x : last - x]
    if row[-1] is not None and row[-1][0] != "":  # past x2: only the end of a wide one
        row[-1] = None
    while row and row[-1] is None:
        row.pop()
    return lo, row


def _runs(
    cells: list[Cell | None], shown: list[Cell | None], first: int
) -> Iterable[tuple[int, list[Cell]]]:
    """Runs of `cells` to write: those from `first` on that differ from what is `shown`,
    joined across gaps of at most GAP unchanged cells (cheaper than moving the cursor);
    a run never starts on the second half of a wide character nor ends before it."""
    xs = [i for i in range(first, len(cells)) if cells[i] is not None and cells[i] != shown[i]]
    if not xs:
        return
    start = prev = xs[0]
    for x in [*xs[1:], None]:
        if x is not None and x - prev <= GAP + 1 and None not in cells[prev:x]:
            prev = x
            continue
        while start > 0 and _second_half(cells[start]) and cells[start - 1] is not None:
            start -= 1
        end = prev
        while end + 1 < len(cells) and _second_half(cells[end + 1]):
            end += 1
        yield start, cast(list[Cell], cells[start : end + 1])
        if x is not None:
            start = prev = x


def _second_half(cell: Cell | None) -> bool:
    return cell is not None and cell[0] == ""
