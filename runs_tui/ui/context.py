"""What the app hands to its screens: the source of runs, the settings and the clock.

Screens get this instead of reaching up to the app, so they work with any source and
any app that provides one (tests, snapshots, the demo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runs_tui.core.config import Settings
from runs_tui.core.source import RunSource
from runs_tui.core.view import TableView

Clock = Callable[[], float]


@dataclass
class Context:
    """`save_settings` writes the settings and tells the user when it cannot; `read_only`:
    the source changes no run (`core.read_only`), which the title bar says."""

    source: RunSource
    settings: Settings
    clock: Clock
    save_settings: Callable[[], None]
    read_only: bool = False

    def remember_pipeline(self, name: str) -> None:
        if name != self.settings.last_pipeline:
            self.settings.last_pipeline = name
            self.save_settings()

    def save_view(self, pipeline: str, view: TableView) -> None:
        if self.settings.pipelines.get(pipeline) != view:
            self.settings.pipelines[pipeline] = view
            self.save_settings()
