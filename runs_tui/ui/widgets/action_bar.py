"""The bar under the table while runs are marked: each action with how many it affects."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from runs_tui.core.actions import bar_specs
from runs_tui.core.source import Capabilities
from runs_tui.core.status import Action


def bar_text(
    marked: int,
    counts: dict[Action, int],
    hidden: int,
    archive_view: bool,
    capabilities: Capabilities,
    width: int = 0,
) -> Text:
    """The actions a source cannot do are left out of the bar (the menu says why); when
    the bar is wider than `width`, so are those that affect no marked run, so that `m`
    and `esc` stay on screen at 80 columns."""
    text = _text(marked, counts, hidden, archive_view, capabilities, every=True)
    if width and text.cell_len > width:
        return _text(marked, counts, hidden, archive_view, capabilities, every=False)
    return text


def _text(
    marked: int,
    counts: dict[Action, int],
    hidden: int,
    archive_view: bool,
    capabilities: Capabilities,
    every: bool,
) -> Text:
    text = Text(f" {marked:,} marked", Style(bold=True))
    if hidden:
        text.append(f" ({hidden:,} hidden by the filter)", Style(italic=True))
    for spec in bar_specs(archive_view):
        if not capabilities.can(spec.action):
            continue
        n = counts.get(spec.action, 0)
        if n == 0 and not every:
            continue
        text.append(" · ")
        text.append(spec.key, Style(bold=True, color="cyan"))
        text.append(f" {spec.bar_label} {n:,}", Style(dim=n == 0))
    text.append("  ·  m menu · esc clear", Style(dim=True))
    return text


class ActionBar(Static):
    """Hidden while nothing is marked; `plain` keeps the text shown."""

    plain = ""
    _shown: tuple[int, dict[Action, int], int, bool, Capabilities] | None = None

    def show(
        self,
        marked: int,
        counts: dict[Action, int],
        hidden: int,
        archive_view: bool,
        capabilities: Capabilities,
    ) -> None:
        shown = (marked, counts, hidden, archive_view, capabilities)
        if shown == self._shown:
            return  # each status update asks: a redraw would lay the screen out again
        self.display = marked > 0
        self._shown = shown
        self._draw()

    def _draw(self) -> None:
        if self._shown is None:
            return
        text = bar_text(*self._shown, width=self.app.size.width)
        self.plain = text.plain if self._shown[0] else ""
        self.update(text)

    def on_resize(self) -> None:
        self._draw()
