"""The footer, rebuilt only when the keys it shows change.

Textual's Footer recomposes (every key a new widget, every widget styled again) on each
bindings signal: a focus move, a screen pushed, the app gaining focus. While the first
screen appears that is three rebuilds of the same keys (~13 ms each), and on a refresh
tick a rebuild redraws the whole bottom line for nothing. Keys, labels, enabled state
and tooltips are compared first; only a difference rebuilds.

A prompt that only borrows the focus for a moment (the `/` search box, whose keys are
Enter and Escape) sets `keeps_footer`: the footer keeps the table's keys while it is
open, so closing it rebuilds nothing. Rebuilding twice cost 100-250 ms of the UI thread
per search, before the rows could be drawn.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[str, str, str, str, str, bool], ...]


def shown_keys(screen: Screen[object]) -> Shown:
    """What the footer draws for `screen`: each shown binding's key, label and state (and
    the command palette's, drawn on the right)."""
    app = screen.app
    return tuple(
        (key, app.get_key_display(binding), binding.description, binding.action, tip, enabled)
        for key, (_node, binding, enabled, tip) in screen.active_bindings.items()
        if binding.show or key == app.COMMAND_PALETTE_BINDING
    )


class QuietFooter(Footer):
    """A compact Footer that skips rebuilds which would draw the same keys."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._drawn: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        rebuilds = screen.app.app_focus and self.is_attached and screen is self.screen
        if rebuilds and getattr(screen.focused, "keeps_footer", False):
            return
        if rebuilds:
            shown = shown_keys(screen)
            if shown == self._drawn:
                return
            self._drawn = shown
        super().bindings_changed(screen)
