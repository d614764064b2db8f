"""The line over the table that says the source cannot be read (the last data stays)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from runs_tui.core.text import one_line


class Banner(Static):
    """Hidden until `show`; `error` is the message shown, "" when hidden."""

    error = ""

    def show(self, error: str, retry_in: float) -> None:
        self.error = error
        self.update(
            Text(
                f"⚠ Database unavailable: {one_line(error, limit=300)} — "
                f"retrying in {retry_in:g}s (r: now); showing the last data"
            )
        )
        self.add_class("-visible")

    def clear(self) -> None:
        if self.error:
            self.error = ""
            self.remove_class("-visible")
