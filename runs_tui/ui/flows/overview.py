"""`O`: the overview of every pipeline's runs, and back to the pipeline.

The overview is the main table with no pipeline in its query (`core/overview.py` says
what it opens on): sort, filters, marks, actions, details and compare work as in a
pipeline's table. Its view is not saved (its 24 hours count from when it opens); the
pipeline's view is put back as it was left.
"""

from __future__ import annotations

from runs_tui.core.overview import overview_view
from runs_tui.ui.flows.host import Host, shown_pipeline


def toggle(host: Host) -> None:
    """Open the overview, or go back to the pipeline from it. Marks do not follow."""
    if shown_pipeline(host, "Overview") is None:
        return
    host.clear_marks()
    if host.overview:
        host.overview = False
        back, host.pipeline_view = host.pipeline_view, None
        host.apply_view(back or host.view, save=False)
    else:
        host.pipeline_view = host.view
        host.overview = True
        host.apply_view(overview_view(host.context.clock()), save=False)
