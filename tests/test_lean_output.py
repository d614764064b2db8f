"""runs_tui.ui.lean on its own: after any series of updates (full, then partial ones with
any spans, wide and combining characters, links, styles) the terminal shows the
screen's lines exactly (Textual's own output writes a space for half of a wide
character a span cuts), in about as many bytes as Textual's output at most; an update
that changes nothing writes nothing; an update Textual drops is not taken as shown."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from support import examples
from textual._compositor import ChopsUpdate, Compositor, CompositorUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip
from vt_support import Terminal

from runs_tui.ui.lean import LeanOutput

WIDTH, HEIGHT = 24, 4
CONSOLE = Console(color_system="truecolor", force_terminal=True, width=WIDTH)
STYLES = [
    None,
    Style(color="red"),
    Style(color="red", bgcolor="grey23", bold=True),
    Style(color="#1f77b4", bgcolor="white"),
    Style(link="https://example.com/run/1", color="blue"),
]
TOKENS = ["a", "b", "#", "%", " ", "日", "e\u0301"]  # narrow, wide, with a combining mark

Token = tuple[str, Style | None]
Screen = list[list[Token]]


def _tokens(rng: random.Random, width: int) -> list[Token]:
    """Tokens filling exactly `width` cells."""
    out: list[Token] = []
    while width > 0:
        text = rng.choice(TOKENS if width > 1 else TOKENS[:5])
        out.append((text, rng.choice(STYLES)))
        width -= cell_len(text)
    return out


def _strips(screen: Screen) -> list[Strip]:
    return [Strip([Segment(text, style) for text, style in line], WIDTH) for line in screen]


def _changed(rng: random.Random, screen: Screen) -> tuple[Screen, list[tuple[int, int, int]]]:
    """New content in a few spans, the rest as it was (what a widget's refresh declares);
    a token straddling a span's edge stays."""
    spans, out = [], [list(line) for line in screen]
    for _ in range(rng.randint(1, 4)):
        y = rng.randrange(HEIGHT)
        x1 = rng.randrange(WIDTH)
        x2 = rng.randint(x1 + 1, WIDTH)
        spans.append((y, x1, x2))
        line, x, kept, inside = out[y], 0, [], []
        for token in line:
            width = cell_len(token[0])
            (inside if x >= x1 and x + width <= x2 else kept).append((x, token))
            x += width
        if inside:
            lo = inside[0][0]
            hi = inside[-1][0] + cell_len(inside[-1][1][0])
            before = [t for at, t in kept if at < lo]
            after = [t for at, t in kept if at >= hi]
            out[y] = before + _tokens(rng, hi - lo) + after
    return out, spans


def _full(screen: Screen) -> LayoutUpdate:
    return LayoutUpdate([[strip] for strip in _strips(screen)], Region(0, 0, WIDTH, HEIGHT))


def _partial(screen: Screen, spans: list[tuple[int, int, int]]) -> ChopsUpdate:
    """The update Textual makes when these spans are dirty (one widget, the whole screen)."""
    regions = (Region(x1, y, x2 - x1, 1) for y, x1, x2 in spans)
    merged = list(Compositor._regions_to_spans(regions))
    return ChopsUpdate([{0: strip} for strip in _strips(screen)], merged, [[WIDTH]] * HEIGHT)


def _truth(screen: Screen) -> Terminal:
    """What the screen's lines look like, written whole to a blank terminal."""
    term = Terminal(WIDTH, HEIGHT)
    term.feed(_full(screen).render_segments(CONSOLE))
    return term


def _write(lean: LeanOutput, update: CompositorUpdate, term: Terminal) -> str:
    prepared = lean.prepare(update, CONSOLE)
    if prepared is None:
        return ""
    assert isinstance(prepared, CompositorUpdate)
    sequence = prepared.render_segments(CONSOLE)
    term.feed(sequence)
    return sequence


@settings(max_examples=examples(300), deadline=None)
@given(seed=st.integers(0, 2**32))
def test_lean_output_shows_what_textual_shows_from_fewer_bytes(seed: int):
    rng = random.Random(seed)
    screen = [_tokens(rng, WIDTH) for _ in range(HEIGHT)]
    lean, shown = LeanOutput(), Terminal(WIDTH, HEIGHT)
    _write(lean, _full(screen), shown)
    assert shown.cells == _truth(screen).cells
    for _ in range(rng.randint(1, 6)):
        screen, spans = _changed(rng, screen)
        update = _partial(screen, spans)
        written = _write(lean, update, shown)
        assert shown.cells == _truth(screen).cells, (spans, written)
        assert len(written) <= len(update.render_segments(CONSOLE)) + 16


def test_an_update_that_changes_nothing_writes_nothing_and_one_cell_writes_one():
    line = [("#12  Running 40%  3m 05s", STYLES[2])]
    screen: Screen = [line] * HEIGHT
    lean, shown = LeanOutput(), Terminal(WIDTH, HEIGHT)
    _write(lean, _full(screen), shown)
    assert lean.prepare(_partial(screen, [(1, 0, WIDTH)]), CONSOLE) is None
    changed = list(screen)
    changed[1] = [("#12  Running 41%  3m 05s", STYLES[2])]
    sequence = _write(lean, _partial(changed, [(1, 0, WIDTH)]), shown)
    assert sequence == "\x1b[2;15H\x1b[0;1;31;48;5;237m1\x1b[0m"
    assert shown.text()[1].startswith("#12  Running 41%")


def test_an_update_textual_drops_is_not_taken_as_shown():
    screen: Screen = [[("a" * WIDTH, None)]] * HEIGHT
    other: Screen = [[("b" * WIDTH, None)]] * HEIGHT
    lean, shown = LeanOutput(), Terminal(WIDTH, HEIGHT)
    _write(lean, _full(screen), shown)
    assert lean.prepare(_partial(other, [(0, 0, WIDTH)]), CONSOLE) is not None  # not rendered
    sequence = _write(lean, _partial(other, [(0, 0, WIDTH)]), shown)
    assert "b" * WIDTH in sequence
    assert shown.text()[0] == "b" * WIDTH
