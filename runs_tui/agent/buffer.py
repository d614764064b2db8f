"""A run's output on its way to the store: log lines, metric points and the summaries of
their series.

It is bounded, as it grows while the database is unavailable: past a cap the oldest
lines and points are dropped, and a note in the log says how many (the summaries are
kept whole, so the table's values stay right). Writing it upserts only the summaries of
the series its points belong to, so a flush costs the same however many series the run
reported before.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from runs_tui.agent.protocol import MetricReport, storable
from runs_tui.core.db import now
from runs_tui.core.models import LOG, METRIC, POINT

MAX_LINES = 10_000  # log lines kept while the database is unavailable
MAX_POINTS = 10_000  # metric points kept likewise


@dataclass
class Summary:
    """One series over the buffered points, merged into its `metric` row when written;
    `min_step` and `max_step` are the steps of the first points at the minimum and the
    maximum (a later point that only equals it does not move them)."""

    last: float
    min: float
    max: float
    last_step: int | None
    min_step: int | None
    max_step: int | None


class OutputBuffer:
    """Output of one attempt of a run not written yet."""

    def __init__(self, run_id: int, attempt: int) -> None:
        self.run_id, self.attempt = run_id, attempt
        self._lines: deque[dict[str, Any]] = deque()
        self._points: deque[dict[str, Any]] = deque()
        self._summaries: dict[tuple[str, str], Summary] = {}
        self._dropped_lines = self._dropped_points = 0

    def __len__(self) -> int:
        """Lines and points, plus one for summaries or notes left after drops."""
        extra = bool(self._summaries or self._dropped_lines)
        return len(self._lines) + len(self._points) + extra

    def log(self, step: str, stream: str, line: str) -> None:
        if len(self._lines) >= MAX_LINES:
            self._lines.popleft()
            self._dropped_lines += 1
        self._lines.append(self._row(step, stream, storable(line)))

    def metric(self, report: MetricReport) -> None:
        if len(self._points) >= MAX_POINTS:
            self._points.popleft()
            self._dropped_points += 1
        value, step = report.value, report.step
        key = (report.title, report.series)
        self._points.append(
            {
                "run_id": self.run_id,
                "attempt": self.attempt,
                "title": key[0],
                "series": key[1],
                "step": step,
                "value": value,
                "time": now(),
            }
        )
        s = self._summaries.get(key)
        if s is None:
            self._summaries[key] = Summary(value, value, value, step, step, step)
            return
        s.last, s.last_step = value, step
        if value < s.min:
            s.min, s.min_step = value, step
        if value > s.max:
            s.max, s.max_step = value, step

    def write(self, session: Session, sqlite: bool) -> None:
        """Insert it all in `session`'s transaction; the caller clears it once committed."""
        lines = [*self._drop_notes(), *self._lines]
        if lines:
            session.execute(insert(LOG), lines)
        if self._points:
            session.execute(insert(POINT), list(self._points))
        if self._summaries:
            self._upsert_summaries(session, sqlite)

    def clear(self) -> None:
        self._lines.clear()
        self._points.clear()
        self._summaries.clear()
        self._dropped_lines = self._dropped_points = 0

    def _row(self, step: str, stream: str, line: str) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "attempt": self.attempt,
            "step": step,
            "stream": stream,
            "time": now(),
            "line": line,
        }

    def _drop_notes(self) -> list[dict[str, Any]]:
        dropped = [
            f"{n} {what} dropped while the database was unavailable{extra}"
            for n, what, extra in (
                (self._dropped_lines, "log lines", ""),
                (self._dropped_points, "metric points", " (their summaries are kept)"),
            )
            if n
        ]
        return [self._row("", "agent", f"[runs-tui: {text}]") for text in dropped]

    def _upsert_summaries(self, session: Session, sqlite: bool) -> None:
        """Every series of the buffered points in one statement keyed by (run, title,
        series); no other summary of the run is read. A step moves only with a new
        extreme: the stored one was reached first on a tie."""
        t = now()
        rows = [
            {
                "run_id": self.run_id,
                "title": title,
                "series": series,
                "last": s.last,
                "min": s.min,
                "max": s.max,
                "last_step": s.last_step,
                "min_step": s.min_step,
                "max_step": s.max_step,
                "updated": t,
            }
            for (title, series), s in self._summaries.items()
        ]
        stmt: Any = (sqlite_insert if sqlite else pg_insert)(METRIC)
        lower, upper = (func.min, func.max) if sqlite else (func.least, func.greatest)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[METRIC.c.run_id, METRIC.c.title, METRIC.c.series],
            set_={
                "last": new.last,
                "min": lower(METRIC.c.min, new.min),
                "max": upper(METRIC.c.max, new.max),
                "last_step": new.last_step,
                "min_step": case((new.min < METRIC.c.min, new.min_step), else_=METRIC.c.min_step),
                "max_step": case((new.max > METRIC.c.max, new.max_step), else_=METRIC.c.max_step),
                "updated": new.updated,
            },
        )
        session.execute(stmt, rows)
