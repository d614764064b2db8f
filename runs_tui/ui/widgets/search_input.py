"""The `/` prompt under the table."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input


class SearchInput(Input):
    """Enter searches, escape closes it and keeps the current search.

    After Enter the box stays open until the search's rows come (`close_pending`), or
    for `after` seconds at most: closing it at once moves the focus and the layout, so
    the old rows were drawn once more (~100 ms of the UI thread) while the search's
    read waited for the GIL, and then the new rows were drawn. A key typed meanwhile is
    the table's, as after any prompt's Enter: the box closes and passes it on.

    Enter searches for the text as it is at that key: as a binding it was acted on
    after the keys that followed it in the same read ("/bob", Enter, "j" over SSH
    searched for "bobj"). That is done in Input's private `_on_key`, overridden here
    (Textual is pinned; tests/test_textual_canary.py)."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    keeps_footer: ClassVar[bool] = True  # its keys are Enter and Escape: see QuietFooter

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._pending: tuple[Timer, str] | None = None  # closing after a search: its term
        self._entered = False  # Enter was pressed: what follows is the table's

    async def _on_key(self, event: events.Key) -> None:
        if self._entered or not self.display:
            if event.key != "escape":  # Escape still just closes the box
                event.stop()
                event.prevent_default()
                self.action_close()
                self.app.post_message(events.Key(event.key, event.character))
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self._entered = True
            await self.action_submit()
            return
        await super()._on_key(event)

    def open(self, term: str) -> None:
        """Show the box with `term`, focused at once: keys that came in the same read as
        `/` are typed into it (`focus()` moves the focus a moment later, and they went
        to the table as commands)."""
        self._stop()
        self._entered = False
        self.value = term
        self.display = True
        self.screen.set_focus(self)

    def close_soon(self, term: str, after: float) -> None:
        """Close once the rows of the search for `term` are drawn, or after `after` s."""
        self._stop()
        self._pending = (self.set_timer(after, self.close_pending), term)

    def close_pending(self) -> None:
        """The search's rows came (or time is up): close, unless the user went on typing."""
        if self._pending is not None:
            term = self._pending[1]
            self._stop()
            if self.display and self.value == term:
                self.action_close()

    def action_close(self) -> None:
        self._stop()
        self.display = False
        self.screen.set_focus(self.screen.query_one("#runs"))  # now: keys queued are the table's

    def _stop(self) -> None:
        if self._pending is not None:
            self._pending[0].stop()
            self._pending = None
