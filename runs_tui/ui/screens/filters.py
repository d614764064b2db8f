"""`f`: the filter of one column, by its type: a value set, a numeric range, a date
range, or tags (each included or excluded, with ANY / ALL).

Each screen dismisses with None when cancelled, or a `Chosen` holding the new
filter (None inside meaning: no filter on this column).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioSet, SelectionList
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from runs_tui.core.dates import parse_when
from runs_tui.core.fmt import timestamp
from runs_tui.core.records import RangeFilter, TagFilter, ValueCount, ValueFilter
from runs_tui.core.status import Status
from runs_tui.core.text import one_line
from runs_tui.core.view import parse_bound
from runs_tui.ui import safe
from runs_tui.ui.render import tag_style
from runs_tui.ui.widgets.checks import CheckList, Radio

T = TypeVar("T")


@dataclass(frozen=True)
class Chosen(Generic[T]):
    value: T | None


BUTTONS = (
    ("apply", "Apply (ctrl+s)", "primary"),
    ("clear", "Clear (ctrl+d)", "warning"),
    ("cancel", "Cancel (esc)", "default"),
)


class FilterScreen(ModalScreen[Chosen[T] | None]):
    """What every filter modal shares: a title, Apply / Clear / Cancel and their keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "apply", "Apply", priority=True),
        Binding("ctrl+d", "clear", "Clear", priority=True),
    ]

    def __init__(self, header: str) -> None:
        super().__init__()
        self.header = header

    def compose_buttons(self) -> ComposeResult:
        with Vertical(classes="dialog-foot"):
            yield Label("", id="filter-error", classes="field-error", markup=False)
            with Horizontal(classes="buttons"):
                for button_id, label, variant in BUTTONS:
                    yield Button(label, id=button_id, variant=variant)  # type: ignore[arg-type]

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "clear":
            self.action_clear()
        else:
            self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()

    def action_clear(self) -> None:
        self.dismiss(Chosen(None))

    def action_apply(self) -> None:
        raise NotImplementedError

    def error(self, message: str) -> None:
        self.query_one("#filter-error", Label).update(message)


