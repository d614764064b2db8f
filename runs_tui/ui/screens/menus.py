"""Small modal menus: the action menu with counts, the selection menu, a confirmation."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList
from textual.widgets.option_list import Option

from runs_tui.core.actions import SPECS, ActionSpec, menu_specs
from runs_tui.core.fmt import plural
from runs_tui.core.source import Capabilities
from runs_tui.core.status import Action
from runs_tui.core.text import one_line


def menu_option(
    spec: ActionSpec, count: int | None, unavailable: str = "", label: str = ""
) -> Option:
    """`count` None: the action does not depend on the runs (Details, New run);
    `unavailable`: why the source cannot do it (shown, and the entry disabled); `label`:
    the source's own name for it."""
    text = Text(f" {spec.menu_key:<2} ", Style(bold=True, color="cyan"))
    text.append((label or spec.label).ljust(20))
    if unavailable:
        text.append(f" unavailable: {one_line(unavailable)}", Style(dim=True, italic=True))
    elif count is not None:
        text.append(
            f"{count:>7,} run{'s' if count != 1 else ''}", Style(dim=count == 0, bold=count > 0)
        )
    return Option(text, id=spec.action.value, disabled=count == 0 or bool(unavailable))


class ActionMenu(ModalScreen[Action | None]):
    """The seed's context menu: every action with how many of the runs it can affect."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,m", "dismiss(None)", "Close"),
        *(
            Binding(key, f"pick('{key}')", show=False)
            for key in dict.fromkeys(s.menu_key for s in SPECS if s.menu_key.isalpha())
        ),
    ]

    def __init__(
        self,
        title: str,
        counts: dict[Action, int],
        archive_view: bool,
        capabilities: Capabilities,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.counts = counts
        self.archive_view = archive_view
        self.capabilities = capabilities

    def compose(self) -> ComposeResult:
        caps = self.capabilities
        options = [
            menu_option(
                s,
                self.counts.get(s.action, 0) if s.counted else None,
                "" if caps.can(s.action) else caps.why_not(s.action),
                caps.label(s.action, s.label),
            )
            for s in menu_specs(self.archive_view)
        ]
        with Vertical(classes="dialog narrow"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield OptionList(*options, id="action-menu")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Action(event.option.id or ""))

    def action_pick(self, key: str) -> None:
        """A letter picks its action, when it is in the menu and can affect a run."""
        options = self.query_one(OptionList)
        wanted = {s.action.value for s in SPECS if s.menu_key == key}
        for index in range(options.option_count):
            option = options.get_option_at_index(index)
            if option.id in wanted and not option.disabled:
                self.dismiss(Action(option.id))
                return


class SelectionMenu(ModalScreen[str | None]):
    """`*`: mark every run of the pipeline, every run the filters match, or none."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, total: int, filtered: int, filtering: bool, where: str = "pipeline") -> None:
        super().__init__()
        self.total, self.filtered, self.filtering = total, filtered, filtering
        self.where = where  # "pipeline", or "every pipeline" in the overview

    def compose(self) -> ComposeResult:
        filtered = Text(f"Filtered ({plural(self.filtered, 'matching run')})")
        if not self.filtering:
            filtered.append("  no filter is active", Style(dim=True))
        with Vertical(classes="dialog narrow"):
            yield Label("Select", classes="dialog-title")
            yield OptionList(
                Option(Text(f"All in {self.where} ({plural(self.total, 'run')})"), id="all"),
                Option(filtered, id="filtered"),
                Option(Text("None (clear the marks)"), id="none"),
                id="selection-menu",
            )

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; `y`/`enter` confirm, `n`/`escape` cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text, self.message = title, message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog narrow"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body", can_focus=False):
                yield Label(self.message, markup=False, id="confirm-message")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="warning", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
