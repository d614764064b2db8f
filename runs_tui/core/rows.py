"""Loading runs as the table, the CLI and exports show them (`records.RunRow`): one
row with tags, metric summaries and parameters, for a known list of ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from runs_tui.core.db import Store
from runs_tui.core.models import METRIC, PARAM, PIPELINE, RUN, TAG
from runs_tui.core.records import MetricValue, RunRow


def load_rows(store: Store, run_ids: Sequence[int]) -> list[RunRow]:
    """Rows for `run_ids`, in that order; ids that no longer exist are left out."""
    if not run_ids:
        return []
    wanted = list(run_ids)
    with store.read() as session:
        stmt = (
            select(RUN, PIPELINE.c.name.label("pipeline_name"))
            .join(PIPELINE, PIPELINE.c.id == RUN.c.pipeline_id)
            .where(RUN.c.id.in_(wanted))
        )
        rows: dict[int, RunRow] = {}
        for r in session.execute(stmt).mappings():
            rows[r["id"]] = RunRow(
                id=r["id"],
                pipeline=r["pipeline_name"],
                number=r["number"],
                name=r["name"],
                version=r["version"],
                status=r["status"],
                user=r["user"],
                queue=r["queue"],
                created=r["created"],
                started=r["started"],
                updated=r["updated"],
                finished=r["finished"],
                archived=bool(r["archived"]),
                attempt=r["attempt"],
                agent=r["agent"],
                progress=r["progress"],
                status_message=r["status_message"],
                exit_code=r["exit_code"],
            )
        tags: dict[int, list[str]] = {}
        for run_id, tag in session.execute(
            select(TAG.c.run_id, TAG.c.tag).where(TAG.c.run_id.in_(wanted))
        ):
            tags.setdefault(run_id, []).append(tag)
        for run_id, tag_list in tags.items():
            rows[run_id].tags = tuple(sorted(tag_list))
        for m in session.execute(select(METRIC).where(METRIC.c.run_id.in_(wanted))).mappings():
            rows[m["run_id"]].metrics[(m["title"], m["series"])] = MetricValue(
                m["last"], m["min"], m["max"], m["last_step"]
            )
        for run_id, key, value in session.execute(
            select(PARAM.c.run_id, PARAM.c.key, PARAM.c.value).where(PARAM.c.run_id.in_(wanted))
        ):
            rows[run_id].params[key] = value
    return [rows[i] for i in wanted if i in rows]