class ValueFilterScreen(FilterScreen[ValueFilter]):
    """Multi-select over the column's distinct values (with counts), searchable."""

    def __init__(
        self, spec: str, header: str, values: list[ValueCount], selected: frozenset[str]
    ) -> None:
        super().__init__(header)
        self.spec, self.values, self.selected = spec, values, set(selected)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with Vertical(classes="dialog-head"):
                yield Label(
                    f"Filter {safe.field(self.header)}: show runs whose value is one of",
                    classes="dialog-title",
                    markup=False,
                )
                yield Input(placeholder="type to narrow the list", id="value-search")
            yield CheckList[str](id="values")
            yield from self.compose_buttons()

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#values", SelectionList).focus()

    def _label(self, value: str) -> Text:
        statuses = {s.value for s in Status}
        shown = Status(value).label if self.spec == "status" and value in statuses else value
        label = safe.text(shown, limit=60) if shown else Text("(empty)")
        return label.append(f"  ({value_count(self.values, value)})")

    def _fill(self, needle: str) -> None:
        options = self.query_one("#values", SelectionList)
        options.clear_options()
        low = needle.lower()
        options.add_options(
            [
                Selection(self._label(v.value), v.value, v.value in self.selected)
                for v in self.values
                if low in v.value.lower() or low in self._label(v.value).plain.lower()
            ]
        )
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#value-search")
    def _narrow(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(SelectionList.SelectionToggled)
    def _toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        self.selected ^= {event.selection.value}

    def action_apply(self) -> None:
        if not self.selected:
            self.dismiss(Chosen(None))
            return
        self.dismiss(Chosen(ValueFilter(self.spec, frozenset(self.selected))))


def value_count(values: list[ValueCount], value: str) -> int:
    return next((v.count for v in values if v.value == value), 0)


class RangeFilterScreen(FilterScreen[RangeFilter]):
    """Minimum and / or maximum, as numbers or (for dates) date-times or "last 24h"."""

    def __init__(
        self,
        spec: str,
        header: str,
        current: RangeFilter | None,
        *,
        dates: bool = False,
        now: float = 0.0,
        seconds: bool = False,
    ) -> None:
        super().__init__(header)
        self.spec, self.current, self.dates, self.now = spec, current, dates, now
        self.seconds = seconds

    def _shown(self, value: float | None) -> str:
        if value is None:
            return ""
        return timestamp(value) if self.dates else repr(value)

    def compose(self) -> ComposeResult:
        lo = self.current.lo if self.current else None
        hi = self.current.hi if self.current else None
        hint = (
            "YYYY-MM-DD [HH:MM], or relative: 30m, 24h, last 7d"
            if self.dates
            else "in seconds"
            if self.seconds
            else "a number"
        )
        # the date hint is long: the full-width dialog keeps it on one line, uncut
        with Vertical(classes="dialog" if self.dates else "dialog narrow"):
            yield Label(f"Filter {safe.field(self.header)}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body", can_focus=False):
                yield Label(f"From ({hint}; empty: no lower bound)", classes="field-label")
                yield Input(self._shown(lo), id="range-min")
                yield Label("To (empty: no upper bound)", classes="field-label")
                yield Input(self._shown(hi), id="range-max")
            yield from self.compose_buttons()

    def _read(self, input_id: str, what: str) -> float | None:
        text = self.query_one(input_id, Input).value
        if self.dates:
            return parse_when(text, self.now)
        return parse_bound(text, what)

    def action_apply(self) -> None:
        try:
            lo = self._read("#range-min", "from")
            hi = self._read("#range-max", "to")
        except ValueError as exc:
            self.error(str(exc))
            return
        if lo is not None and hi is not None and lo > hi:
            self.error(f"from ({self._shown(lo)}) is after to ({self._shown(hi)})")
            return
        self.dismiss(Chosen(RangeFilter(self.spec, lo, hi) if (lo, hi) != (None, None) else None))


TAG_STATES = ("", "include", "exclude")
TAG_MARKS = {"": "[ ]", "include": "[✓]", "exclude": "[✗]"}


class TagFilterScreen(FilterScreen[TagFilter]):
    """Space on a tag cycles: not used, included, excluded (the seed's "NOT")."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "cycle", "Include / exclude / off", show=False),
    ]

    def __init__(self, tags: list[ValueCount], current: TagFilter | None) -> None:
        super().__init__("TAGS")
        self.tags = tags
        self.state = {t: "include" for t in (current.include if current else ())}
        self.state |= {t: "exclude" for t in (current.exclude if current else ())}
        self.mode = current.mode if current else "any"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with Vertical(classes="dialog-head"):
                yield Label(
                    "Filter TAGS: space cycles include ✓ / exclude ✗ / off",
                    classes="dialog-title",
                )
                with RadioSet(id="tag-mode"):
                    yield Radio("ANY of the included", value=self.mode == "any", id="any")
                    yield Radio("ALL of the included", value=self.mode == "all", id="all")
            yield OptionList(*(self._option(t) for t in self.tags), id="tag-options")
            yield from self.compose_buttons()

    def on_mount(self) -> None:
        self.query_one("#tag-options", OptionList).focus()

    def _option(self, tag: ValueCount) -> Option:
        state = self.state.get(tag.value, "")
        text = Text(f"{TAG_MARKS[state]} ", Style(bold=True))
        text.append(f" {one_line(tag.value, limit=40)} ", tag_style(tag.value))
        text.append(f"  ({tag.count})", Style(dim=True))
        return Option(text, id=tag.value)

    def action_cycle(self) -> None:
        options = self.query_one("#tag-options", OptionList)
        index = options.highlighted
        if index is None:
            return
        tag = self.tags[index]
        current = TAG_STATES.index(self.state.get(tag.value, ""))
        self.state[tag.value] = TAG_STATES[(current + 1) % len(TAG_STATES)]
        options.replace_option_prompt_at_index(index, self._option(tag).prompt)

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_cycle()

    @on(RadioSet.Changed)
    def _mode(self, event: RadioSet.Changed) -> None:
        self.mode = event.pressed.id or "any"

    def action_apply(self) -> None:
        include = frozenset(t for t, s in self.state.items() if s == "include")
        exclude = frozenset(t for t, s in self.state.items() if s == "exclude")
        if not include and not exclude:
            self.dismiss(Chosen(None))
            return
        self.dismiss(Chosen(TagFilter(include, exclude, self.mode)))
