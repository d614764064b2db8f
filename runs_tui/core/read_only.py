"""Read-only mode (`runs-tui --read-only`, `read_only = true` in the settings), as
`k9s --readonly` against production: a source that changes no run.

The app opens its source through `ReadOnlySource`, whose capabilities name every action
that changes a run unavailable, with the reason "read-only": the menu, the action bar,
the keys, the help and the palette then mark them as they mark what any source cannot do.
The CLI refuses the commands that write before it opens the database (`cli_read_only`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from runs_tui.core.records import BulkResult, NewRun, PipelineSummary, RunId
from runs_tui.core.source import Capabilities, RunSource
from runs_tui.core.status import Action

READ_ONLY = "read-only"
KEPT = frozenset({Action.DETAILS})  # what read-only mode still does: nothing changes


def read_only(capabilities: Capabilities) -> Capabilities:
    """`capabilities` without any action that changes a run, nor registering pipelines."""
    return replace(
        capabilities,
        actions=capabilities.actions & KEPT,
        unavailable={action: READ_ONLY for action in Action if action not in KEPT},
        register=False,
    )


class ReadOnlySource:
    """`source` as it reads; every change refused. The changing methods raise ValueError
    ("read-only") should a caller not ask `capabilities` first; the rest is `source`'s."""

    def __init__(self, source: RunSource) -> None:
        self.source = source

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    @property
    def capabilities(self) -> Capabilities:
        return read_only(self.source.capabilities)

    def register_pipeline(self, path: str) -> PipelineSummary:
        raise ValueError(f"{READ_ONLY}: no pipeline is registered")

    def transition(self, action: Action, ids: Sequence[RunId], *, message: str = "") -> BulkResult:
        raise ValueError(f"{READ_ONLY}: no run is changed")

    def resume(self, ids: Sequence[RunId]) -> BulkResult:
        raise ValueError(f"{READ_ONLY}: no run is changed")

    def tag(self, ids: Sequence[RunId], add: Sequence[str], remove: Sequence[str]) -> BulkResult:
        raise ValueError(f"{READ_ONLY}: no run is changed")

    def new_run(
        self,
        pipeline: str,
        params: dict[str, str],
        *,
        queue: str | None = None,
        tags: Sequence[str] = (),
    ) -> NewRun:
        raise ValueError(f"{READ_ONLY}: no run is started")
