"""Boxes that read without colour: Textual draws a checked and an unchecked box (and a
radio button) as the same glyph in two colours, which a terminal without colour, a
NO_COLOR user or a colour-blind one cannot tell apart. These draw `[x]` / `[ ]` and
`(•)` / `( )`, keeping Textual's colours on the mark."""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.strip import Strip
from textual.widgets import RadioButton, SelectionList

T = TypeVar("T")


class CheckList(SelectionList[T]):
    """A SelectionList whose boxes are `[x]` and `[ ]`."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        index = self.scroll_offset.y + y
        segments = list(strip)
        if len(segments) < 4 or not 0 <= index < self.option_count:
            return strip  # below the last option: no box drawn
        left, inner, _right, space, *prompt = segments
        checked = self.get_option_at_index(index).value in self.selected
        # The brackets take the prompt's own style (and the box's click target).
        side = (space.style or Style()) + Style.from_meta((left.style or Style()).meta)
        box = [
            Segment("[", side),
            Segment("x" if checked else " ", inner.style),
            Segment("]", side),
        ]
        return Strip([*box, space, *prompt], strip.cell_length)


class Radio(RadioButton):
    """A RadioButton drawn `(•)` when on, `( )` when off."""

    def render(self) -> Content:
        mark = "•" if self.value else " "
        button = Content.assemble("(", (mark, self.get_visual_style("toggle--button")), ")")
        label = self.label.pad(1, 1).stylize_before(self.get_visual_style("toggle--label"))
        return Content.assemble(button, label)
