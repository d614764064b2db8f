"""The main screen's keys. Every binding has an id (remappable under `[keymap]`); the
keys of actions on runs come from the action table. The shown ones are in the order the
footer gives them (after `? Help` and `⏎ Details`, which the table binds)."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding, BindingType

from runs_tui.core.actions import SPECS
from runs_tui.core.source import Capabilities
from runs_tui.core.text import one_line


def _hidden(key: str, action: str, description: str, binding_id: str, **kw: Any) -> Binding:
    return Binding(key, action, description, show=False, id=binding_id, **kw)


MAIN_BINDINGS: list[BindingType] = [
    Binding("question_mark", "app.help", "Help", key_display="?", id="help"),  # first: the
    Binding("space", "mark", "Mark", id="mark"),  # footer shows it while the details are focused
    _hidden("shift+up", "extend(-1)", "Mark up", "extend_up"),
    _hidden("shift+down", "extend(1)", "Mark down", "extend_down"),
    _hidden("asterisk", "select_menu", "Select", "select", key_display="*"),
    _hidden("escape", "clear_marks", "Clear marks", "clear_marks"),
    Binding("m", "menu", "Menu", id="menu"),
    # the footer shows these first: at 80 columns the keys after `s` are cut
    # a priority key: the box has the focus before the App reads the next key, so keys
    # in one read with `/` are typed into it (MainScreen.check_action: `/` typed there)
    Binding("slash", "search", "Search", id="search", key_display="/", priority=True),
    Binding("f", "filter", "Filter", id="filter"),
    Binding("s", "sort", "Sort", id="sort"),
    *(
        Binding(
            s.key, f"act('{s.action.value}')", s.hint or s.label, show=bool(s.hint), id=s.binding
        )
        for s in SPECS
        if s.binding
    ),
    _hidden("A", "toggle_archive", "Archive view", "archive_view"),
    Binding("v", "toggle_view", "View", id="view"),
    _hidden("p", "pause", "Pause", "pause"),
    _hidden("r", "refresh", "Refresh", "refresh"),
    _hidden("P", "pick_pipeline", "Pipeline", "pipeline"),
    _hidden("O", "overview", "Every pipeline", "overview"),
    _hidden("full_stop", "precise", "Precise", "precise", key_display="."),
    _hidden("y", "copy_cell", "Copy cell", "copy_cell"),
    _hidden("S", "sort(True)", "Add sort", "sort_secondary"),
    _hidden("F", "clear_filters", "Clear filters", "clear_filters"),
    _hidden("C", "columns", "Columns", "columns"),
    _hidden("minus", "hide_column", "Hide column", "hide_column", key_display="-"),
    _hidden("shift+left", "move_column(-1)", "Move column left", "move_left"),
    _hidden("shift+right", "move_column(1)", "Move column right", "move_right"),
    _hidden("less_than_sign", "width(-1)", "Narrow column", "narrow", key_display="<"),
    _hidden("greater_than_sign", "width(1)", "Widen column", "widen", key_display=">"),
    _hidden("equals_sign", "width(0)", "Auto-fit column", "autofit", key_display="="),
    _hidden("Y", "copy_view", "Copy view", "copy_view"),
    _hidden("e", "export", "Export", "export"),
    _hidden("g", "plot", "Plot a metric", "plot"),
    _hidden("E", "jump_error", "Jump to the error", "jump_error"),
    _hidden("d", "compare", "Compare runs", "compare"),
]


def own_words(caps: Capabilities) -> list[BindingType]:
    """The footer's keys of actions a source names its own way ("Mark killed" for an
    abort on MLflow), replacing the default ones under the same id. The footer has room
    for the name only; help and the palette give the whole label."""
    return [
        Binding(s.key, f"act('{s.action.value}')", one_line(label.split(" (")[0]), id=s.binding)
        for s in SPECS
        if s.binding and s.hint and (label := caps.labels.get(s.action))
    ]
