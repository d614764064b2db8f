"""`runs-tui demo`: a fresh database with example pipelines, then the app."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from runs_tui.core.db import now, open_store
from runs_tui.demo.seed import seed


def start_demo(db: str | None, *, ui: bool = True) -> int:
    """Seed `db` (a temporary file unless given, removed after the app unless `ui` is off)
    and open the app on it."""
    tmp = None if db else Path(tempfile.mkdtemp(prefix="runs-tui-demo-"))
    path = db or str(Path(tmp or ".") / "demo.db")
    try:
        store = open_store(path)
        try:
            names = seed(store, now())
        finally:
            store.dispose()
        if not ui:
            print(path)
            return 0
        from runs_tui.ui.app import run_app

        return run_app(path, pipeline=names[0])
    finally:
        if tmp is not None and ui:
            shutil.rmtree(tmp, ignore_errors=True)
