"""Reading an MLflow server's runs: its experiments (the pipelines), and `runs/search`
pages of a query, pushed down as far as the grammar goes (`mlflow_query.plan`).

A pushed-down query is read by the server's page tokens, kept by the offset they
start at, so the table's next page (and a refresh of a window far down) costs one
call; a run's place is kept too, for `window_after`, and checked (runs come and go).
A query that needs evaluating here reads every run its pushed-down part keeps, at most
`SCAN_LIMIT` (past that: SourceError saying so, never a silent cut), and is kept a
moment for the window, count and page that follow it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from runs_tui.core.records import PipelineId, PipelineSummary, RunId, RunQuery, RunRow
from runs_tui.core.source import SourceError
from runs_tui.sources.mlflow_client import Client, endpoint_of
from runs_tui.sources.mlflow_model import STATUS, Parsed, parse_run
from runs_tui.sources.mlflow_query import ACTIVE, Plan, keeps, order, plan
from runs_tui.sources.mlflow_ranges import Ranges

SCAN_LIMIT = 20_000  # runs read at most to evaluate a query the server cannot
SCAN_PAGE = 5_000  # runs a page when reading them all (the server allows 50,000)


class MlflowReader:
    """The read path of `MlflowSource`; thread-safe (the UI calls it from workers)."""

    def __init__(self, url: str, prefix: str = "") -> None:
        self.client = Client(endpoint_of(url))
        self.prefix = prefix
        self.ranges = Ranges(self.client)
        self._lock = threading.Lock()
        self._experiments: dict[str, str] = {}  # id -> name shown
        self._tokens: dict[tuple[Any, ...], dict[int, str | None]] = {}
        self._places: dict[tuple[Any, ...], dict[str, int]] = {}
        self._evaluated: dict[tuple[Any, ...], tuple[float, list[RunRow]]] = {}
        self._generation = 0  # moved by every write: what was evaluated is stale

    # ------------------------------------------------------------- experiments

    def _list_experiments(self) -> dict[str, str]:
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            body: dict[str, Any] = {"max_results": 1000, "view_type": ACTIVE}
            if token:
                body["page_token"] = token
            got = self.client.post("experiments/search", body)
            for e in got.get("experiments", []):
                name = str(e.get("name", ""))
                if name.startswith(self.prefix) and name != self.prefix:
                    found[str(e["experiment_id"])] = name[len(self.prefix) :]
            token = got.get("next_page_token") or None
            if token is None:
                break
        with self._lock:
            self._experiments = found
        return found

    def _names(self) -> dict[str, str]:
        with self._lock:
            known = dict(self._experiments)
        return known or self._list_experiments()

    def _exp_ids(self, pipeline_id: PipelineId | None) -> list[str]:
        """The experiments a query reads; SourceError for one that is gone (the server
        would answer an empty page, as if it had no runs)."""
        if pipeline_id is None:
            return sorted(self._names())
        eid = str(pipeline_id)
        if eid not in self._names() and eid not in self._list_experiments():
            shown = self.client.endpoint.shown
            raise SourceError(f"{shown}: experiment {eid} does not exist (deleted?)")
        return [eid]

    def _pipeline_name(self, experiment_id: str) -> str:
        names = self._names()
        if experiment_id not in names:
            names = self._list_experiments()
        return names.get(experiment_id, experiment_id)

    def _summary(self, eid: str, name: str) -> PipelineSummary:
        return PipelineSummary(eid, name, "", "")

    def pipelines(self, counted: bool = True) -> list[PipelineSummary]:
        out = []
        for eid, name in sorted(self._list_experiments().items(), key=lambda e: e[1]):
            summary = self._summary(eid, name)
            if counted:
                summary.counts = self._status_counts(eid)
            summary.counted = counted
            out.append(summary)
        return out

    def _status_counts(self, eid: str) -> dict[str, int]:
        """The experiment's runs by status: the server counts nothing, so every run is
        read (only its status looked at), a page of `SCAN_PAGE` at a time."""
        counts: Counter[str] = Counter()
        p = plan(RunQuery(eid))
        token: str | None = None
        while True:
            runs, token = self._page_json([eid], p, SCAN_PAGE, token)
            for run in runs:
                status = STATUS.get(str(run.get("info", {}).get("status", "")))
                if status is not None:
                    counts[status] += 1
            if token is None:
                return dict(counts)

    def find_pipeline(self, name: str | None) -> tuple[PipelineSummary | None, bool]:
        named = sorted(self._list_experiments().items(), key=lambda e: e[1])
        if not named:
            return None, name is None
        hit = next(((i, n) for i, n in named if n == name), None)
        if hit is not None:
            return self._summary(*hit), True
        return self._summary(*named[0]), name is None

    def pipeline(self, name: str) -> PipelineSummary:
        named = self._list_experiments()
        for eid, shown in named.items():
            if shown == name:
                return self._summary(eid, shown)
        known = ", ".join(sorted(named.values())) or "none"
        raise ValueError(f"no experiment {name!r} (known: {known})")

    def register_pipeline(self, path: str) -> PipelineSummary:
        raise ValueError(f"{path}: pipelines are MLflow experiments, not registered here")

    # ------------------------------------------------------------- searching

    def _page_json(
        self, exp_ids: list[str], p: Plan, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One `runs/search` page as the server sends it, and the next page's token."""
        body: dict[str, Any] = {
            "experiment_ids": exp_ids,
            "filter": p.filter,
            "run_view_type": p.view,
            "max_results": limit,
            "order_by": list(p.order_by),
        }
        if token:
            body["page_token"] = token
        got = self.client.post("runs/search", body)
        return got.get("runs", []), got.get("next_page_token") or None

    def _search(
        self, exp_ids: list[str], p: Plan, limit: int, token: str | None
    ) -> tuple[list[Parsed], str | None]:
        runs, token = self._page_json(exp_ids, p, limit, token)
        return [self._parse(r) for r in runs], token

    def _parse(self, data: dict[str, Any]) -> Parsed:
        info = data.get("info", {})
        parsed = parse_run(data, self._pipeline_name(str(info.get("experiment_id", ""))))
        with self.ranges._lock:
            self.ranges.latest[str(parsed.row.id)] = parsed.latest
        return parsed

    def _scan(self, exp_ids: list[str], p: Plan, limit: int | None = SCAN_LIMIT) -> list[RunRow]:
        """Every run the pushed-down part keeps, in the server's order; past `limit`,
        SourceError saying what could not be evaluated by the server."""
        rows: list[RunRow] = []
        token: str | None = None
        while True:
            got, token = self._search(exp_ids, p, SCAN_PAGE, token)
            rows += [g.row for g in got]
            if limit is not None and len(rows) > limit:
                raise SourceError(
                    f"this filter, search or sort is evaluated by runs-tui, over at most "
                    f"{limit:,} runs, and more match what the MLflow server can filter: "
                    "narrow it with status, user, metric or start-time filters"
                )
            if token is None or not exp_ids:
                return rows

    def _key(self, q: RunQuery, p: Plan) -> tuple[Any, ...]:
        return (tuple(self._exp_ids(q.pipeline_id)), p)

    def _all(self, q: RunQuery) -> list[RunRow]:
        """The whole result of a query evaluated here, kept a moment (the table reads
        its window, its count and its next page in turn) and until a write."""
        p = plan(q)
        at = q.at if q.at is not None else time.time()
        key = (self._key(q, p), q.with_(at=None), self._generation)
        with self._lock:
            kept = self._evaluated.get(key)
        if kept is not None and time.monotonic() - kept[0] < 1.0:
            return kept[1]
        rows = [r for r in self._scan(self._exp_ids(q.pipeline_id), p) if keeps(q, r, at)]
        if p.local_sort:
            rows = order(rows, q, at)
        with self._lock:
            self._evaluated = {key: (time.monotonic(), rows)}
        return rows

    def window(self, q: RunQuery, offset: int = 0, limit: int = 200) -> list[RunRow]:
        p = plan(q)
        if p.local:
            return self._all(q)[offset : offset + limit]
        return self._page(q, p, offset, limit)

    def _page(self, q: RunQuery, p: Plan, offset: int, limit: int) -> list[RunRow]:
        """Rows [offset, offset+limit) by page tokens: from the nearest kept one below."""
        key = self._key(q, p)
        exp_ids = list(key[0])
        with self._lock:
            tokens = self._tokens.setdefault(key, {0: None})
            start = max(o for o in tokens if o <= offset)
            token = tokens[start]
        rows: list[RunRow] = []
        place = start
        while place < offset + limit and exp_ids:
            want = min(offset + limit - place, 50_000)
            got, token = self._search(exp_ids, p, want, token)
            with self._lock:
                places = self._places.setdefault(key, {})
                for i, parsed in enumerate(got):
                    places[str(parsed.row.id)] = place + i
                if token is not None:
                    tokens[place + len(got)] = token
            rows += [g.row for g in got[max(offset - place, 0) :]]
            place += len(got)
            if token is None:
                break
        return rows[:limit]

    def window_after(self, q: RunQuery, run_id: RunId, limit: int = 200) -> list[RunRow] | None:
        p = plan(q)
        if p.local:
            ids = [r.id for r in self._all(q)]
            if run_id not in ids:
                return None
            at = ids.index(run_id) + 1
            return self._all(q)[at : at + limit]
        key = self._key(q, p)  # outside the lock: it may list the experiments
        with self._lock:
            place = self._places.get(key, {}).get(str(run_id))
        slack = 50
        if place is not None:  # where it was: look around it, runs may have come since
            start = max(place - slack, 0)
            rows = self._page(q, p, start, limit + 2 * slack)
            found = next((i for i, r in enumerate(rows) if r.id == run_id), None)
            if found is not None and len(rows) - found - 1 >= min(limit, len(rows)) - 2 * slack:
                return rows[found + 1 : found + 1 + limit]
        ids = self.ids(q)
        if run_id not in ids:
            return None
        return self._page(q, p, ids.index(run_id) + 1, limit)

    def count(self, q: RunQuery, limit: int | None = None) -> int:
        p = plan(q)
        if p.local:
            return len(self._all(q))
        exp_ids = self._exp_ids(q.pipeline_id)
        n, token = 0, None  # pages, unparsed, until the last or `limit` (one page)
        while exp_ids:
            got, token = self._page_json(exp_ids, p, SCAN_PAGE, token)
            n += len(got)
            if token is None or (limit is not None and n >= limit):
                break
        return n

    def ids(self, q: RunQuery) -> list[RunId]:
        p = plan(q)
        if p.local:
            return [r.id for r in self._all(q)]
        return [r.id for r in self._scan(self._exp_ids(q.pipeline_id), p, limit=None)]

    def runs(self, ids: Sequence[RunId]) -> list[RunRow]:
        """By id, in that order, archived or not, any experiment; unknown ids left out."""
        return [self._parse(data).row for data in self._by_ids(ids)]

    def _by_ids(self, ids: Sequence[RunId]) -> list[dict[str, Any]]:
        """The server's JSON of the runs with these ids, in that order, archived or not,
        any experiment; unknown ids left out."""
        wanted = [str(i) for i in ids if _hexlike(str(i))]
        exp_ids = self._exp_ids(None)
        found: dict[str, dict[str, Any]] = {}
        for n in range(0, len(wanted), 100):
            part = wanted[n : n + 100]
            listed = ", ".join(f"'{i}'" for i in part)
            p = Plan(f"attributes.run_id IN ({listed})", (), "ALL", False, False)
            token = None
            while exp_ids:
                got, token = self._page_json(exp_ids, p, 1000, token)
                found.update((str(r.get("info", {}).get("run_id")), r) for r in got)
                if token is None:
                    break
        return [found[str(i)] for i in ids if str(i) in found]


def _hexlike(text: str) -> bool:
    return 0 < len(text) <= 64 and all(c in "0123456789abcdefABCDEF" for c in text)
