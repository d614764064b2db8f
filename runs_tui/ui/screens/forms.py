"""Forms: a new run (parameters, tags, queue) and tags to add or remove."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Collapsible, Input, Label, Select, SelectionList
from textual.widgets.selection_list import Selection

from runs_tui.core.pipelines import DEFAULT_SECTION, Value, coerce, format_value
from runs_tui.core.text import one_line
from runs_tui.ui import safe
from runs_tui.ui.widgets.checks import CheckList


@dataclass(frozen=True)
class NewRunRequest:
    params: dict[str, str]
    queue: str
    tags: list[str]


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


NEW_RUN_KEYS = "enter next field · ctrl+s run · esc cancel · f1 help"


def _field_id(key: str) -> str:
    return "param-" + "".join(c if c.isalnum() else "_" for c in key)


class NewRunScreen(ModalScreen[NewRunRequest | None]):
    """The seed's NEW RUN modal: fields prefilled with the last run's values, or with a
    cloned run's values, tags and queue (`title` then names it)."""

    AUTO_FOCUS = ""  # the first field is focused on mount, not the container around it
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "submit", "Run", priority=True),
        Binding("enter", "next_field", "Next field", priority=True),  # before the Input's
        Binding("f1", "app.help", "Help"),  # `?` is text in a field
    ]

    def __init__(
        self,
        pipeline: str,
        defaults: dict[str, Value],
        prefill: dict[str, str],
        queue: str,
        queues: list[str],
        tags: list[str],
        *,
        prefill_tags: Sequence[str] = (),
        title: str = "",
    ) -> None:
        super().__init__()
        self.pipeline, self.defaults, self.prefill = pipeline, defaults, prefill
        self.queue, self.queues, self.known_tags = queue, queues, tags
        self.prefill_tags, self.title_text = prefill_tags, title or f"New run of {pipeline}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(one_line(self.title_text), classes="dialog-title", markup=False)
            with VerticalScroll(id="new-run-fields", classes="dialog-body"):
                for key, default in self.defaults.items():
                    short = key.removeprefix(f"{DEFAULT_SECTION}/")
                    kind = type(default).__name__
                    yield Label(
                        safe.field(f"{short}  ({kind}, default {format_value(default)})"),
                        markup=False,
                        classes="field-label",
                    )
                    yield Input(
                        safe.field(self.prefill.get(key, format_value(default))),
                        id=_field_id(key),
                        classes="param",
                    )
                    yield Label(
                        "", classes="field-error", id=f"{_field_id(key)}-error", markup=False
                    )
                yield Label("Tags (comma-separated)", classes="field-label")
                yield Input(
                    ", ".join(safe.field(t) for t in self.prefill_tags),
                    id="new-run-tags",
                    placeholder="e.g. sweep, lr-search",
                    suggester=SuggestFromList(
                        [safe.field(t) for t in self.known_tags], case_sensitive=False
                    ),
                )
                with Collapsible(title="Advanced configurations", id="advanced"):
                    yield Label("Execution queue", classes="field-label")
                    options = [(safe.text(q), q) for q in self.queues]
                    yield Select(
                        options,
                        value=self.queue if self.queue in self.queues else Select.BLANK,
                        allow_blank=True,
                        id="queue",
                    )
                    yield Input(placeholder="or a new queue name", id="new-queue")
            with Vertical(classes="dialog-foot"):
                yield Label("", id="form-error", classes="field-error", markup=False)
                yield Label(NEW_RUN_KEYS, id="new-run-keys", classes="field-label")
                with Horizontal(classes="buttons"):
                    yield Button("Run (ctrl+s)", variant="primary", id="run")
                    yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        """The first field focused without scrolling: focused before the fields are laid
        out (AUTO_FOCUS), it would be scrolled to, past its label."""
        self.set_focus(self.query_one(Input), scroll_visible=False)

    def action_next_field(self) -> None:
        """Enter in a field moves on, as in any form (a half-filled form is not run); on a
        button, the Advanced title or the queue picker it does what it does there."""
        if not isinstance(self.focused, Input):
            raise SkipAction
        self.focus_next()

    @on(Button.Pressed, "#run")
    def _run(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        """Check every field by its type; the first error names the field and value."""
        params: dict[str, str] = {}
        first_bad: Input | None = None
        for key, default in self.defaults.items():
            field = self.query_one(f"#{_field_id(key)}", Input)
            error = self.query_one(f"#{_field_id(key)}-error", Label)
            try:
                coerce(key, default, field.value)
            except ValueError as exc:
                error.update(str(exc))
                first_bad = first_bad or field
                continue
            error.update("")
            params[key] = field.value
        new_queue = self.query_one("#new-queue", Input).value.strip()
        chosen = self.query_one("#queue", Select).value
        queue = new_queue or (chosen if isinstance(chosen, str) else self.queue)
        if first_bad is not None:
            self.query_one("#form-error", Label).update("Fix the fields marked above")
            first_bad.focus()
            return
        tags = split_tags(self.query_one("#new-run-tags", Input).value)
        self.dismiss(NewRunRequest(params, queue, tags))


@dataclass(frozen=True)
class TagChange:
    add: list[str]
    remove: list[str]


class TagScreen(ModalScreen[TagChange | None]):
    """Add tags (existing ones suggested) and pick tags to remove, for the runs acted on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "submit", "Apply", priority=True),
    ]

    def __init__(self, n_runs: int, known: list[str], current: Counter[str]) -> None:
        super().__init__()
        self.n_runs, self.known, self.current = n_runs, known, current

    def compose(self) -> ComposeResult:
        runs = f"{self.n_runs:,} run{'s' if self.n_runs != 1 else ''}"
        with Vertical(classes="dialog"):
            with Vertical(classes="dialog-head"):
                yield Label(f"Tags of {runs}", classes="dialog-title")
                yield Label(
                    "Add (comma-separated; existing tags are suggested)", classes="field-label"
                )
                yield Input(
                    id="add-tags",
                    suggester=SuggestFromList(
                        [safe.field(t) for t in self.known], case_sensitive=False
                    ),
                )
                yield Label("Remove (space to pick)", classes="field-label")
            yield CheckList[str](
                *(
                    Selection(safe.text(tag, limit=40).append(f"  ({n} of {self.n_runs})"), tag)
                    for tag, n in self.current.most_common()
                ),
                id="remove-tags",
            )
            with Horizontal(classes="buttons"):
                yield Button("Apply (ctrl+s)", variant="primary", id="apply")
                yield Button("Cancel (esc)", id="cancel")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        add = split_tags(self.query_one("#add-tags", Input).value)
        remove = list(self.query_one("#remove-tags", SelectionList).selected)
        self.dismiss(TagChange(add, remove) if add or remove else None)
