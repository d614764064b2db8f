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
        with Vertical(classes="dialog wide"):
            yield Label(
                "Keys (remap them under [keymap] in the config, by id)",
                classes="dialog-title",
                markup=False,
            )
            with VerticalScroll():
                yield Static(keys_table(self.bindings))
