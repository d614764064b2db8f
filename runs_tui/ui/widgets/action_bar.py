"""The bar under the table while runs are marked: each action with how many it affects."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from runs_tui.core.status import Action

BAR_ACTIONS = {
    False: (
        (Action.ABORT, "a", "Abort"),
        (Action.CONTINUE, "c", "Continue"),
        (Action.RETRY, "c", "Retry"),
        (Action.ADD_TAG, "t", "Tag"),
        (Action.ARCHIVE, "x", "Archive"),
    ),
    True: ((Action.RESTORE, "x", "Restore"), (Action.ADD_TAG, "t", "Tag")),
}


def bar_text(marked: int, counts: dict[Action, int], hidden: int, archive_view: bool) -> Text:
    text = Text(f" {marked:,} marked", Style(bold=True))
    if hidden:
        text.append(f" ({hidden:,} hidden by the filter)", Style(italic=True))
    for action, key, label in BAR_ACTIONS[archive_view]:
        n = counts.get(action, 0)
        text.append(" · ")
        text.append(key, Style(bold=True, color="cyan"))
        text.append(f" {label} {n:,}", Style(dim=n == 0))
    text.append("  ·  m menu · esc clear", Style(dim=True))
    return text


class ActionBar(Static):
    """Hidden while nothing is marked; `plain` keeps the text shown."""

    plain = ""

    def show(self, marked: int, counts: dict[Action, int], hidden: int, archive_view: bool) -> None:
        self.display = marked > 0
        text = bar_text(marked, counts, hidden, archive_view)
        self.plain = text.plain if marked else ""
        self.update(text)
