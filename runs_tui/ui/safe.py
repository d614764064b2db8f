"""The one path by which data reaches a widget.

Run names, tags, parameters, metric names, users, queues, pipeline names and anything
a source says are shown as `Text` (never parsed as markup: `[@click=…]` stays text and
`oops[/x]` cannot break a parse) with every control character made visible (no escape
sequence reaches the terminal). Widgets that take plain strings (inputs, suggestions,
select prompts, toasts) get `field()`.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from runs_tui.core.text import one_line


def text(value: object, *, limit: int | None = None, style: Style | str = "") -> Text:
    """A value as one safe line of `Text`."""
    return Text(one_line(str(value), limit=limit), style=style)


def field(value: object, *, limit: int | None = None) -> str:
    """A value as one safe line, for widgets that take a plain string."""
    return one_line(str(value), limit=limit)
