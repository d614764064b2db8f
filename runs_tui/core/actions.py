"""The one table of actions on runs: what each is called, its keys, where it shows, which
runs it applies to. The menu, the bar, confirmations, summaries, help, the palette and the
CLI all read it, so adding an action is one entry here plus its operation in a source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from runs_tui.core.status import ACTIVE, Action, Status


class ActionKind(StrEnum):
    """How the UI carries an action out: a state change for the marked runs, a form (a
    clone's prefilled from the cursor run), or opening the details."""

    TRANSITION = "transition"
    TAGS = "tags"
    NEW_RUN = "new_run"
    CLONE = "clone"
    DETAILS = "details"


@dataclass(frozen=True)
class Rule:
    """Where an action applies: states (None = any) and whether the run is archived
    (None = either). `to` is the state it leads to, None when the state is unchanged."""

    states: frozenset[Status] | None
    archived: bool | None
    to: Status | None


TABLE, ARCHIVE = "table", "archive"
BOTH = frozenset({TABLE, ARCHIVE})


@dataclass(frozen=True)
class ActionSpec:
    """One action, in the order of the footer. `key` is the main screen's key (a shared
    key is bound once, by the spec with a `binding` id), `menu_key` the action menu's
    letter, `hint` the footer's word (none: the key is not in the footer, its label is
    in the help and the palette); `confirm` is the verb of
    the question asked before acting on several runs ("" asks nothing); `aborts`: it aborts
    the Pending and Running runs first (asked even for one run, and said after); `bar_rank`
    orders the marks bar (0: not in it); `counted` says whether the menu shows how many of
    the runs the action can affect; `cli` names its command."""

    action: Action
    kind: ActionKind
    label: str
    past: str
    rule: Rule
    key: str = ""
    menu_key: str = ""
    binding: str = ""
    hint: str = ""
    confirm: str = ""
    aborts: bool = False
    views: frozenset[str] = BOTH
    in_menu: bool = True
    counted: bool = True
    bar_label: str = ""
    bar_rank: int = 0
    cli: str = ""


SPECS: tuple[ActionSpec, ...] = (
    ActionSpec(
        Action.DETAILS, ActionKind.DETAILS, "Details", "Shown", Rule(None, None, None),
        key="enter", menu_key="⏎", counted=False,
    ),
    ActionSpec(
        Action.RUN, ActionKind.NEW_RUN, "New run", "Started", Rule(None, None, Status.PENDING),
        key="n", menu_key="n", binding="new_run", hint="New run", counted=False,
    ),
    ActionSpec(
        Action.CLONE, ActionKind.CLONE, "Clone the cursor run", "Cloned",
        Rule(None, None, Status.PENDING), key="N", binding="clone", in_menu=False, counted=False,
    ),
    ActionSpec(
        Action.ABORT, ActionKind.TRANSITION, "Abort", "Aborted",
        Rule(ACTIVE, False, Status.ABORTED),
        key="a", menu_key="a", binding="abort", hint="Abort", confirm="Abort",
        views=frozenset({TABLE}), bar_label="Abort", bar_rank=1, cli="abort",
    ),
    ActionSpec(
        Action.CONTINUE, ActionKind.TRANSITION, "Continue", "Continued",
        Rule(frozenset({Status.ABORTED}), False, Status.PENDING),
        key="c", menu_key="c", binding="continue", hint="Continue", confirm="Continue",
        views=frozenset({TABLE}), bar_label="Continue", bar_rank=2, cli="continue",
    ),
    ActionSpec(
        Action.RETRY, ActionKind.TRANSITION, "Retry", "Retried",
        Rule(frozenset({Status.FAILED}), False, Status.PENDING),
        key="c", menu_key="r", confirm="Retry",
        views=frozenset({TABLE}), bar_label="Retry", bar_rank=3, cli="retry",
    ),
    ActionSpec(
        Action.ADD_TAG, ActionKind.TAGS, "Add / remove tags", "Tagged", Rule(None, None, None),
        key="t", menu_key="t", binding="tag", hint="Tag", bar_label="Tag", bar_rank=4,
    ),
    ActionSpec(
        Action.ARCHIVE, ActionKind.TRANSITION, "Archive", "Archived", Rule(None, False, None),
        key="x", menu_key="x", binding="archive", hint="Archive", confirm="Archive", aborts=True,
        views=frozenset({TABLE}), bar_label="Archive", bar_rank=5, cli="archive",
    ),
    ActionSpec(
        Action.RESTORE, ActionKind.TRANSITION, "Restore", "Restored", Rule(None, True, None),
        key="x", menu_key="x", confirm="Restore",
        views=frozenset({ARCHIVE}), bar_label="Restore", bar_rank=1, cli="restore",
    ),
    ActionSpec(
        Action.REMOVE_TAG, ActionKind.TAGS, "Remove tags", "Untagged", Rule(None, None, None),
        in_menu=False,
    ),
)  # fmt: skip
ACTIONS: dict[Action, ActionSpec] = {s.action: s for s in SPECS}


def view_name(archived: bool) -> str:
    return ARCHIVE if archived else TABLE


def menu_specs(archived: bool) -> list[ActionSpec]:
    """The action menu's entries in the active table or the archive: the table's order
    (the footer's), with the tag form after the state changes."""
    view = view_name(archived)
    shown = [s for s in SPECS if s.in_menu and view in s.views]
    return sorted(shown, key=lambda s: s.kind is ActionKind.TAGS)


def bar_specs(archived: bool) -> list[ActionSpec]:
    """The marks bar's entries in the active table or the archive, in order."""
    view = view_name(archived)
    return sorted((s for s in SPECS if s.bar_rank and view in s.views), key=lambda s: s.bar_rank)


def counted_actions() -> list[Action]:
    """The actions whose eligible runs are counted for the menu and the bar."""
    return [s.action for s in SPECS if s.counted and (s.in_menu or s.bar_rank)]


def by_key(key: str, archived: bool) -> ActionSpec | None:
    """The action a main-screen key triggers in this view (`x` archives or restores)."""
    view = view_name(archived)
    return next((s for s in SPECS if s.key == key and view in s.views), None)


def cli_specs() -> list[ActionSpec]:
    return [s for s in SPECS if s.cli]


def action_counts(counts: Mapping[tuple[str, bool], int]) -> dict[Action, int]:
    """For each counted action, how many of the runs counted by (status, archived) it
    can affect."""
    return {
        action: sum(
            n for (status, archived), n in counts.items() if eligible(action, status, archived)
        )
        for action in counted_actions()
    }


def eligible(action: Action, status: Status | str, archived: bool) -> bool:
    """Whether `action` may be applied to a run in `status`, archived or not."""
    rule = ACTIONS[action].rule
    if rule.archived is not None and rule.archived != archived:
        return False
    return rule.states is None or Status(status) in rule.states


def aborts_first(action: Action, status: str | None) -> bool:
    """Whether `action` aborts a run in `status` before it does the rest (archive)."""
    return ACTIONS[action].aborts and status in ACTIVE


def why_not(action: Action, status: Status | str, archived: bool) -> str:
    """Why `action` does not apply, in the words the result summaries use."""
    rule = ACTIONS[action].rule
    if rule.archived is True and not archived:
        return "not archived"
    if rule.archived is False and archived:
        return "archived"
    return Status(status).label
