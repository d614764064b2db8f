"""What a user must reach lies on screen: every button whole, the focused widget, and the
highlighted row of the focused list or table, as the compositor placed them.

`assert_reachable(pilot)` is called by every dialog test at every size: a dialog wider
or taller than the terminal, a button pushed below the screen, a highlighted row
scrolled out of its list, each fails it, naming the widget and the regions."""

from __future__ import annotations

from textual.errors import NoWidget
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, DataTable, OptionList


def shown(widget: Widget) -> bool:
    """Not hidden, nor inside something hidden (a collapsed section, a hidden tab)."""
    return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def visible(screen: Screen[object], widget: Widget) -> Region:
    """The part of `widget` that is drawn: its region clipped by its scrolling parents
    and the screen."""
    try:
        geometry = screen.find_widget(widget)
    except NoWidget:
        return Region()
    return geometry.visible_region.intersection(screen.region)


def highlighted_row(screen: Screen[object], widget: Widget) -> Region | None:
    """Where the highlighted row of a list or table is drawn; None when the widget has
    none; an empty region when it is not drawn at all."""
    if isinstance(widget, DataTable):
        if not widget.row_count:
            return None
        area = widget.scrollable_content_region
        header = widget.header_height if widget.show_header else 0
        y = area.y + header + widget.cursor_row - int(widget.scroll_y)
        drawn = Region(area.x, area.y + header, area.width, area.height - header)
        row = Region(area.x, y, area.width, 1)
        return row if drawn.contains_region(row) else Region()
    if isinstance(widget, OptionList):
        if widget.highlighted is None:
            return None
        # The highlighted option is drawn in the highlight style to its last cell: find
        # the lines that carry it, in what the compositor shows.
        style = widget.get_component_rich_style("option-list--option-highlighted")
        area = widget.scrollable_content_region.intersection(visible(screen, widget))
        lines = [
            y
            for y in range(area.y, area.bottom)
            if screen.get_style_at(area.right - 1, y).bgcolor == style.bgcolor
        ]
        return Region(area.x, lines[0], area.width, len(lines)) if lines else Region()
    return None


def assert_reachable(pilot: Pilot[None]) -> None:
    """Every shown button lies whole inside the terminal and is not clipped; so does the
    focused widget's highlighted row; the focused widget is at least partly drawn."""
    screen = pilot.app.screen
    bounds = screen.region
    buttons = [b for b in screen.query(Button) if shown(b)]
    for button in buttons:
        drawn = visible(screen, button)
        assert drawn == button.region and bounds.contains_region(drawn), (
            f"button {str(button.label)!r} at {button.region} is drawn as {drawn} "
            f"on a {bounds.size} screen"
        )
    focused = screen.focused
    if focused is None:
        return
    assert visible(screen, focused).area, f"focused {focused!r} is not drawn"
    row = highlighted_row(screen, focused)
    if row is not None:
        assert row.area and bounds.contains_region(row), (
            f"the highlighted row of {focused!r} is not drawn ({row}) on a {bounds.size} screen"
        )


def assert_fits(pilot: Pilot[None], selector: str = ".dialog") -> None:
    """The dialog lies whole inside the terminal."""
    screen = pilot.app.screen
    for dialog in screen.query(selector):
        assert screen.region.contains_region(dialog.region), (
            f"{dialog!r} at {dialog.region} overflows the {screen.region.size} screen"
        )
