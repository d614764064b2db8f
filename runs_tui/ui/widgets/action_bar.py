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
) -> Text:
    """The actions a source cannot do are left out of the bar (the menu says why)."""
    text = Text(f" {marked:,} marked", Style(bold=True))
    if hidden:
        text.append(f" ({hidden:,} hidden by the filter)", Style(italic=True))
    for spec in bar_specs(archive_view):
        if not capabilities.can(spec.action):
            continue
        n = counts.get(spec.action, 0)
        text.append(" · ")
        text.append(spec.key, Style(bold=True, color="cyan"))
        text.append(f" {spec.bar_label} {n:,}", Style(dim=n == 0))
    text.append("  ·  m menu · esc clear", Style(dim=True))
    return text


class ActionBar(Static):
    """Hidden while nothing is marked; `plain` keeps the text shown."""

    plain = ""

    def show(
        self,
        marked: int,
        counts: dict[Action, int],
        hidden: int,
        archive_view: bool,
        capabilities: Capabilities,
    ) -> None:
        self.display = marked > 0
        text = bar_text(marked, counts, hidden, archive_view, capabilities)
        self.plain = text.plain if marked else ""
        self.update(text)
