"""Deciding what to tell the user about runs that changed: the runs that entered a state
they asked about (Failed, Completed) since the last look, as at most one notification
a look (a burst is summarised: "7 runs failed in train-resnet"). Runs already in that
state when watching began are not news; a run retried and failing again is.

Also the terminal's desktop notifications (OSC 777 and OSC 9), with a text that cannot
end or split the sequence."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runs_tui.core.fmt import plural
from runs_tui.core.records import RunId, RunRow
from runs_tui.core.text import one_line

SHOWN = 3  # runs named in a summary, before "and N more"
DESKTOP_LIMIT = 200  # characters of a desktop notification's title or body


@dataclass(frozen=True)
class RunState:
    """What is compared from one look to the next: the status of which attempt."""

    status: str
    attempt: int


@dataclass(frozen=True)
class Notice:
    """One notification: a title, a message naming the run(s) and why, how severe."""

    title: str
    message: str
    severity: str  # "error" when a run failed, else "information"
    runs: tuple[RunId, ...]


def run_label(row: RunRow) -> str:
    """`pipeline #N` (the run's name where the source numbers none), safe to show."""
    label = f"#{row.number}" if row.number is not None else row.name
    return one_line(f"{row.pipeline} {label}", limit=120)


def news(
    known: Mapping[RunId, RunState], rows: Iterable[RunRow], on: frozenset[str], start: float
) -> list[RunRow]:
    """The runs that entered a state of `on`: seen before in another state (or another
    attempt), or never seen and finished after `start` (when watching began, by the
    source's clocks): a run that was Failed already and only got a tag is not news."""
    out = []
    for row in rows:
        if row.status not in on:
            continue
        before = known.get(row.id)
        if before is None:
            if row.finished is not None and row.finished > start:
                out.append(row)
        elif before != RunState(row.status, row.attempt):
            out.append(row)
    return out


def decide(
    known: Mapping[RunId, RunState], rows: Iterable[RunRow], on: frozenset[str], start: float
) -> tuple[Notice | None, dict[RunId, RunState]]:
    """At most one notice for the runs of one look, and what is known after it."""
    rows = list(rows)
    fresh = news(known, rows, on, start)
    after = {**known, **{r.id: RunState(r.status, r.attempt) for r in rows}}
    return notice(fresh), after


def notice(rows: list[RunRow]) -> Notice | None:
    """One run: its name, its new state and why (its message); several: how many of
    each state and where, naming the first few."""
    if not rows:
        return None
    severity = "error" if any(r.status == "failed" for r in rows) else "information"
    ids = tuple(r.id for r in rows)
    if len(rows) == 1:
        (r,) = rows
        reason = one_line(r.status_message, limit=300)
        title = f"Run {r.status}"
        message = f"{run_label(r)} {r.status}" + (f": {reason}" if reason else "")
        return Notice(title, message, severity, ids)
    failed = sum(r.status == "failed" for r in rows)
    if failed in (0, len(rows)):
        title = f"{len(rows)} runs {rows[0].status}"
    else:
        title = f"{plural(failed, 'run')} failed and {len(rows) - failed} completed"
    pipelines = {r.pipeline for r in rows}
    where = (
        one_line(rows[0].pipeline, limit=80)
        if len(pipelines) == 1
        else f"{len(pipelines)} pipelines"
    )
    named = ", ".join(run_label(r) for r in rows[:SHOWN])
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    return Notice(f"{title} in {where}", f"{named}{more}", severity, ids)


_BREAKS = re.compile(r"[;\x00-\x1f\x7f-\x9f]")


def _field(text: str) -> str:
    """A text for inside an OSC sequence: no control character, no `;` (a field separator
    there), bounded."""
    return one_line(_BREAKS.sub(" ", text), limit=DESKTOP_LIMIT).strip()


def desktop_sequences(title: str, body: str, kinds: Iterable[str]) -> str:
    """The escape sequences that ask the terminal for a desktop notification: OSC 777
    (`notify;title;body`: foot, Ghostty, WezTerm, rxvt) and OSC 9 (iTerm2, kitty, Windows
    Terminal), as `kinds` names them."""
    t, b = _field(title), _field(body)
    out = []
    for kind in kinds:
        if kind == "osc777":
            out.append(f"\x1b]777;notify;{t};{b}\x07")
        elif kind == "osc9":
            out.append(f"\x1b]9;{t}: {b}\x07")
    return "".join(out)
