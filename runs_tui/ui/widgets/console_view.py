"""A step's console for reading: numbered lines, stderr marked `!` (and coloured), the
runs-tui and agent notes marked `»`, error-looking lines bold, the current line (the
error, a match) marked `▶` and highlighted, and the searched text highlighted.

Only the lines on screen are drawn (the Line API), so a log of 50,000 lines costs
what 50 do; the gutter stays put while long lines scroll sideways. The lines are
already safe (`core.errors.ConsoleLine`) and are drawn as `Text`, never markup."""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runs_tui.core.errors import ConsoleLine, is_error, spans

CURRENT, STDERR, NOTE = "▶", "!", "»"


def stream_mark(line: ConsoleLine) -> str:
    """The gutter's mark of where a line came from: `!` stderr, `»` a note of the agent
    or of runs-tui, nothing for stdout."""
    if line.stderr:
        return STDERR
    return NOTE if line.stream != "stdout" else " "


class ConsoleView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "console--gutter",
        "console--stderr",
        "console--note",
        "console--error",
        "console--current",
        "console--match",
    }
    DEFAULT_CSS = """
    ConsoleView {
        background: $surface;
        color: $foreground;
        & > .console--gutter { color: $text-muted; }
        & > .console--stderr { color: $text-error; }
        & > .console--note { color: $text-muted; text-style: italic; }
        & > .console--error { text-style: bold; }
        & > .console--current { background: $accent 35%; }
        & > .console--match { background: $warning; color: $background; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[ConsoleLine] = []
        self.current: int | None = None  # the line marked ▶
        self.needle = ""  # the searched text, highlighted where it occurs
        self._digits = 1
        self._text_width = 0

    @property
    def head_width(self) -> int:
        """`▶ 1234 ! `: the current mark, the line number, the stream mark."""
        return self._digits + 5

    def show(self, lines: list[ConsoleLine], width: int) -> None:
        """The lines to show; `width` is the widest's cells (measured off the UI thread)."""
        self.lines = lines
        self._digits = len(str(len(lines)))
        self._text_width = width
        self.virtual_size = Size(self.head_width + width, len(lines))
        self.refresh()

    def mark(self, index: int | None, needle: str | None = None) -> None:
        """Make `index` the current line (and `needle` the searched text) and scroll it
        into view, a third of the way down, with the match's start on screen."""
        self.current = index
        if needle is not None:
            self.needle = needle
        self.refresh()
        if index is not None:
            self.call_after_refresh(self._reveal, index)

    def _reveal(self, index: int) -> None:
        height = self.scrollable_content_region.height
        room = self.scrollable_content_region.width - self.head_width
        found = spans(self.lines[index].text, self.needle) if self.needle else []
        at = cell_len(self.lines[index].text[: found[0][0]]) if found else 0
        x = 0 if at < room - 4 else at - room // 3
        self.scroll_to(x=x, y=max(index - height // 3, 0), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[index]
        current = index == self.current
        row_style = base + self.get_component_rich_style("console--current") if current else base
        number = f"{index + 1:>{self._digits}}"
        gutter = Text.assemble(
            (CURRENT if current else " ", row_style),
            " ",
            (number, self.get_component_rich_style("console--gutter")),
            " ",
            (stream_mark(line), self._stream_style(line)),
            " ",
            style=row_style,
        )
        text = Text(line.text, style=row_style, no_wrap=True, end="")
        text.stylize(self._stream_style(line))
        if is_error(line.text):
            text.stylize(self.get_component_rich_style("console--error"))
        for start, end in spans(line.text, self.needle):
            text.stylize(self.get_component_rich_style("console--match"), start, end)
        console = self.app.console
        head = Strip(gutter.render(console), self.head_width)
        body = Strip(list(text.render(console)), cell_len(line.text))
        room = max(width - self.head_width, 0)
        body = body.crop_extend(scroll_x, scroll_x + room, row_style)
        return Strip.join([head, body])

    def _stream_style(self, line: ConsoleLine) -> Style:
        if line.stderr:
            return self.get_component_rich_style("console--stderr")
        if line.stream != "stdout":
            return self.get_component_rich_style("console--note")
        return Style.null()
