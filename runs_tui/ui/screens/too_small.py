"""A terminal smaller than the app is laid out for: a notice over every screen, instead of
dialogs and tables cut mid-line. It goes away when the terminal is large enough again,
leaving what was under it as it was."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_SIZE = Size(80, 24)


def too_small(size: Size) -> bool:
    return size.width < MIN_SIZE.width or size.height < MIN_SIZE.height


def notice(size: Size) -> Text:
    text = Text("Terminal too small\n", style="bold")
    text.append(f"{size.width}x{size.height}; runs-tui needs {MIN_SIZE.width}x{MIN_SIZE.height}\n")
    text.append("Enlarge it to go on, or press q to quit", style="dim")
    return text


class TooSmallScreen(ModalScreen[None]):
    """Covers the screens below (keys do not reach them) while the terminal is too small."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]
    DEFAULT_CSS = """
    TooSmallScreen {
        align: center middle;
        background: $background;
    }
    TooSmallScreen > Static {
        width: auto;
        height: auto;
        text-align: center;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(notice(self.app.size), id="too-small")

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#too-small", Static).update(notice(event.size))

    def on_screen_resume(self) -> None:
        """Uncovered by a dialog that came up meanwhile, after the terminal grew."""
        if not too_small(self.app.size):
            self.dismiss()
