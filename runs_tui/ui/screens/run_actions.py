"""Acting on runs from the main screen: marks, the menus, and every action through core.ops.

Questions to the store (counts, ids, form defaults) and the actions themselves run
in thread workers; modals are pushed back on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.screen import ModalScreen, Screen

from runs_tui.core import lookup, ops, query, selection
from runs_tui.core.db import StoreError
from runs_tui.core.pipelines import load_registered
from runs_tui.core.status import Action
from runs_tui.ui.messages import MarksCounted, WindowLoaded
from runs_tui.ui.screens.forms import NewRunRequest, NewRunScreen, TagChange, TagScreen
from runs_tui.ui.screens.menus import ActionMenu, ConfirmScreen, SelectionMenu
from runs_tui.ui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from runs_tui.ui.app import RunsApp

CONFIRM_VERBS = {
    Action.ABORT: "Abort",
    Action.CONTINUE: "Continue",
    Action.RETRY: "Retry",
    Action.ARCHIVE: "Archive",
    Action.RESTORE: "Restore",
}


class RunActions(Screen[None]):
    """The mark and action keys of the main screen, which subclasses this and provides
    the state declared here."""

    run_query: query.RunQuery | None
    pipeline: lookup.PipelineSummary | None
    follow_run: int | None
    counts: query.CountCache

    @property
    def runs_app(self) -> RunsApp:
        from runs_tui.ui.app import RunsApp

        assert isinstance(self.app, RunsApp)
        return self.app

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def archive_view(self) -> bool:
        return self.run_query is not None and self.run_query.archived

    def reload(self) -> None:
        raise NotImplementedError

    def action_details(self) -> None:
        raise NotImplementedError

    def targets(self) -> list[int]:
        """The marked runs, else the cursor run."""
        if self.table.marks:
            return sorted(self.table.marks)
        run = self.table.cursor_run
        return [run.id] if run is not None else []

    def _push(self, screen: ModalScreen[Any], then: Callable[[Any], object]) -> None:
        self.app.call_from_thread(self.app.push_screen, screen, then)

    def _failed(self, exc: Exception) -> None:
        self.app.call_from_thread(
            self.notify, f"Database error: {exc}".splitlines()[0], severity="error", markup=False
        )

    def marks_changed(self, changed: set[int] | None = None) -> None:
        self.table.refresh_marks(changed)
        self._count_marks(frozenset(self.table.marks))

    @on(WindowLoaded)
    def _recount_marks(self, message: WindowLoaded) -> None:
        """States change and filters move: count what the marks allow again with each window."""
        if self.table.marks and message.query == self.run_query:
            self._count_marks(frozenset(self.table.marks))

    @work(thread=True, exclusive=True, group="marks")
    def _count_marks(self, marks: frozenset[int]) -> None:
        if not marks or self.run_query is None:
            self.post_message(MarksCounted(marks, {}, 0))
            return
        try:
            counts = selection.action_counts(selection.state_counts(self.runs_app.store, marks))
            hidden = selection.hidden(self.runs_app.store, self.run_query, marks)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        self.post_message(MarksCounted(marks, counts, hidden))

    def action_mark(self) -> None:
        run = self.table.cursor_run
        if run is None:
            return
        self.table.marks ^= {run.id}
        self.table.move_cursor(row=self.table.cursor_row + 1)
        self.marks_changed({run.id})

    def action_extend(self, step: int) -> None:
        before = self.table.cursor_run
        if before is None:
            return
        self.table.move_cursor(row=self.table.cursor_row + step)
        after = self.table.cursor_run
        changed = {before.id} | ({after.id} if after else set())
        self.table.marks |= changed
        self.marks_changed(changed)

    def action_clear_marks(self) -> None:
        if self.table.marks:
            changed = set(self.table.marks)
            self.table.marks = set()
            self.marks_changed(changed)

    @work(thread=True, group="ask")
    def action_select_menu(self) -> None:
        q = self.run_query
        if q is None:
            return
        everything = query.RunQuery(q.pipeline_id, archived=q.archived)
        try:
            total = query.count(self.runs_app.store, everything)
            matching = query.count(self.runs_app.store, q)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        filtering = bool(q.filters or q.tags or q.search.strip())
        self._push(
            SelectionMenu(total, matching, filtering),
            lambda choice: self._select(choice, everything, q),
        )

    @work(thread=True, group="ask")
    def _select(self, choice: str | None, everything: query.RunQuery, q: query.RunQuery) -> None:
        if choice is None:
            return
        try:
            ids = (
                set()
                if choice == "none"
                else set(query.ids(self.runs_app.store, everything if choice == "all" else q))
            )
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return

        def apply() -> None:
            changed = self.table.marks | ids
            self.table.marks = ids
            self.marks_changed(changed)

        self.app.call_from_thread(apply)

    @work(thread=True, group="ask")
    def action_menu(self) -> None:
        ids = self.targets()
        if not ids:
            return
        try:
            counts = selection.action_counts(selection.state_counts(self.runs_app.store, ids))
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        what = f"{len(ids):,} marked runs" if self.table.marks else "the cursor run"
        menu = ActionMenu(f"Actions for {what}", counts, self.archive_view)
        self._push(menu, self._menu_chosen)

    def _menu_chosen(self, action: Action | None) -> None:
        if action is None:
            return
        handlers: dict[Action, Callable[[], object]] = {
            Action.DETAILS: self.action_details,
            Action.RUN: self.action_new_run,
            Action.ABORT: self.action_abort,
            Action.CONTINUE: lambda: self._act(Action.CONTINUE),
            Action.RETRY: lambda: self._act(Action.RETRY),
            Action.ADD_TAG: self.action_tag,
            Action.ARCHIVE: self.action_archive,
            Action.RESTORE: self.action_archive,
        }
        handlers[action]()

    def action_abort(self) -> None:
        self._act(Action.ABORT)

    def action_resume(self) -> None:
        self._act(Action.CONTINUE, resume=True)

    def action_archive(self) -> None:
        self._act(Action.RESTORE if self.archive_view else Action.ARCHIVE)

    @work(thread=True, group="ask")
    def _act(self, action: Action, resume: bool = False) -> None:
        """Confirm when more than one run is concerned, naming how many and how many the
        filter hides; then act. `resume`: continue the Aborted and retry the Failed (`c`)."""
        ids = self.targets()
        if not ids or self.run_query is None:
            return
        if len(ids) == 1:
            self.app.call_from_thread(self._do, action, ids, resume)
            return
        try:
            counts = selection.action_counts(selection.state_counts(self.runs_app.store, ids))
            hidden = selection.hidden(self.runs_app.store, self.run_query, ids)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        eligible = counts[action] + (counts[Action.RETRY] if resume else 0)
        verb = "Continue or retry" if resume else CONFIRM_VERBS[action]
        if not eligible:
            self.app.call_from_thread(
                self.notify,
                f"{verb}: none of the {len(ids):,} marked runs is eligible",
                severity="warning",
            )
            return
        lines = [f"{eligible:,} of the {len(ids):,} marked runs can be affected."]
        if hidden:
            lines.append(f"{hidden:,} of the marked runs are hidden by the current filter.")
        if eligible < len(ids):
            lines.append(f"The other {len(ids) - eligible:,} are left as they are.")
        runs = f"{eligible:,} run{'s' if eligible != 1 else ''}"
        screen = ConfirmScreen(f"{verb} {runs}?", "\n".join(lines))
        self._push(screen, lambda yes: self._do(action, ids, resume) if yes else None)

    @work(thread=True, group="act")
    def _do(self, action: Action, ids: list[int], resume: bool = False) -> None:
        store = self.runs_app.store
        try:
            result = ops.resume(store, ids) if resume else ops.transition(store, action, ids)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        self.app.call_from_thread(self._report, result, action in (Action.ARCHIVE, Action.RESTORE))

    def _report(self, result: ops.BulkResult, clear_marks: bool) -> None:
        self.counts.forget()
        self.notify(
            result.summary(),
            severity="information" if result.ok else "warning",
            markup=False,
            timeout=8,
        )
        if clear_marks:
            self.action_clear_marks()
        else:
            self.marks_changed(set())
        self.reload()

    @work(thread=True, group="ask")
    def action_new_run(self) -> None:
        if self.pipeline is None:
            return
        store = self.runs_app.store
        try:
            pipe = lookup.pipeline_by_name(store, self.pipeline.name)
            definition = load_registered(pipe)
            assert pipe.id is not None
            prefill = selection.last_params(store, pipe.id)
            queues = lookup.queues(store)
            tags = selection.pipeline_tags(store, pipe.id)
        except (SQLAlchemyError, StoreError, ValueError) as exc:
            self._failed(exc)
            return
        screen = NewRunScreen(pipe.name, definition.parameters, prefill, pipe.queue, queues, tags)
        self._push(screen, lambda req: self._start_run(pipe.name, req) if req else None)

    @work(thread=True, group="act")
    def _start_run(self, pipeline: str, request: NewRunRequest) -> None:
        try:
            new = ops.new_run(
                self.runs_app.store,
                pipeline,
                request.params,
                queue=request.queue,
                tags=request.tags,
            )
        except (SQLAlchemyError, StoreError, ValueError) as exc:
            self._failed(exc)
            return

        def shown() -> None:
            self.counts.forget()
            self.follow_run = new.id
            self.notify(f"Started {new.ref} in queue {new.queue}", markup=False)
            self.reload()

        self.app.call_from_thread(shown)

    @work(thread=True, group="ask")
    def action_tag(self) -> None:
        ids = self.targets()
        if not ids or self.pipeline is None:
            return
        try:
            known = selection.pipeline_tags(self.runs_app.store, self.pipeline.id)
            current = selection.tags_of(self.runs_app.store, ids)
        except (SQLAlchemyError, StoreError) as exc:
            self._failed(exc)
            return
        self._push(
            TagScreen(len(ids), known, current),
            lambda change: self._retag(ids, change) if change else None,
        )

    @work(thread=True, group="act")
    def _retag(self, ids: list[int], change: TagChange) -> None:
        try:
            result = ops.tag(self.runs_app.store, ids, change.add, change.remove)
        except (SQLAlchemyError, StoreError, ValueError) as exc:
            self._failed(exc)
            return
        self.app.call_from_thread(self._report, result, False)
