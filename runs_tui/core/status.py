"""Run states and the names of the actions on runs (what each action does and where it
applies is `core.actions`)."""

from __future__ import annotations

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
    CLONE = "clone"
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
