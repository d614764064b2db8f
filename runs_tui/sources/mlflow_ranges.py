"""Metrics' min and max (and the steps where they were reached) from MLflow's metric
history, read only for the rows and series asked (what is on screen, what an export
writes) and kept per run: for good once the run has finished, and for a running run
until a newer point arrives (its latest step or time moves)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runs_tui.core.records import MetricValue, RunRow
from runs_tui.core.status import ACTIVE
from runs_tui.sources.mlflow_client import Client
from runs_tui.sources.mlflow_model import LastValue, history_summary, metric_key

HISTORY_PAGE = 25_000  # the server's largest page of a history
PARALLEL = 4
Latest = tuple[int, int]  # a series' latest (step, timestamp): its history changed when it moves


def history(client: Client, run_id: str, key: str) -> list[dict[str, Any]]:
    """Every point of one series, page by page."""
    points: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        got = client.get(
            "metrics/get-history",
            run_id=run_id,
            metric_key=key,
            max_results=HISTORY_PAGE,
            page_token=token,
        )
        points += got.get("metrics", [])
        token = got.get("next_page_token") or None
        if token is None:
            return points


class Ranges:
    """The summaries read so far, by (run, MLflow metric key)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[Latest | None, MetricValue | None]] = {}
        self.latest: dict[str, dict[str, Latest]] = {}  # run -> key -> latest, from pages

    def fill(self, rows: Sequence[RunRow], series: Collection[tuple[str, str]] | None) -> None:
        """Replace the last-only metrics of `rows` in `series` (None: all) by their
        summaries: at most one history call per (run, series) not kept."""
        wanted: list[tuple[RunRow, tuple[str, str], str]] = []
        for row in rows:
            for pair, value in row.metrics.items():
                if isinstance(value, LastValue) and (series is None or pair in series):
                    wanted.append((row, pair, metric_key(*pair)))
        missing = [w for w in wanted if self._kept_for(w[0], w[2]) is None]
        if len(missing) == 1:
            self._read(missing[0][0], missing[0][2])
        elif missing:
            with ThreadPoolExecutor(PARALLEL) as pool:
                list(pool.map(lambda w: self._read(w[0], w[2]), missing))
        for row, pair, key in wanted:
            got = self._kept_for(row, key)
            if got is not None and got[1] is not None:
                row.metrics[pair] = got[1]

    def _kept_for(self, row: RunRow, key: str) -> tuple[Latest | None, MetricValue | None] | None:
        with self._lock:
            kept = self._kept.get((str(row.id), key))
            now = self.latest.get(str(row.id), {}).get(key)
        if kept is None:
            return None
        if row.status in ACTIVE and kept[0] != now:
            return None  # a running run logged a newer point
        return kept

    def _read(self, row: RunRow, key: str) -> None:
        summary = history_summary(history(self.client, str(row.id), key))
        with self._lock:
            now = self.latest.get(str(row.id), {}).get(key)
            self._kept[(str(row.id), key)] = (now, summary)

    def forget(self, run_id: str) -> None:
        with self._lock:
            for k in [k for k in self._kept if k[0] == run_id]:
                del self._kept[k]
