"""The `/` prompt under the table."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.widgets import Input


class SearchInput(Input):
    """Enter searches, escape closes it and keeps the current search."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    keeps_footer: ClassVar[bool] = True  # its keys are Enter and Escape: see QuietFooter

    def action_close(self) -> None:
        self.display = False
        self.screen.query_one("#runs").focus()
