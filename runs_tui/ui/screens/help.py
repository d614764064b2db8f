"""`?`: every key of the current screen and the app, with what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

TWO_TABLES = 150  # from this width on, the keys are in two tables side by side


def keys_view(bindings: list[tuple[str, str, str]], width: int) -> Table:
    """One table of the keys, or, where `width` has room, two side by side (at 200x50
    every key is on screen at once)."""
    if width < TWO_TABLES or len(bindings) < 2:
        return keys_table(bindings)
    half = (len(bindings) + 1) // 2
    grid = Table.grid(padding=(0, 4))
    grid.add_row(keys_table(bindings[:half]), keys_table(bindings[half:]))
    return grid


def keys_table(bindings: list[tuple[str, str, str]]) -> Table:
    table = Table("Key", "Action", "Id", box=None, padding=(0, 2), header_style=Style(bold=True))
    for key, description, binding_id in bindings:
        table.add_row(
            Text(key, Style(bold=True, color="cyan")),
            Text(description),
            Text(binding_id, Style(dim=True)),
        )
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide help"):
            yield Label(
                "Keys (remap them under [keymap] in the config, by id)",
                classes="dialog-title",
                markup=False,
            )
            with VerticalScroll(classes="dialog-body"):
                yield Static(keys_table(self.bindings), id="keys")

    def on_resize(self) -> None:
        self.call_after_refresh(self._reflow)  # once the dialog has its new width

    def _reflow(self) -> None:
        keys = self.query_one("#keys", Static)
        keys.update(keys_view(self.bindings, keys.content_size.width))
