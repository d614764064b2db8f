"""Telling the user when a run of the open pipeline (or of any, per `[notify] scope`)
fails, or completes if asked: a toast naming the run and why, the terminal bell, and a
desktop notification through the terminal if asked. At most one a refresh.

It watches the changes the table watches (`RunSource.changed_since` by writers' clocks,
`core.changes.Watch`), with a watch of its own: a filtered table would hide the runs,
and a fresh load resets the table's watch. Only the runs that changed are read
(`RunSource.runs`); what is news is decided in `core.notify`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from runs_tui.core.changes import Watch
from runs_tui.core.notify import Notice, RunState, decide, desktop_sequences
from runs_tui.core.records import PipelineId, RunId, RunRow
from runs_tui.core.source import SourceError
from runs_tui.ui.context import Context

UNSET = object()


@dataclass
class Looked(Message):
    """What a look found: the watch to keep (None: the source cannot tell changes), when
    watching began (on the first look), and the rows of the runs that changed."""

    generation: int
    watch: Watch | None
    start: float | None = None
    rows: list[RunRow] = field(default_factory=list)


def write_to_terminal(app: Any, sequence: str) -> None:
    """Write an escape sequence through the app's driver, in order with the screen's
    updates, as `App.bell` writes its BEL (Textual has no public call for other
    sequences; tests/test_textual_canary.py pins `App._driver.write`). Nothing is written
    headless."""
    driver = getattr(app, "_driver", None)
    if not app.is_headless and driver is not None:
        driver.write(sequence)


class Notifier(Widget):
    """Not drawn. `follow` says which pipeline is open, `tick` looks for changes (a look
    still under way is not stopped: what it finds is told)."""

    DEFAULT_CSS = "Notifier { display: none; }"

    def __init__(self, context: Context, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.context = context
        self.target: Any = UNSET  # the pipeline watched; None: every pipeline
        self.generation = 0
        self.changes: Watch | None = None
        self.start: float | None = None
        self.known: dict[RunId, RunState] = {}

    @property
    def wanted(self) -> bool:
        return bool(self.context.settings.notify.on)

    def follow(self, pipeline_id: PipelineId | None) -> None:
        """The open pipeline: watched from now on (with scope "all", every pipeline is,
        from the first call on)."""
        if not self.wanted:
            return
        target = None if self.context.settings.notify.scope == "all" else pipeline_id
        if target == self.target:
            return
        self.target, self.generation = target, self.generation + 1
        self.changes, self.start, self.known = None, None, {}
        self._look(self.generation, target, None)

    def tick(self) -> None:
        busy = any(w.is_running for w in self.workers if w.group == "notify")
        if self.changes is not None and not busy:
            self._look(self.generation, self.target, self.changes)

    @work(thread=True, group="notify")
    def _look(self, generation: int, target: PipelineId | None, watch: Watch | None) -> None:
        source, at = self.context.source, self.context.clock()
        try:
            if watch is None:  # start watching: what changed so far is not news
                latest = source.changed_since(target, None)
                if latest is None:
                    self.post_message(Looked(generation, None))
                    return
                start = Watch(max((t for _, t in latest), default=0.0))
                recent = source.changed_since(target, start.since(at)) or []
                self.post_message(Looked(generation, start.after(recent)[1], start.latest))
                return
            found = source.changed_since(target, watch.since(at))
            if found is None:
                return
            ids, watch = watch.after(found)
            rows = source.runs(ids) if ids else []
        except SourceError:
            return  # the table's banner says so; the next tick looks again
        self.post_message(Looked(generation, watch, None, rows))

    @on(Looked)
    def _looked(self, message: Looked) -> None:
        if message.generation != self.generation:
            return  # another pipeline was opened meanwhile
        self.changes = message.watch
        if message.start is not None:
            self.start = message.start
        if self.start is None or not message.rows:
            return
        on_states = self.context.settings.notify.on
        notice, self.known = decide(self.known, message.rows, on_states, self.start)
        if notice is not None:
            self.tell(notice)

    def tell(self, notice: Notice) -> None:
        settings = self.context.settings.notify
        self.app.notify(
            notice.message,
            title=notice.title,
            severity="error" if notice.severity == "error" else "information",
            timeout=10,
            markup=False,
        )
        if settings.bell:
            self.app.bell()
        if settings.desktop:
            sequences = desktop_sequences(notice.title, notice.message, settings.desktop)
            write_to_terminal(self.app, sequences)
