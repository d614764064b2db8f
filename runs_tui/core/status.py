"""Run states, the actions on runs, and which states each action is valid from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """A run's state as stored; `label` is how the user sees it."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, text: str) -> Status:
        """Accept a stored value or a label, any case; the error names the value."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            known = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown status {text!r} (known: {known})") from None


ACTIVE = frozenset({Status.PENDING, Status.RUNNING})
FINISHED = frozenset({Status.COMPLETED, Status.FAILED, Status.ABORTED})


class Action(StrEnum):
    DETAILS = "details"
    RUN = "run"
    ABORT = "abort"
    CONTINUE = "continue"
    RETRY = "retry"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    ARCHIVE = "archive"
    RESTORE = "restore"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


@dataclass(frozen=True)
class Rule:
    """Where an action applies: states (None = any) and whether the run is archived
    (None = either). `to` is the state it leads to, None when the state is unchanged."""

    states: frozenset[Status] | None
    archived: bool | None
    to: Status | None


RULES: dict[Action, Rule] = {
    Action.DETAILS: Rule(None, None, None),
    Action.RUN: Rule(None, None, Status.PENDING),
    Action.ABORT: Rule(ACTIVE, False, Status.ABORTED),
    Action.CONTINUE: Rule(frozenset({Status.ABORTED}), False, Status.PENDING),
    Action.RETRY: Rule(frozenset({Status.FAILED}), False, Status.PENDING),
    Action.ADD_TAG: Rule(None, None, None),
    Action.REMOVE_TAG: Rule(None, None, None),
    Action.ARCHIVE: Rule(None, False, None),
    Action.RESTORE: Rule(None, True, None),
}


def eligible(action: Action, status: Status | str, archived: bool) -> bool:
    """Whether `action` may be applied to a run in `status`, archived or not."""
    rule = RULES[action]
    if rule.archived is not None and rule.archived != archived:
        return False
    return rule.states is None or Status(status) in rule.states


def why_not(action: Action, status: Status | str, archived: bool) -> str:
    """Why `action` does not apply, in the words the result summaries use."""
    rule = RULES[action]
    if rule.archived is True and not archived:
        return "not archived"
    if rule.archived is False and archived:
        return "archived"
    return Status(status).label
