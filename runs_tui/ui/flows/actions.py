"""Acting on runs: the selection menu, the action menu, state changes with their
confirmation, tags and a new run (or a clone of one). Each is one flow: ask, act through
the source, report. Each imports its modal screen when it runs: the first frame does not
wait for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from runs_tui.core import collector
from runs_tui.core.actions import ACTIONS, ActionKind, aborts_first, action_counts
from runs_tui.core.actions import eligible as eligible_for
from runs_tui.core.fmt import plural
from runs_tui.core.mark_set import MarkSet
from runs_tui.core.records import BulkResult, NewRunForm, RunId, RunQuery, id_order
from runs_tui.core.source import RunSource
from runs_tui.core.status import Action, Status
from runs_tui.core.text import one_line
from runs_tui.ui.flows.host import Host, ask, off_thread, scope, shown_pipeline


def targets(host: Host) -> list[RunId]:
    """The marked runs, else the cursor run."""
    if host.table.marks:
        return sorted(host.table.marks, key=id_order)
    run = host.table.cursor_run
    return [run.id] if run is not None else []


def unavailable(host: Host, action: Action) -> bool:
    """Say so, and True, when the source cannot do `action`."""
    caps = host.context.source.capabilities
    if caps.can(action):
        return False
    host.notify(
        f"{ACTIONS[action].label}: {one_line(caps.why_not(action))}",
        severity="warning",
        markup=False,
    )
    return True


async def select(host: Host) -> None:
    """`*`: mark every run of the pipeline, every run the filters match, or none."""
    from runs_tui.ui.screens.menus import SelectionMenu

    q = host.run_query
    if q is None:
        return
    source = host.context.source
    everything = q.everything()
    # The table counted both moments ago: the cache answers at once, even at 1M runs.
    total = await off_thread(host, host.counts.count, everything)
    matching = await off_thread(host, host.counts.count, q) if total is not None else None
    if total is None or matching is None:
        return
    where = "every pipeline" if host.overview else "pipeline"
    choice = await ask(host.app, SelectionMenu(total, matching, q.narrowed, where))
    if choice is None:
        return
    if choice == "none":
        ids = MarkSet()
    else:  # the set made off the UI thread too: at a million runs it takes a while
        chosen = everything if choice == "all" else q
        got = await off_thread(host, lambda: _marks_of(source, chosen))
        if got is None:
            return
        ids = got
    host.table.marks = ids
    host.marks_changed(None)  # every loaded row's mark drawn again; every mark counted


def _marks_of(source: RunSource, q: RunQuery) -> MarkSet:
    """Every run `q` matches, marked (a million, at most a second's work in a worker)."""
    with collector.paused():
        return MarkSet.of(source.ids(q))


async def menu(host: Host) -> None:
    """`m`: every action with how many of the runs it can affect; the chosen one runs."""
    from runs_tui.ui.screens.menus import ActionMenu

    ids = targets(host)
    if not ids:
        return
    states = await off_thread(host, host.context.source.state_counts, ids)
    if states is None:
        return
    what = plural(len(ids), "marked run") if host.table.marks else "the cursor run"
    screen = ActionMenu(
        f"Actions for {what}",
        action_counts(states),
        host.archive_view,
        host.context.source.capabilities,
    )
    chosen = await ask(host.app, screen)
    if chosen is None:
        return
    kind = ACTIONS[chosen].kind
    if kind is ActionKind.DETAILS:
        await host.action_details()
    elif kind is ActionKind.NEW_RUN:
        await new_run(host)
    elif kind is ActionKind.TAGS:
        await tag(host)
    else:
        await act(host, chosen)


async def act(host: Host, action: Action, resume: bool = False) -> None:
    """Confirm when more than one run is concerned, naming how many and how many the
    filter hides, or when the action aborts a run first (archive); then act. `resume`:
    continue the Aborted and retry the Failed (`c`)."""
    ids = targets(host)
    q = host.run_query
    if not ids or q is None or unavailable(host, action):
        return
    asks = len(ids) > 1 or ACTIONS[action].aborts
    if asks and not await _confirmed(host, action, ids, q, resume):
        return
    source = host.context.source
    if resume:
        result = await off_thread(host, source.resume, ids)
    else:
        result = await off_thread(host, source.transition, action, ids)
    if result is not None:
        report(host, result, clear_marks=action in (Action.ARCHIVE, Action.RESTORE))


async def _confirmed(
    host: Host, action: Action, ids: list[RunId], q: RunQuery, resume: bool
) -> bool:
    """Ask about several runs (how many can be affected, hidden, left as they are) or about
    runs the action aborts first; True to go on. One run with nothing to abort: no question."""
    from runs_tui.ui.screens.menus import ConfirmScreen

    source = host.context.source
    many = len(ids) > 1
    states = await off_thread(host, source.state_counts, ids)
    hidden = await off_thread(host, source.hidden, q, ids) if states is not None and many else 0
    if states is None or hidden is None:
        return False
    counts = action_counts(states)
    eligible = counts[action] + (counts[Action.RETRY] if resume else 0)
    own = source.capabilities.labels.get(action)  # the source's words: always asked
    verb = "Continue or retry" if resume else own or ACTIONS[action].confirm
    if not eligible and many:
        marked = plural(len(ids), "marked run")
        host.notify(f"{verb}: none of the {marked} is eligible", severity="warning")
        return False
    aborting = {
        Status(st).label: n
        for (st, archived), n in states.items()
        if n and eligible_for(action, st, archived) and aborts_first(action, st)
    }
    if not many and not aborting and not own:
        return True
    lines = [f"{eligible:,} of the {len(ids):,} marked runs can be affected."] if many else []
    if hidden:
        lines.append(f"{hidden:,} of the marked runs {_be(hidden)} hidden by the current filter.")
    if aborting:
        n = sum(aborting.values())
        states_named = " or ".join(sorted(aborting))
        lines.append(f"{plural(n, 'run')} {_be(n)} {states_named} and will be aborted first.")
    if eligible < len(ids):
        other = len(ids) - eligible
        lines.append(
            "The other run is left as it is."
            if other == 1
            else f"The other {other:,} are left as they are."
        )
    title = f"{verb}: {plural(eligible, 'run')}?" if own else f"{verb} {plural(eligible, 'run')}?"
    answer = await ask(host.app, ConfirmScreen(title, "\n".join(lines)))
    return answer


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def report(host: Host, result: BulkResult, clear_marks: bool) -> None:
    host.counts.forget()
    host.notify(
        result.summary(),
        severity="information" if result.ok else "warning",
        markup=False,
        timeout=8,
    )
    if clear_marks:
        host.clear_marks()
    else:
        host.marks_changed(set())
    host.reload()


async def new_run(host: Host) -> None:
    """`n`: the form prefilled from the newest run; the new run is followed in the table."""
    pipeline = shown_pipeline(host, "New run")
    if pipeline is None or unavailable(host, Action.RUN):
        return
    source = host.context.source
    name = pipeline.name
    if host.overview and host.table.cursor_run is not None:
        name = host.table.cursor_run.pipeline  # the overview: the cursor run's pipeline
    form = await off_thread(host, source.new_run_form, name)
    if form is not None:
        await run_form(host, form)


async def clone(host: Host) -> None:
    """`N`: the new-run form prefilled from the cursor run: its parameters, tags and queue
    (not the newest run's), read again whole (the table's row holds only what it shows)."""
    run = host.table.cursor_run
    if run is None or unavailable(host, Action.CLONE):
        return
    source = host.context.source
    found = await off_thread(host, source.runs, [run.id])
    if not found:
        if found is not None:
            host.notify(f"Clone: {run.ref} no longer exists", severity="warning", markup=False)
        return
    row = found[0]
    form = await off_thread(host, source.new_run_form, row.pipeline)
    if form is not None:
        cloned = replace(form, prefill=dict(row.params), queue=row.queue)
        await run_form(host, cloned, row.tags, f"Clone of {row.ref}")


async def run_form(host: Host, form: NewRunForm, tags: Sequence[str] = (), title: str = "") -> None:
    """Ask for a new run from `form` (`tags` prefilled), create it and follow it."""
    from runs_tui.ui.screens.forms import NewRunScreen

    source = host.context.source
    screen = NewRunScreen(
        form.pipeline,
        form.defaults,
        form.prefill,
        form.queue,
        form.queues,
        form.tags,
        prefill_tags=tags,
        title=title,
    )
    request = await ask(host.app, screen)
    if request is None:
        return
    new = await off_thread(
        host,
        source.new_run,
        form.pipeline,
        request.params,
        queue=request.queue,
        tags=request.tags,
    )
    if new is None:
        return
    host.counts.forget()
    host.follow_run = new.id
    host.notify(f"Started {new.ref} in queue {new.queue}", markup=False)
    host.reload()


async def tag(host: Host) -> None:
    """`t`: add tags (known ones suggested) and pick tags to remove."""
    from runs_tui.ui.screens.forms import TagScreen

    ids = targets(host)
    if not ids or host.pipeline is None or unavailable(host, Action.ADD_TAG):
        return
    source = host.context.source
    known = await off_thread(host, source.pipeline_tags, scope(host))
    current = await off_thread(host, source.tags_of, ids) if known is not None else None
    if known is None or current is None:
        return
    change = await ask(host.app, TagScreen(len(ids), known, current))
    if change is None:
        return
    result = await off_thread(host, source.tag, ids, change.add, change.remove)
    if result is not None:
        report(host, result, clear_marks=False)
